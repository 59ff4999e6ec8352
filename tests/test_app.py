"""The whole app: one Stage per environment, stack names, tags, protection, and the quality gates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genba_constructs.cfn_lint import IGNORED_RULES, CfnLintChecks
from tools.assembly import SynthesizedStack, cfn_lint_findings, nag_counts
from tools.cdk_cli import run_cdk

STATEFUL_TYPES = {
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
    "AWS::Logs::LogGroup",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::OpenSearchService::Domain",
    "AWS::SQS::Queue",
}


def test_every_environment_is_a_stage_with_genba_named_stacks(synthesized_stacks: list[SynthesizedStack]) -> None:
    assert {s.environment for s in synthesized_stacks} == {"dev", "stg", "prod"}
    for stack in synthesized_stacks:
        concern = stack.display_name.split("/", 1)[1]
        assert stack.display_name.startswith(f"{stack.environment}/")
        assert stack.stack_name == f"genba-{stack.environment}-{concern}"


def test_only_prod_stacks_are_termination_protected(synthesized_stacks: list[SynthesizedStack]) -> None:
    for stack in synthesized_stacks:
        assert stack.termination_protection == (stack.environment == "prod"), stack.stack_name


def test_every_taggable_resource_carries_project_environment_and_owner(
    synthesized_stacks: list[SynthesizedStack],
) -> None:
    checked = 0
    for stack in synthesized_stacks:
        for logical_id, resource in stack.template["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if not isinstance(tags, list):
                continue
            keys = {tag["Key"]: tag["Value"] for tag in tags}
            assert keys.get("project") == "genba", logical_id
            assert keys.get("environment") == stack.environment, logical_id
            assert keys.get("owner"), logical_id
            checked += 1
    assert checked > 0


def test_stateful_resources_are_retained_outside_dev(synthesized_stacks: list[SynthesizedStack]) -> None:
    for stack in synthesized_stacks:
        if stack.environment == "dev":
            continue
        for logical_id, resource in stack.template["Resources"].items():
            if resource["Type"] in STATEFUL_TYPES:
                assert resource.get("DeletionPolicy") == "Retain", f"{stack.stack_name}/{logical_id}"


def test_cdk_nag_packs_have_no_unacknowledged_findings(assembly_dir: Path) -> None:
    from tools.assembly import nag_report

    violations, acknowledged = nag_counts(assembly_dir)
    findings = [
        f"{v['ruleName']} {c['constructPath']}"
        for plugin in nag_report(assembly_dir)["pluginReports"]
        for v in plugin.get("violations", [])
        for c in v["violatingConstructs"]
    ]
    assert violations == 0, findings
    assert acknowledged > 0  # the packs ran (an empty report would mean they did not)


def test_every_acknowledgement_gives_a_reason(assembly_dir: Path) -> None:
    from tools.assembly import nag_report

    for plugin in nag_report(assembly_dir)["pluginReports"]:
        for suppressed in plugin.get("suppressedViolations", []):
            assert len(suppressed["reason"]) >= 20, suppressed["ruleName"]


def test_cfn_lint_finds_nothing_in_any_template(assembly_dir: Path, synthesized_stacks: list[SynthesizedStack]) -> None:
    """cfn-lint ran inside the session's synth (a validation plugin) over every template."""
    # The session synth's run (other tests of this process may synthesize small apps too).
    assert any(run["templates"] == len(synthesized_stacks) for run in CfnLintChecks.runs)
    problems = cfn_lint_findings(assembly_dir)
    assert problems == []


def test_every_ignored_cfn_lint_rule_says_why() -> None:
    assert all(len(reason) >= 20 for reason in IGNORED_RULES.values())


def test_cdk_cli_synthesizes_offline_without_credentials(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    result = run_cdk(
        "synth", "--quiet", "--no-notices", "--output", str(tmp_path / "out"), "-c", "env=dev", "dev/*", env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "manifest.json").exists()


@pytest.mark.parametrize("concern", ["notifications", "logging", "hosts", "search", "sync", "web", "dashboard"])
def test_each_environment_has_the_concern_stack(synthesized_stacks: list[SynthesizedStack], concern: str) -> None:
    names = {s.stack_name for s in synthesized_stacks}
    for env in ("dev", "stg", "prod"):
        assert f"genba-{env}-{concern}" in names
