"""The host alarms, as data: one spec per kind, all on the group's ``AutoScalingGroupName`` rollup.

The agent rolls every metric up to that one dimension set, so instances that come and go
need no redeploy: Maximum is the fullest filesystem (or busiest instance) of the group.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs import cloudwatch_agent_config as agent_config
from genba_constructs.alarms import AlarmSpec, Thresholds
from genba_constructs.host_monitoring.thresholds import HostThresholds
from genba_constructs.log_silence import log_silence_spec

# Periods and data points of each alarm (detection time = period x data points to alarm).
DISK_USED_PERIOD = Duration.minutes(5)
DISK_USED_DATAPOINTS = 1
FORECAST_PERIOD = Duration.minutes(10)
FORECAST_DATAPOINTS = 3
INODES_PERIOD = Duration.minutes(5)
INODES_DATAPOINTS = 1
MEMORY_PERIOD = Duration.minutes(1)
MEMORY_DATAPOINTS = 5
AGENT_SILENT_PERIOD = Duration.minutes(1)
AGENT_SILENT_DATAPOINTS = 5

_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
# The agent-silent alarm covers missing data; the others stay quiet without data.
_QUIET = cloudwatch.TreatMissingData.NOT_BREACHING


def group_metric(group: str, metric_name: str, *, statistic: str, period: Duration) -> cloudwatch.Metric:
    """An agent metric of the whole group (the ``AutoScalingGroupName`` rollup)."""
    return cloudwatch.Metric(
        namespace=agent_config.NAMESPACE,
        metric_name=metric_name,
        dimensions_map={agent_config.GROUP_DIMENSION: group},
        statistic=statistic,
        period=period,
    )


def disk_full_forecast(group: str, hours: int) -> cloudwatch.MathExpression:
    """Where the fullest filesystem will be in ``hours``, at its growth rate of the last period (%)."""
    return cloudwatch.MathExpression(
        expression=f"used + RATE(used) * 3600 * {hours}",
        using_metrics={"used": group_metric(group, "disk_used_percent", statistic="Maximum", period=FORECAST_PERIOD)},
        period=FORECAST_PERIOD,
        label=f"fullest filesystem in {hours} hours (%)",
    )


def host_alarm_specs(group: str, thresholds: HostThresholds) -> list[AlarmSpec]:
    """The five alarms on the group, in the order they are made (the dashboard lists them so)."""
    hours = thresholds.disk_full_within_hours
    return [
        AlarmSpec(
            runbook="disk-used",
            summary=f"A filesystem of an instance of {group} is fuller than the threshold.",
            first_check="the disk_used_percent metric by InstanceId and path; a log agent buffer "
            "(.tmp files) or old logs not rotated.",
            metric=group_metric(group, "disk_used_percent", statistic="Maximum", period=DISK_USED_PERIOD),
            thresholds=thresholds.disk_used_percent,
            comparison=_ABOVE,
            missing_data=_QUIET,
            evaluation_periods=DISK_USED_DATAPOINTS,
        ),
        AlarmSpec(
            runbook="disk-full-soon",
            summary=f"At its current growth rate a filesystem of {group} will be full within {hours} hours.",
            first_check="which directory grows (du -x on the path): a stuck log shipper's buffer, core dumps, caches.",
            metric=disk_full_forecast(group, hours),
            thresholds=Thresholds(critical=100),
            comparison=_ABOVE,
            missing_data=_QUIET,
            evaluation_periods=FORECAST_DATAPOINTS,
        ),
        AlarmSpec(
            runbook="inodes-low",
            summary=f"A filesystem of an instance of {group} is running out of inodes (free space does not help).",
            first_check="directories with many small files (session files, mail queues, caches).",
            metric=group_metric(group, "disk_inodes_free", statistic="Minimum", period=INODES_PERIOD),
            thresholds=thresholds.inodes_free,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            missing_data=_QUIET,
            evaluation_periods=INODES_DATAPOINTS,
        ),
        AlarmSpec(
            runbook="memory-used",
            summary=f"An instance of {group} has used more memory than the threshold for 5 minutes.",
            first_check="mem_used_percent by InstanceId and the biggest processes; swap use.",
            metric=group_metric(group, "mem_used_percent", statistic="Maximum", period=MEMORY_PERIOD),
            thresholds=thresholds.memory_used_percent,
            comparison=_ABOVE,
            missing_data=_QUIET,
            evaluation_periods=MEMORY_DATAPOINTS,
        ),
        AlarmSpec(
            runbook="agent-silent",
            summary=f"No CloudWatch agent of {group} has sent a metric for 5 minutes: disk and log alarms are blind.",
            first_check="the State Manager associations of the hosts (compliance) and "
            "amazon-cloudwatch-agent-ctl -a status on an instance.",
            metric=group_metric(group, "mem_used_percent", statistic="SampleCount", period=AGENT_SILENT_PERIOD),
            thresholds=Thresholds(critical=1),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing_data=cloudwatch.TreatMissingData.BREACHING,
            evaluation_periods=AGENT_SILENT_DATAPOINTS,
        ),
    ]


def shipping_specs(unwatched: Sequence[tuple[str, str]]) -> list[AlarmSpec]:
    """A "log silence" alarm for each ``(subject, log group name)`` shipped to that has none of its own.

    Each goes under a ``Shipping-<subject>`` child (the id its logical ids have always had).
    """
    return [
        log_silence_spec(log_group_name=name, subject=subject, group=f"Shipping-{subject}")
        for subject, name in unwatched
    ]
