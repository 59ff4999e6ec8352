"""Security review checks over every synthesized template (the committed snapshots, which
tests/test_snapshots.py keeps equal to a fresh synth): confused-deputy source conditions, the
search master role's trust, the canary's key, the Firehose role's scope, the audit log wiring."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tools.policy_audit import audit, templates

TEMPLATES = dict(templates())


def _resources(name: str, kind: str) -> dict[str, Any]:
    return {k: v for k, v in TEMPLATES[name]["Resources"].items() if v["Type"] == kind}


def test_every_service_principal_in_a_resource_or_key_policy_names_its_source() -> None:
    unsourced = audit()["unsourced_service_principal"]
    assert not unsourced, "service-principal statements without aws:SourceArn/aws:SourceAccount:\n" + "\n".join(
        str(finding) for finding in unsourced
    )


def test_the_audit_walks_every_environments_policies() -> None:
    assert {name.split("/")[0] for name in TEMPLATES} == {"dev", "stg", "prod"}


@pytest.mark.parametrize("env", ["dev", "stg", "prod"])
def test_the_search_master_role_trusts_only_the_ism_function(env: str) -> None:
    roles = _resources(f"{env}/genba-{env}-search", "AWS::IAM::Role")
    master = next(v for k, v in roles.items() if k.startswith("AuditSearchMasterRole"))
    statements = master["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    principals = [s["Principal"] for s in statements]
    assert all(set(p) == {"AWS"} for p in principals)
    rendered = json.dumps(principals)
    assert ":root" not in rendered
    assert "IndexPolicyFunctionRole" in rendered


@pytest.mark.parametrize("env", ["dev", "stg", "prod"])
def test_the_canary_may_update_only_the_canary_item(env: str) -> None:
    policies = _resources(f"{env}/genba-{env}-sync", "AWS::IAM::Policy")
    updates = [
        s
        for policy in policies.values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "dynamodb:UpdateItem"
    ]
    assert updates
    for statement in updates:
        assert statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]


@pytest.mark.parametrize("env", ["dev", "stg", "prod"])
def test_the_search_firehose_role_lists_and_writes_only_its_prefixes(env: str) -> None:
    policies = _resources(f"{env}/genba-{env}-search", "AWS::IAM::Policy")
    policy = next(v for k, v in policies.items() if k.startswith("AuditSearchDeliveryRoleDefaultPolicy"))
    by_sid = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert by_sid["ListOwnPrefixes"]["Condition"]["StringLike"]["s3:prefix"] == [
        "search-failed/audit-logs/*",
        "search-errors/audit-logs/*",
    ]
    assert "search-*" not in json.dumps(by_sid["BackupFailedDocuments"]["Resource"])
    key = by_sid["BackupBucketKeyViaS3"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "s3.ap-northeast-1.amazonaws.com"}}


@pytest.mark.parametrize("env", ["dev", "stg", "prod"])
def test_the_audit_log_group_is_the_domains_audit_logs_destination(env: str) -> None:
    search = f"{env}/genba-{env}-search"
    domain = next(iter(_resources(search, "AWS::OpenSearchService::Domain").values()))
    audit_logs = domain["Properties"]["LogPublishingOptions"]["AUDIT_LOGS"]
    assert audit_logs["Enabled"] is True
    groups = _resources(search, "AWS::Logs::LogGroup")
    target = audit_logs["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0]
    assert groups[target]["Properties"]["LogGroupName"] == f"/aws/opensearch/genba-{env}-audit/audit"
    # ... and the custom resource turns the security plugin's audit logging on.
    custom = next(iter(_resources(search, "Custom::GenbaOpenSearchIndexPolicy").values()))
    assert json.loads(custom["Properties"]["AuditConfig"])["enabled"] is True
