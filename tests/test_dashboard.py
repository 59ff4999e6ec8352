"""The operations dashboard: every signal of the environment and every alarm, from the constructs' metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack

from genba_constructs import GenbaPropsError
from genba_constructs.operations_dashboard import OperationsDashboard
from tools.assembly import SynthesizedStack, as_text

ENVIRONMENTS = ("dev", "stg", "prod")


def reference(value: Any) -> str:
    """A reference in a DashboardBody as REF(...); anything else there is a defect of the body."""
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        return f"REF({value['Fn::GetStackOutput']['OutputName']})"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"REF({'.'.join(value['Fn::GetAtt'])})"
    if isinstance(value, dict) and "Ref" in value:
        return f"REF({value['Ref']})"
    raise AssertionError(f"unexpected value in a dashboard body: {value}")


def dashboard_body(stacks: list[SynthesizedStack], environment: str) -> dict[str, Any]:
    (stack,) = [s for s in stacks if s.stack_name == f"genba-{environment}-dashboard"]
    (dashboard,) = stack.resources_of_type("AWS::CloudWatch::Dashboard").values()
    body: dict[str, Any] = json.loads(as_text(dashboard["Properties"]["DashboardBody"], reference))
    return body


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_alarm_status_lists_every_alarm_of_the_environment(
    synthesized_stacks: list[SynthesizedStack], environment: str
) -> None:
    defined = sum(
        len(s.resources_of_type("AWS::CloudWatch::Alarm")) for s in synthesized_stacks if s.environment == environment
    )
    widgets = dashboard_body(synthesized_stacks, environment)["widgets"]
    listed = [alarm for w in widgets if w["type"] == "alarm" for alarm in w["properties"]["alarms"]]
    assert len(listed) == len(set(listed)) == defined


@pytest.mark.parametrize("subject", ["app-logs", "audit-logs"])
def test_every_log_group_shows_ingestion_levels_duration_and_errors(
    synthesized_stacks: list[SynthesizedStack], subject: str
) -> None:
    titles = {w["properties"].get("title") for w in dashboard_body(synthesized_stacks, "prod")["widgets"]}
    for title in ("log events received", "lines by level", "request duration (ms)", "latest errors"):
        assert f"{subject}: {title}" in titles


def test_dashboard_metrics_are_ones_cloudwatch_publishes(synthesized_stacks: list[SynthesizedStack]) -> None:
    body = json.dumps(dashboard_body(synthesized_stacks, "prod"))
    assert '"IncomingLogs"' not in body  # aws/aws-cdk#36815: the real name is IncomingLogEvents


def test_fails_bad_dashboard_name(fresh_stack: Stack) -> None:
    with pytest.raises(GenbaPropsError, match="dashboard_name='ops dashboard'"):
        OperationsDashboard(fresh_stack, "Dashboard", dashboard_name="ops dashboard")


def test_fails_section_without_widgets(fresh_stack: Stack) -> None:
    with pytest.raises(
        GenbaPropsError,
        match=r"^OperationsDashboard: sections=\[\('Queues', 'not a construct'\)\] must be a sequence of a tuple",
    ):
        OperationsDashboard(fresh_stack, "Dashboard", dashboard_name="ops", sections=[("Queues", "not a construct")])  # type: ignore[list-item]
