"""The alarm helper: names, descriptions, actions, missing data and severities."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Match, Template

from genba_constructs import AlarmFactory, AlarmSpec, GenbaPropsError, Severity, Thresholds
from tests.conftest import app_of, new_app, new_stack, notifying_alarm_factory

METRIC = cloudwatch.Metric(namespace="AWS/SQS", metric_name="NumberOfMessagesSent", period=Duration.minutes(5))
# One alarm's props, shared by create() and AlarmSpec (the two must agree).
PROPS: dict[str, Any] = {
    "runbook": "queue-backlog",
    "summary": "Orders wait longer than the SLO.",
    "first_check": "the consumer's errors.",
    "metric": METRIC,
    "thresholds": Thresholds(warning=10, critical=100),
    "comparison": cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    "missing_data": cloudwatch.TreatMissingData.NOT_BREACHING,
}


def make(stack: Stack, **overrides: Any) -> dict[Severity, cloudwatch.Alarm]:
    factory = notifying_alarm_factory(stack, "genba-prod")
    return factory.create(stack, **{"subject": "orders", **PROPS, **overrides})


def test_one_alarm_per_named_threshold(fresh_stack: Stack) -> None:
    alarms = make(fresh_stack)
    assert set(alarms) == {Severity.WARNING, Severity.CRITICAL}
    Template.from_stack(fresh_stack).resource_count_is("AWS::CloudWatch::Alarm", 2)


def test_alarm_is_named_described_and_notifies_on_alarm_and_ok(fresh_stack: Stack) -> None:
    make(fresh_stack)
    Template.from_stack(fresh_stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "genba-prod-orders-queue-backlog-critical",
            "AlarmDescription": Match.string_like_regexp(
                r"^\[CRITICAL\] Orders wait longer than the SLO\. First check: the consumer's errors\. "
                r"Runbook: https://.*/docs/runbooks\.md#queue-backlog$"
            ),
            "Threshold": 100,
            "TreatMissingData": "notBreaching",
            "ActionsEnabled": True,
            "AlarmActions": [{"Ref": Match.string_like_regexp("Topic")}],
            "OKActions": [{"Ref": Match.string_like_regexp("Topic")}],
        },
    )


def test_construct_ids_are_stable(fresh_stack: Stack) -> None:
    alarms = make(fresh_stack)
    assert alarms[Severity.WARNING].node.id == "QueueBacklogWarningAlarm"


def test_factory_records_every_alarm_for_the_dashboard(fresh_stack: Stack) -> None:
    factory = AlarmFactory(name_prefix="p")
    factory.create(
        fresh_stack,
        subject="s",
        runbook="r",
        summary="x.",
        first_check="y.",
        metric=METRIC,
        thresholds=Thresholds(critical=1),
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        missing_data=cloudwatch.TreatMissingData.BREACHING,
    )
    assert len(factory.alarms) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"thresholds": Thresholds()}, "neither warning nor critical"),
        ({"subject": "Orders Queue"}, "subject='Orders Queue'"),
        ({"runbook": "queue_backlog"}, "runbook='queue_backlog'"),
        ({"evaluation_periods": 0}, "evaluation_periods=0"),
        ({"evaluation_periods": 3, "datapoints_to_alarm": 4}, "datapoints_to_alarm=4"),
        ({"summary": "x" * 1100}, "CloudWatch allows 1024"),
    ],
)
def test_fails_bad_alarm_props(fresh_stack: Stack, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(GenbaPropsError, match=message.replace("[", r"\[")):
        make(fresh_stack, **overrides)


@pytest.mark.parametrize(("prop", "value"), [("name_prefix", ""), ("runbook_url", "http://insecure")])
def test_fails_bad_factory_props(prop: str, value: str) -> None:
    kwargs = {"name_prefix": "genba-prod", prop: value}
    with pytest.raises(GenbaPropsError, match=prop):
        AlarmFactory(**kwargs)


def _spec(**overrides: Any) -> AlarmSpec:
    return AlarmSpec(**{**PROPS, **overrides})


def test_create_all_makes_the_same_alarms_as_create_and_looks_them_up(fresh_stack: Stack) -> None:
    factory = AlarmFactory(name_prefix="genba-prod")
    alarms = factory.create_all(
        fresh_stack,
        subject="orders",
        specs=[_spec(), _spec(runbook="dlq-not-empty", subject="orders-dlq", thresholds=Thresholds(critical=0))],
    )
    assert len(alarms) == 3
    assert alarms.runbooks == ["queue-backlog", "dlq-not-empty"]
    assert alarms.get("queue-backlog", Severity.CRITICAL).node.id == "QueueBacklogCriticalAlarm"
    assert alarms.get("queue-backlog") is alarms[0]  # the first made: warning
    assert set(alarms.by_runbook("dlq-not-empty", subject="orders-dlq")) == {Severity.CRITICAL}
    assert [r.alarm_name for r in factory.records] == [
        "genba-prod-orders-queue-backlog-warning",
        "genba-prod-orders-queue-backlog-critical",
        "genba-prod-orders-dlq-dlq-not-empty-critical",
    ]


def test_create_all_groups_alarms_under_a_child_construct(fresh_stack: Stack) -> None:
    alarms = AlarmFactory(name_prefix="genba-prod").create_all(
        fresh_stack, subject="orders", specs=[_spec(group="OldestChangeAlarms")]
    )
    assert alarms[0].node.path.endswith("/OldestChangeAlarms/QueueBacklogWarningAlarm")


def test_fails_lookup_of_a_missing_alarm_naming_what_was_asked(fresh_stack: Stack) -> None:
    alarms = AlarmFactory(name_prefix="genba-prod").create_all(fresh_stack, subject="orders", specs=[_spec()])
    with pytest.raises(KeyError, match="log-silence/critical"):
        alarms.get("log-silence", Severity.CRITICAL)


def test_fails_create_all_with_something_that_is_not_a_spec(fresh_stack: Stack) -> None:
    with pytest.raises(
        GenbaPropsError,
        match=r"^AlarmFactory.create_all: specs=.* must be a sequence of genba_constructs.alarms.AlarmSpec$",
    ):
        AlarmFactory(name_prefix="genba-prod").create_all(fresh_stack, subject="orders", specs=[{"runbook": "x"}])  # type: ignore[list-item]


def test_fails_a_second_alarm_with_the_same_name_in_another_stack_of_the_app_naming_both() -> None:
    """Alarm names are unique per account and region (PutMetricAlarm overwrites, CloudFormation fails)."""
    one = new_stack("One", region="eu-west-1")
    factory = AlarmFactory(name_prefix="genba-prod")
    factory.create_all(one, subject="orders", specs=[_spec()])
    with pytest.raises(GenbaPropsError) as raised:
        factory.create_all(new_stack("Two", app=app_of(one), region="eu-west-1"), subject="orders", specs=[_spec()])
    assert str(raised.value) == (
        "AlarmFactory.create_all: alarm name 'genba-prod-orders-queue-backlog-warning' of "
        "Two/QueueBacklogWarningAlarm is already used by One/QueueBacklogWarningAlarm; "
        "give one of them another subject or name"
    )


def test_the_same_alarm_name_in_another_region_or_app_is_no_collision() -> None:
    app = new_app()
    factory = AlarmFactory(name_prefix="genba-prod")
    for region in ("eu-west-1", "us-east-1"):
        factory.create_all(new_stack(region, app=app, region=region), subject="orders", specs=[_spec()])
    factory.create_all(new_stack("Other", region=None), subject="orders", specs=[_spec()])
