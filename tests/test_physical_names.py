"""Physical names genba makes are claimed once per app: a second one stops synth with one line (issue 13, item 2).

Each test builds two constructs that would give two resources one physical name in one
account and region - within a stack or across two stacks of the app - and expects one
line naming both construct paths. Different regions, or a name given apart, are fine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb

from genba_constructs import (
    AlarmFactory,
    ArchiveTrail,
    DynamoDbReplicaTarget,
    GenbaPropsError,
    HostMonitoring,
    LogArchive,
    LogSearch,
    ServiceLogGroup,
    SyncVerification,
)
from genba_constructs.operations_dashboard import OperationsDashboard
from tests.conftest import TEST_REGION, new_app, new_stack

OSAKA = "ap-northeast-3"
ASG = "awseb-e-abc123-stack-AWSEBAutoScalingGroup-XYZ"
PK = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


def _two(
    build: Callable[[Stack, str], Any],
    *,
    across_stacks: bool = False,
    regions: tuple[str | None, str | None] = (TEST_REGION, TEST_REGION),
) -> None:
    app = new_app()
    first = new_stack("One", app=app, region=regions[0], stack_name="shop")
    second = new_stack("Two", app=app, region=regions[1], stack_name="shop") if across_stacks else first
    build(first, "A")
    build(second, "B")


def _fails_naming_both(build: Callable[[Stack, str], Any], kind: str, **kwargs: Any) -> str:
    with pytest.raises(GenbaPropsError) as raised:
        _two(build, **kwargs)
    message = str(raised.value)
    assert "\n" not in message and kind in message and "already used by" in message
    first, second = ("One/A", "Two/B") if kwargs.get("across_stacks") else ("One/A", "One/B")
    assert first in message and second in message, message
    return message


def test_fails_two_log_archives_in_one_stack_share_glue_database() -> None:
    message = _fails_naming_both(lambda s, i: LogArchive(s, i), "Glue database")
    assert message.startswith("LogArchive: Glue database 'shop_logs'")


def test_fails_two_log_archives_in_two_stacks_share_an_athena_workgroup() -> None:
    # Two stacks deployed under one name (stack_name) in one region: the workgroup is shop-logs in both.
    _fails_naming_both(
        lambda s, i: LogArchive(s, i, database_name=f"{i.lower()}_logs"), "Athena workgroup", across_stacks=True
    )


def test_two_log_archives_in_two_regions_are_fine() -> None:
    _two(lambda s, i: LogArchive(s, i), across_stacks=True, regions=(TEST_REGION, OSAKA))


def test_fails_two_log_searches_with_one_domain_name_across_stacks() -> None:
    _fails_naming_both(
        lambda s, i: LogSearch(s, i, domain_name="shop-logs", subject=f"search-{i.lower()}"),
        "OpenSearch domain name",
        across_stacks=True,
    )


def test_fails_two_log_searches_with_the_default_subject() -> None:
    # Their domains get names of their own; their alarms (log-search-...) do not.
    _fails_naming_both(lambda s, i: LogSearch(s, i), "alarm name")


def test_fails_two_host_monitorings_of_one_subject() -> None:
    def build(stack: Stack, id: str) -> None:
        HostMonitoring(
            stack,
            id,
            subject="web-hosts",
            auto_scaling_group_name=ASG,
            alarm_factory=AlarmFactory(name_prefix=f"shop-{id.lower()}"),
        )

    _fails_naming_both(build, "SSM parameter")


def test_fails_two_sync_verifications_with_the_default_subject() -> None:
    def build(stack: Stack, id: str) -> None:
        table = dynamodb.Table.from_table_name(stack, f"{id}Replica", "users-replica")
        SyncVerification(stack, id, partition_key=PK, target=DynamoDbReplicaTarget(table=table))

    _fails_naming_both(build, "alarm name")


def test_fails_two_sync_verifications_creating_one_source_table_across_stacks() -> None:
    def build(stack: Stack, id: str) -> None:
        table = dynamodb.Table.from_table_name(stack, f"{id}Replica", "users-replica")
        SyncVerification(
            stack,
            id,
            partition_key=PK,
            target=DynamoDbReplicaTarget(table=table),
            source_table_name="users",
            subject=f"sync-{id.lower()}",
        )

    _fails_naming_both(build, "DynamoDB table name", across_stacks=True)


def test_fails_one_alarm_factory_across_two_stacks() -> None:
    factory = AlarmFactory(name_prefix="shop")
    _fails_naming_both(
        lambda s, i: ServiceLogGroup(s, i, subject="app-logs", log_group_name=f"/svc/{i}", alarm_factory=factory),
        "alarm name",
        across_stacks=True,
    )


def test_fails_two_service_log_groups_with_one_name() -> None:
    _fails_naming_both(
        lambda s, i: ServiceLogGroup(
            s, i, subject=f"logs-{i.lower()}", log_group_name="/svc/app", alarm_factory=AlarmFactory(name_prefix=i)
        ),
        "log group name",
        across_stacks=True,
    )


def test_fails_two_archive_trails_with_one_name() -> None:
    def build(stack: Stack, id: str) -> None:
        archive = LogArchive(stack, f"{id}Archive", database_name=f"{id.lower()}_logs") if id == "A" else None
        ArchiveTrail(stack, id, archive=archive or stack.node.find_child("AArchive"), trail_name="shop-trail")  # type: ignore[arg-type]

    _fails_naming_both(build, "trail name")


def test_fails_two_dashboards_with_one_name_across_stacks() -> None:
    _fails_naming_both(
        lambda s, i: OperationsDashboard(s, i, dashboard_name="shop-ops"), "dashboard name", across_stacks=True
    )


def test_fails_environment_agnostic_stacks_share_one_place() -> None:
    # Their account and region are tokens both stacks share: they may well be deployed side by side.
    _fails_naming_both(
        lambda s, i: OperationsDashboard(s, i, dashboard_name="shop-ops"),
        "dashboard name",
        across_stacks=True,
        regions=(None, None),
    )
