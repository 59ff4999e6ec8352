"""genba-<env>-search: the audit log group is searchable, sized per environment from cdk.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from stacks.config import load_environments
from tests.conftest import cdk_json_context

Templates = Callable[[str, str], dict[str, Any]]


def of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_only_the_audit_log_group_is_subscribed(stack_template: Templates) -> None:
    for env in ("dev", "stg", "prod"):
        (subscription,) = of_type(stack_template(env, "search"), "AWS::Logs::SubscriptionFilter")
        # The log group's name is read from an output of the logging stack: follow it to the group.
        output = subscription["Properties"]["LogGroupName"]["Fn::GetStackOutput"]
        assert output["StackName"] == f"genba-{env}-logging"
        logging = stack_template(env, "logging")
        group = logging["Resources"][logging["Outputs"][output["OutputName"]]["Value"]["Ref"]]
        assert (group["Type"], group["Properties"]["LogGroupName"]) == ("AWS::Logs::LogGroup", f"/genba/{env}/audit")


@pytest.mark.parametrize("env", ["dev", "stg", "prod"])
def test_domain_is_sized_from_the_environments_config(stack_template: Templates, env: str) -> None:
    config = next(c for c in load_environments({"genba": cdk_json_context()["genba"]}) if c.name == env).search
    (domain,) = of_type(stack_template(env, "search"), "AWS::OpenSearchService::Domain")
    cluster = domain["Properties"]["ClusterConfig"]
    assert cluster["InstanceType"] == config.instance_type
    assert cluster["InstanceCount"] == config.data_nodes
    assert cluster["ZoneAwarenessEnabled"] is (config.availability_zones > 1)
    assert cluster["MultiAZWithStandbyEnabled"] is config.multi_az_with_standby
    assert cluster.get("DedicatedMasterCount", 0) == config.master_nodes
    assert domain["Properties"]["EBSOptions"]["VolumeSize"] == config.volume_gib
    assert domain["Properties"]["DomainName"] == f"genba-{env}-audit"


def test_prod_free_storage_alarm_is_a_quarter_of_200_gib_in_mib(stack_template: Templates) -> None:
    (alarm,) = [
        a
        for a in of_type(stack_template("prod", "search"), "AWS::CloudWatch::Alarm")
        if a["Properties"].get("MetricName") == "FreeStorageSpace"
    ]
    assert alarm["Properties"]["Threshold"] == 200 * 1024 * 25 / 100


def test_prod_has_every_recommended_alarm_and_dev_has_no_master_alarms(stack_template: Templates) -> None:
    def metrics(env: str) -> set[str]:
        found = of_type(stack_template(env, "search"), "AWS::CloudWatch::Alarm")
        return {a["Properties"]["MetricName"] for a in found if "MetricName" in a["Properties"]}

    recommended = {
        "ClusterStatus.red",
        "ClusterStatus.yellow",
        "FreeStorageSpace",
        "ClusterIndexWritesBlocked",
        "Nodes",
        "AutomatedSnapshotFailure",
        "CPUUtilization",
        "JVMMemoryPressure",
        "MasterCPUUtilization",
        "MasterJVMMemoryPressure",
        "KMSKeyError",
        "KMSKeyInaccessible",
        "DeliveryToAmazonOpenSearchService.Success",
        "DeliveryToAmazonOpenSearchService.DataFreshness",
    }
    assert recommended <= metrics("prod")
    assert not {"MasterCPUUtilization", "MasterJVMMemoryPressure"} & metrics("dev")


def test_alarms_notify_the_environments_alarm_topic(stack_template: Templates) -> None:
    for alarm in of_type(stack_template("prod", "search"), "AWS::CloudWatch::Alarm"):
        assert alarm["Properties"]["AlarmName"].startswith("genba-prod-")
        assert alarm["Properties"]["AlarmActions"] and alarm["Properties"]["OKActions"]


def test_index_retention_comes_from_config(stack_template: Templates) -> None:
    (resource,) = of_type(stack_template("prod", "search"), "Custom::GenbaOpenSearchIndexPolicy")
    policy = json.loads(resource["Properties"]["Policy"])
    assert policy["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"] == "90d"
