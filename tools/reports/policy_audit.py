"""Count the policy statements a security review asks about, over every synthesized template.

    python -m tools.reports.policy_audit              # the committed snapshots (every environment)
    python -m tools.reports.policy_audit --list       # and name each statement counted

Two figures:

- IAM statements with a wildcard resource: an ``Allow`` in an identity policy (``AWS::IAM::Policy``,
  ``AWS::IAM::ManagedPolicy``, a role's inline ``Policies``) whose ``Resource`` is ``*`` or
  contains a ``*`` (a prefix or a path pattern). ``Resource: "*"`` alone is counted apart.
- Service-principal statements without a source condition: an ``Allow`` to a service principal
  in a resource or key policy (bucket, key, queue, topic, log resource policy, domain access
  policy, Lambda permission) with neither ``aws:SourceArn`` nor ``aws:SourceAccount`` (nor the
  ``aws:SourceOrgID`` family) in its conditions: the confused-deputy check. For CloudWatch Logs
  the service's documented binding is the encryption context: a key statement for
  ``logs.<region>.amazonaws.com`` conditioned on ``kms:EncryptionContext:aws:logs:arn`` (an ARN
  in this account) names its source and is not counted. ``kms:ViaService`` alone is counted.

``--list`` gives each wildcard statement its justification, or ``UNJUSTIFIED``: on ``*`` only
actions the Service Authorization Reference lists with no resource type (:data:`NO_RESOURCE_TYPE`,
each with its page); a prefix only where the service names what it writes or calls under it
(:data:`PREFIX_PATTERNS`). tests/test_policy_audit.py requires every one to be justified.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import ROOT
from tools.assembly import as_text

SNAPSHOTS = ROOT / "snapshots"

IDENTITY_POLICY_TYPES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}
RESOURCE_POLICY_PROPERTIES = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::Logs::ResourcePolicy": "PolicyDocument",
    "AWS::OpenSearchService::Domain": "AccessPolicies",
    "AWS::Events::EventBusPolicy": "Statement",
}
SOURCE_KEYS = ("aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths")
# The calling resource's ARN in the encryption context (the service's documented binding).
CONTEXT_SOURCE_KEYS = ("kms:encryptioncontext:aws:logs:arn",)

_SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
#: Actions with no resource type in the Service Authorization Reference: only ``*`` grants them.
NO_RESOURCE_TYPE = {
    "xray:PutTraceSegments": _SAR + "list_awsx-ray.html",
    "xray:PutTelemetryRecords": _SAR + "list_awsx-ray.html",
    "dynamodb:ListStreams": _SAR + "list_amazondynamodb.html",
    "cloudwatch:PutMetricData": _SAR + "list_amazoncloudwatch.html",
    "ec2:DescribeTags": _SAR + "list_amazonec2.html",
}
#: Wildcards that stay inside one resource: (resource pattern, the only actions it may carry, why).
PREFIX_PATTERNS = (
    (
        re.compile(r"^<ref>/[a-z0-9-]+(/[a-z0-9-]+)*/\*$"),
        ("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"),
        "S3 objects under one prefix of one bucket: Firehose names each object itself (date and a random suffix)",
    ),
    (
        re.compile(r"^arn:aws:es:[a-z0-9-]+:<ref>:domain/[a-z0-9-]+/\*$"),
        ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpPatch", "es:ESHttpDelete"),
        "the REST paths of one OpenSearch domain: IAM only admits the request, fine-grained access control decides",
    ),
)


@dataclass(frozen=True)
class Finding:
    template: str
    logical_id: str
    sid: str
    detail: str
    why: str = ""

    def __str__(self) -> str:
        shown = f"{self.template} {self.logical_id} [{self.sid or '-'}] {self.detail}"
        return f"{shown}\n      why: {self.why}" if self.why else shown


def justification(actions: list[str], wild: list[str]) -> str:
    """Why a statement's wildcard resources are needed, or ``UNJUSTIFIED: ...``."""
    reasons = []
    for resource in wild:
        if resource == "*":
            unlisted = [a for a in actions if a not in NO_RESOURCE_TYPE]
            if unlisted:
                return f"UNJUSTIFIED: {unlisted} on '*' have a resource type"
            pages = sorted({NO_RESOURCE_TYPE[a] for a in actions})
            reasons.append(
                "no resource type for any action (Service Authorization Reference: " + ", ".join(pages) + ")"
            )
            continue
        why = next(
            (
                why
                for pattern, allowed, why in PREFIX_PATTERNS
                if pattern.match(resource) and set(actions) <= set(allowed)
            ),
            None,
        )
        if why is None:
            return f"UNJUSTIFIED: {actions} on {resource!r} match no per-resource pattern"
        reasons.append(why)
    return "; ".join(dict.fromkeys(reasons))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, dict):
        return []
    if "Statement" not in document and "Effect" in document:
        return [document]
    return [s for s in _as_list(document.get("Statement", [])) if isinstance(s, dict)]


