"""genba-<env>-logging: the reference service's log groups archived, audit findings kept, CloudTrail by config."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_cdk.assertions import Template

from stacks.config import load_environments
from stacks.logging_stack import LoggingStack
from tests.conftest import cdk_json_context, new_app


def of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == type_}


def test_both_log_groups_are_archived_with_one_subscription_filter_each(stack_template: Any) -> None:
    template = stack_template("prod", "logging")
    log_groups = of_type(template, "AWS::Logs::LogGroup")
    filters = of_type(template, "AWS::Logs::SubscriptionFilter").values()
    subscribed = sorted(
        log_groups[f["Properties"]["LogGroupName"]["Ref"]]["Properties"]["LogGroupName"] for f in filters
    )
    assert subscribed == ["/genba/prod/application", "/genba/prod/audit"]


def test_audit_findings_of_both_log_groups_go_to_the_archive_bucket(stack_template: Any) -> None:
    template = stack_template("prod", "logging")
    (archive_id,) = [
        lid for lid, r in of_type(template, "AWS::S3::Bucket").items() if "ObjectLockConfiguration" in r["Properties"]
    ]
    for name in ("/genba/prod/application", "/genba/prod/audit"):
        (group,) = [
            g for g in of_type(template, "AWS::Logs::LogGroup").values() if g["Properties"].get("LogGroupName") == name
        ]
        statements = group["Properties"]["DataProtectionPolicy"]["Statement"]
        (audit,) = [st["Operation"]["Audit"] for st in statements if "Audit" in st["Operation"]]
        assert audit == {"FindingsDestination": {"S3": {"Bucket": {"Ref": archive_id}}}}


def test_dev_archive_has_no_object_lock_so_the_stack_can_be_deleted(stack_template: Any) -> None:
    """dev may destroy its data (allow_destroy): locked object versions would block the bucket's deletion."""
    buckets = of_type(stack_template("dev", "logging"), "AWS::S3::Bucket").values()
    assert not [b for b in buckets if "ObjectLockConfiguration" in b["Properties"]]


def test_archive_is_sized_by_each_environments_config(stack_template: Any) -> None:
    for env, expire, lock_days, mode in (("stg", 731, 30, "GOVERNANCE"), ("prod", 2557, 365, "COMPLIANCE")):
        template = stack_template(env, "logging")
        (bucket,) = [
            b for b in of_type(template, "AWS::S3::Bucket").values() if "ObjectLockConfiguration" in b["Properties"]
        ]
        assert bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
            "Days": lock_days,
            "Mode": mode,
        }
        rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert rules[0]["ExpirationInDays"] == expire


def test_athena_scan_limit_comes_from_config(stack_template: Any) -> None:
    (workgroup,) = of_type(stack_template("prod", "logging"), "AWS::Athena::WorkGroup").values()
    configured = {e.name: e for e in load_environments({"genba": cdk_json_context()["genba"]})}
    limit = workgroup["Properties"]["WorkGroupConfiguration"]["BytesScannedCutoffPerQuery"]
    assert limit == configured["prod"].logging.athena_bytes_scanned_cutoff_gb * 1024**3


def test_every_environment_has_a_trail_by_default(stack_template: Any) -> None:
    for env in ("dev", "stg", "prod"):
        assert len(of_type(stack_template(env, "logging"), "AWS::CloudTrail::Trail")) == 1


def test_cloudtrail_enabled_false_leaves_the_trail_out() -> None:
    (dev,) = load_environments({"genba": cdk_json_context()["genba"], "env": "dev"})
    config = dataclasses.replace(dev, logging=dataclasses.replace(dev.logging, cloudtrail_enabled=False))
    from genba_constructs import AlarmFactory

    stack = LoggingStack(new_app(), "logging", config=config, alarm_factory=AlarmFactory(name_prefix="genba-dev"))
    template = Template.from_stack(stack).to_json()
    assert of_type(template, "AWS::CloudTrail::Trail") == {}
    assert len(of_type(template, "AWS::Glue::Table")) == 2  # the table stays (empty while no trail writes here)
