"""genba-<env>-sync: the reference user table against its replica, from cdk.json's sync section."""

from __future__ import annotations

from typing import Any


def of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_dev_creates_the_user_table_and_its_replica(stack_template: Any) -> None:
    tables = {t["Properties"]["TableName"]: t for t in of_type(stack_template("dev", "sync"), "AWS::DynamoDB::Table")}
    assert set(tables) == {"genba-dev-users", "genba-dev-users-replica"}
    assert tables["genba-dev-users"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_prod_verifies_the_existing_user_table_stream(stack_template: Any) -> None:
    template = stack_template("prod", "sync")
    assert of_type(template, "AWS::DynamoDB::Table") == []
    (mapping,) = [
        m["Properties"]
        for m in of_type(template, "AWS::Lambda::EventSourceMapping")
        if m["Properties"].get("StartingPosition") == "TRIM_HORIZON"
    ]
    arn = "".join(part if isinstance(part, str) else "" for part in mapping["EventSourceArn"]["Fn::Join"][1])
    assert arn.endswith(":table/genba-prod-users/stream/2026-01-15T00:00:00.000")
    assert mapping["ParallelizationFactor"] == 4


def test_sync_alarms_notify_the_environment_alarm_topic(stack_template: Any) -> None:
    alarms = of_type(stack_template("prod", "sync"), "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 15
    for alarm in alarms:
        assert alarm["Properties"]["AlarmName"].startswith("genba-prod-user-sync-")
        assert alarm["Properties"]["AlarmActions"] and alarm["Properties"]["OKActions"]


def test_verifier_reads_the_configured_replica(stack_template: Any) -> None:
    functions = of_type(stack_template("stg", "sync"), "AWS::Lambda::Function")
    configs = [
        f["Properties"]["Environment"]["Variables"].get("GENBA_SYNC_TARGET_CONFIG")
        for f in functions
        if "GENBA_SYNC_TARGET_CONFIG" in f["Properties"]["Environment"]["Variables"]
    ]
    assert configs == ['{"table_name":"genba-stg-users-replica","version_attribute":"version"}']


def test_alarms_the_demo_reports_exist_in_the_dev_stack(stack_template: Any) -> None:
    from tools.sim.demo_sync import ALARMS, PREFIX

    names = {a["Properties"]["AlarmName"] for a in of_type(stack_template("dev", "sync"), "AWS::CloudWatch::Alarm")}
    assert {f"{PREFIX}-{suffix}" for suffix in ALARMS} <= names
