"""Every construct with its documented defaults passes the three packs genba tells users to add.

A team adds ``add_nag_packs(app)`` and gets no finding it must acknowledge itself, except the
owner's documented decisions (LogSearch outside a VPC, a small development domain: one call
each). The same holds with and without cdk.json's feature flags and in an environment-agnostic
stack, so an acknowledgement never depends on how the app is synthesized (CLI or plain Python).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb

from genba_constructs import (
    AlarmTopic,
    ArchiveTrail,
    DynamoDbReplicaTarget,
    HostMonitoring,
    LogArchive,
    LogSearch,
    OperationsDashboard,
    ServiceLogGroup,
    SyncVerification,
    WebTierMonitoring,
    add_nag_packs,
)
from tests.conftest import app_of, new_stack


def every_construct_with_defaults(stack: Stack) -> None:
    AlarmTopic(stack, "Alarms", email_addresses=["team@example.com"])
    archive = LogArchive(stack, "Archive")
    app_logs = ServiceLogGroup(stack, "AppLogs", subject="app-logs")
    archive.archive_log_group(app_logs)
    ArchiveTrail(stack, "Trail", archive=archive)
    search = LogSearch(stack, "Search")
    search.subscribe(app_logs.log_group)
    # The owner's decisions, one documented call each (docs/constructs/log_search.md).
    search.acknowledge_public_endpoint("A domain reached by signed IAM requests only, outside any VPC.")
    search.acknowledge_small_cluster("A development domain: one node, no dedicated masters, on purpose.")
    HostMonitoring(stack, "Hosts", subject="web-hosts", auto_scaling_group_name="my-asg")
    replica = dynamodb.Table.from_table_name(stack, "Replica", "orders-replica")
    sync = SyncVerification(
        stack,
        "Sync",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        target=DynamoDbReplicaTarget(table=replica),
    )
    web = WebTierMonitoring(
        stack,
        "Web",
        load_balancer="app/shop/0123456789abcdef",
        target_groups={"app": "targetgroup/shop-app/fedcba9876543210"},
    )
    OperationsDashboard(
        stack,
        "Dashboard",
        dashboard_name="defaults-operations",
        sections=[("Logs", app_logs), ("Archive", archive), ("Search", search), ("Sync", sync), ("Web", web)],
    )


PACKS = {"AwsSolutions", "Serverless", "NIST.800.53.R5"}


def unacknowledged(outdir: Path) -> list[str]:
    report = outdir / "validation-report.json"
    if not report.exists():
        return []
    findings: list[str] = []
    data: dict[str, Any] = json.loads(report.read_text())
    for plugin in data.get("pluginReports", []):
        if plugin.get("pluginName") not in PACKS:
            continue
        for violation in plugin.get("violations", []):
            findings += [f"{violation['ruleName']} {c['constructPath']}" for c in violation["violatingConstructs"]]
    return findings


@pytest.mark.parametrize(
    ("flags", "env"),
    [(True, True), (False, False)],
    ids=["cdk-json-flags-and-env", "plain-app-environment-agnostic"],
)
def test_every_construct_with_defaults_passes_the_packs(flags: bool, env: bool, tmp_path: Path) -> None:
    stack = new_stack("Defaults", outdir=str(tmp_path), flags=flags, region="eu-west-1" if env else None)
    every_construct_with_defaults(stack)
    app = app_of(stack)
    # cfn-lint has its own tests (test_cfn_lint_gate.py); here: the three cdk-nag packs.
    add_nag_packs(app, cfn_lint=False)
    try:
        app.synth()
    except Exception as error:  # ValidationFailed: the report lists each finding
        pytest.fail(f"{error}\n" + "\n".join(unacknowledged(tmp_path)))
    assert unacknowledged(tmp_path) == []
