"""The "log silence" alarm: a log group that received nothing for N minutes.

It is the alarm that would have caught the incident genba was born from: the log agent
stopped shipping, its buffer filled the disk, and the service went down.

The metric is ``AWS/Logs`` ``IncomingLogEvents`` with the dimension ``LogGroupName``
(aws-cdk-lib's ``metric_incoming_log_events()`` emits ``IncomingLogs``, which CloudWatch
never publishes: aws/aws-cdk#36815). CloudWatch publishes no data point for a minute in
which nothing arrived: the alarm reads ``FILL(m, 0)`` so that such a minute is a real 0, and
missing data (nothing at all in the range) still counts as breaching.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from genba_constructs._checks import check_log_group_name
from genba_constructs._types import checked
from genba_constructs._validation import GenbaPropsError
from genba_constructs.alarms import AlarmFactory, AlarmSpec, Severity, Thresholds

RUNBOOK = "log-silence"


@checked
def incoming_log_events_metric(log_group_name: str, *, period: Duration = Duration.minutes(1)) -> cloudwatch.Metric:
    """Log events a log group received, as CloudWatch Logs publishes it."""
    return cloudwatch.Metric(
        namespace="AWS/Logs",
        metric_name="IncomingLogEvents",
        dimensions_map={"LogGroupName": log_group_name},
        statistic="Sum",
        period=period,
    )


def log_silence_spec(
    *,
    log_group_name: str,
    silent_for: Duration = Duration.minutes(5),
    subject: str | None = None,
    group: str | None = None,
) -> AlarmSpec:
    """The "log silence" alarm as data: critical when ``log_group_name`` receives no event for ``silent_for``.

    :param silent_for: how long silence is tolerated (1 to 1440 whole minutes). Default: 5 minutes.
    :param subject: the slug naming the log group in the alarm name. Default: the subject
        given to ``AlarmFactory.create_all``.
    :param group: id of the child construct the alarm goes under. Default: none.
    """
    seconds = 0 if silent_for.is_unresolved() else int(silent_for.to_seconds())
    minutes = seconds // 60
    if not 1 <= minutes <= 1440 or seconds % 60:
        raise GenbaPropsError(
            f"add_log_silence_alarm: silent_for={silent_for.to_human_string()} must be 1 to 1440 whole minutes"
        )
    return AlarmSpec(
        runbook=RUNBOOK,
        summary=f"Log group {log_group_name} received no log event for {minutes} minutes: "
        "a log shipper or the service itself has stopped.",
        first_check="the CloudWatch agent on the hosts (is it running, is its buffer filling the disk?) "
        "and whether the service is up.",
        # FILL(m, 0): every minute is a real data point (0 when nothing arrived). With missing
        # data alone, CloudWatch keeps evaluating the last real points while they stay in its
        # wider evaluation range, and the alarm fires minutes after the silence is N long.
        metric=cloudwatch.MathExpression(
            expression="FILL(events, 0)",
            using_metrics={"events": incoming_log_events_metric(log_group_name)},
            label="log events received (0 when none)",
            period=Duration.minutes(1),
        ),
        thresholds=Thresholds(critical=1),
        comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        # Still breaching: FILL has nothing to fill when the group received nothing in the range.
        missing_data=cloudwatch.TreatMissingData.BREACHING,
        # One period of a minute per minute of silence, all of them silent (M of N, M = N): any
        # minute with an event clears it.
        evaluation_periods=minutes,
        datapoints_to_alarm=minutes,
        subject=subject,
        group=group,
    )


@checked
def add_log_silence_alarm(
    scope: Construct,
    *,
    log_group_name: str,
    subject: str,
    alarm_factory: AlarmFactory,
    silent_for: Duration = Duration.minutes(5),
) -> cloudwatch.Alarm:
    """A critical alarm when ``log_group_name`` receives no event for ``silent_for`` (whole minutes).

    :param subject: the slug naming the log group in the alarm name (``app-logs``).
    :param silent_for: how long silence is tolerated. Default: 5 minutes.
    """
    check_log_group_name("add_log_silence_alarm", "log_group_name", log_group_name)
    spec = log_silence_spec(log_group_name=log_group_name, silent_for=silent_for)
    return alarm_factory.create_all(scope, subject=subject, specs=[spec]).get(RUNBOOK, Severity.CRITICAL)