def _service_principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if not isinstance(principal, dict):
        return []
    return [as_text(p) for p in _as_list(principal.get("Service", []))]


def _has_source_condition(statement: dict[str, Any]) -> bool:
    conditions = statement.get("Condition", {})
    for block in conditions.values():
        for key, value in block.items():
            if key.lower() in SOURCE_KEYS:
                return True
            if key.lower() in CONTEXT_SOURCE_KEYS and "AWS::AccountId" in json.dumps(value):
                return True
    return False


def templates(folder: Path = SNAPSHOTS) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every snapshot template (``<env>/<stack>``) with its parsed body."""
    for path in sorted(folder.glob("*/*.json")):
        yield f"{path.parent.name}/{path.stem}", json.loads(path.read_text())


def wildcard_resource_statements(name: str, template: dict[str, Any]) -> list[Finding]:
    """The identity-policy ``Allow`` statements of ``template`` with a wildcard in a resource."""
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        documents = []
        if resource.get("Type") in IDENTITY_POLICY_TYPES:
            documents.append(properties.get("PolicyDocument"))
        if resource.get("Type") == "AWS::IAM::Role":
            documents.extend(policy.get("PolicyDocument") for policy in properties.get("Policies", []))
        for document in documents:
            for statement in _statements(document):
                if statement.get("Effect") != "Allow":
                    continue
                resources = [as_text(r) for r in _as_list(statement.get("Resource", []))]
                wild = [r for r in resources if "*" in r]
                if wild:
                    actions = [str(a) for a in _as_list(statement.get("Action"))]
                    detail = f"{actions} on {wild}"
                    why = justification(actions, wild)
                    found.append(Finding(name, logical_id, str(statement.get("Sid", "")), detail, why))
    return found


def unsourced_service_statements(name: str, template: dict[str, Any]) -> list[Finding]:
    """Resource and key policy statements that allow a service principal with no source condition."""
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        properties = resource.get("Properties", {})
        if kind == "AWS::Lambda::Permission":
            principal = as_text(properties.get("Principal", ""))
            if principal.endswith(".amazonaws.com") and not (
                properties.get("SourceArn") or properties.get("SourceAccount")
            ):
                found.append(Finding(name, logical_id, "", f"lambda:InvokeFunction for {principal}"))
            continue
        if kind not in RESOURCE_POLICY_PROPERTIES:
            continue
        for statement in _statements(properties.get(RESOURCE_POLICY_PROPERTIES[kind])):
            services = _service_principals(statement)
            if statement.get("Effect") == "Allow" and services and not _has_source_condition(statement):
                detail = f"{services} {_as_list(statement.get('Action'))}"
                found.append(Finding(name, logical_id, str(statement.get("Sid", "")), detail))
    return found


def audit(folder: Path = SNAPSHOTS) -> dict[str, list[Finding]]:
    """Both lists over every template in ``folder``; plus the ``Resource: "*"`` subset."""
    wildcard: list[Finding] = []
    unsourced: list[Finding] = []
    for name, template in templates(folder):
        wildcard += wildcard_resource_statements(name, template)
        unsourced += unsourced_service_statements(name, template)
    star = [f for f in wildcard if "on ['*']" in f.detail]
    return {"wildcard_resource": wildcard, "resource_star": star, "unsourced_service_principal": unsourced}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--folder", type=Path, default=SNAPSHOTS)
    parser.add_argument("--list", action="store_true", help="name every statement counted")
    args = parser.parse_args(argv)
    result = audit(args.folder)
    for key, findings in result.items():
        print(f"{key}: {len(findings)}")
        if args.list:
            for finding in findings:
                print(f"  {finding}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
