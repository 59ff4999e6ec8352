"""cdk-nag acknowledgements say what is true of the resource they are on (the session's full synth).

cdk-nag's ``AwsSolutions-IAM5`` flags a wildcard in an IAM statement's actions or resources
(cdk-nag RULES.md: "The IAM entity contains wildcard permissions and does not have a cdk-nag
rule suppression with evidence for those permission"); the evidence genba gives for
``Resource::*`` is that the actions on ``*`` have no resource type in the Service Authorization
Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
So each such reason must name exactly the actions the policy has on ``*``: naming one it does
not have (the verifier was once said to need ``ListStreams``) or leaving one out is untrue.
``NIST.800.53.R5-S3BucketReplicationEnabled`` on the archive names what protects it in that
environment: object lock, or none where the stack may be destroyed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tools.assembly import SynthesizedStack, nag_report
from tools.reports.policy_audit import NO_RESOURCE_TYPE


def _suppressed(assembly_dir: Path) -> list[tuple[str, str, str]]:
    """(rule name, construct path, reason) of every acknowledged finding."""
    return [
        (s["ruleName"], c["constructPath"], s["reason"])
        for plugin in nag_report(assembly_dir)["pluginReports"]
        for s in plugin.get("suppressedViolations", [])
        for c in s["violatingConstructs"]
    ]


def _resource_at(stacks: list[SynthesizedStack], path: str) -> dict[str, Any]:
    """The template resource of a construct path (``prod/sync/A/B/Resource``): logical id = path + hash."""
    env, concern, *rest = path.split("/")
    stack = next(s for s in stacks if s.display_name == f"{env}/{concern}")
    # CDK leaves "Resource" and "Default" components out of the readable part of a logical id.
    stem = re.sub(r"[^A-Za-z0-9]", "", "".join(part for part in rest if part not in ("Resource", "Default")))
    resources: dict[str, dict[str, Any]] = stack.template["Resources"]
    matches = [v for k, v in resources.items() if re.fullmatch(stem + "[0-9A-F]{8}", k)]
    assert len(matches) == 1, (path, stem)
    return matches[0]


def _actions_on_star(policy: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        if statement["Effect"] == "Allow" and statement["Resource"] == "*":
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_every_resource_star_reason_names_exactly_the_actions_on_star(
    assembly_dir: Path, synthesized_stacks: list[SynthesizedStack]
) -> None:
    checked = 0
    for rule, path, reason in _suppressed(assembly_dir):
        if rule != "AwsSolutions-IAM5[Resource::*]":
            continue
        policy = _resource_at(synthesized_stacks, path)
        on_star = _actions_on_star(policy)
        assert on_star, path
        for action in on_star:
            assert action.split(":")[1] in reason, f"{path}: the reason leaves out {action}"
            assert action in NO_RESOURCE_TYPE, f"{path}: {action} has a resource type, yet is on '*'"
        for action in NO_RESOURCE_TYPE:
            if action.split(":")[1] in reason:
                assert action in on_star, f"{path}: the reason names {action}, which the policy does not grant"
        checked += 1
    assert checked == 3 * 5  # hosts agent, ISM function, forwarder, replay, verifier in each environment


def test_the_archive_replication_reason_names_its_object_lock(
    assembly_dir: Path, synthesized_stacks: list[SynthesizedStack]
) -> None:
    seen = set()
    for rule, path, reason in _suppressed(assembly_dir):
        archive = path.endswith("/logging/Archive/Resource/Resource")
        if rule != "NIST.800.53.R5-S3BucketReplicationEnabled" or not archive:
            continue
        bucket = _resource_at(synthesized_stacks, path)
        locked = bucket["Properties"].get("ObjectLockEnabled") is True
        assert ("no object lock" in reason) is not locked, (path, reason)
        if locked:
            mode = bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"].lower()
            assert f"object lock ({mode}," in reason
        seen.add(path.split("/")[0])
    assert seen == {"dev", "stg", "prod"}


def test_no_rule_is_acknowledged_for_lacking_a_dead_letter_queue(assembly_dir: Path) -> None:
    """The tampering rules have a target with a DLQ (tests/test_security_tampering.py): nothing to acknowledge."""
    assert not [path for rule, path, _ in _suppressed(assembly_dir) if rule == "Serverless-EventBusDLQ"]
