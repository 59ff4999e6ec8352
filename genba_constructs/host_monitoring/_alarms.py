"""The host alarms, as data: one spec per kind, all on the group's ``AutoScalingGroupName`` rollup.

The agent rolls every metric up to that one dimension set, so instances that come and go
need no redeploy: Maximum is the fullest filesystem (or busiest instance) of the group.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs import cloudwatch_agent_config as agent_config
from genba_constructs.alarm_table import AlarmRow, specs_from_table
from genba_constructs.alarms import AlarmSpec, Thresholds
from genba_constructs.host_monitoring.thresholds import HostThresholds
from genba_constructs.log_silence import log_silence_spec

# Each alarm's window, one row an alarm: its period and the data points to alarm (detection
# time = period x data points).
DISK_USED_PERIOD, DISK_USED_DATAPOINTS = Duration.minutes(5), 1
FORECAST_PERIOD, FORECAST_DATAPOINTS = Duration.minutes(10), 3
INODES_PERIOD, INODES_DATAPOINTS = Duration.minutes(5), 1
MEMORY_PERIOD, MEMORY_DATAPOINTS = Duration.minutes(1), 5
AGENT_SILENT_PERIOD, AGENT_SILENT_DATAPOINTS = Duration.minutes(1), 5
AGENT_MISSING_PERIOD, AGENT_MISSING_DATAPOINTS = Duration.minutes(1), 6
# A metric math alarm reads at most 10 metrics: the group's fullest filesystem and 9 paths.
MAX_FORECAST_PATHS = 9
AUTOSCALING_NAMESPACE = "AWS/AutoScaling"

# The agent-silent alarm covers missing data; the others (AlarmRow's default) stay quiet without data.


def group_metric(group: str, metric_name: str, *, statistic: str, period: Duration) -> cloudwatch.Metric:
    """An agent metric of the whole group (the ``AutoScalingGroupName`` rollup)."""
    return cloudwatch.Metric(
        namespace=agent_config.NAMESPACE,
        metric_name=metric_name,
        dimensions_map={agent_config.GROUP_DIMENSION: group},
        statistic=statistic,
        period=period,
    )


def _forecast(used: str, metric: cloudwatch.IMetric, hours: int, label: str) -> cloudwatch.MathExpression:
    return cloudwatch.MathExpression(
        expression=f"{used} + RATE({used}) * 3600 * {hours}",
        using_metrics={used: metric},
        period=FORECAST_PERIOD,
        label=label,
    )


def disk_full_forecast(group: str, hours: int, paths: Sequence[str] = ()) -> cloudwatch.MathExpression:
    """Where the fullest filesystem will be in ``hours``, at its growth rate of the last period (%).

    The group's rollup (Maximum) follows its fullest filesystem only: a smaller disk filling
    fast has no rate there until it is the fullest. Each of ``paths`` gets a forecast of its own
    from the ``{AutoScalingGroupName, path}`` rollup, and the alarm reads the highest of them.
    """
    fullest = group_metric(group, "disk_used_percent", statistic="Maximum", period=FORECAST_PERIOD)
    if not paths:
        return _forecast("used", fullest, hours, f"fullest filesystem in {hours} hours (%)")
    forecasts: dict[str, cloudwatch.IMetric] = {"fullest": _forecast("used", fullest, hours, "fullest filesystem")}
    for index, path in enumerate(paths):
        by_path = cloudwatch.Metric(
            namespace=agent_config.NAMESPACE,
            metric_name="disk_used_percent",
            dimensions_map={agent_config.GROUP_DIMENSION: group, "path": path},
            statistic="Maximum",
            period=FORECAST_PERIOD,
        )
        forecasts[f"path{index}"] = _forecast(f"used{index}", by_path, hours, path)
    return cloudwatch.MathExpression(
        expression=f"MAX([{', '.join(forecasts)}])",
        using_metrics=forecasts,
        period=FORECAST_PERIOD,
        label=f"fullest filesystem in {hours} hours (%)",
    )


def agents_missing(group: str) -> cloudwatch.MathExpression:
    """Instances in service minus agents reporting, per minute (each agent sends one sample a minute).

    ``GroupInServiceInstances`` (``AWS/AutoScaling``, dimension ``AutoScalingGroupName``) is
    published only while the group's metrics collection is enabled; without it the expression
    has no data and the alarm stays OK (``agent-silent`` still sees every agent dead).
    Minimum: an instance leaving service in the minute counts as gone.
    """
    in_service = cloudwatch.Metric(
        namespace=AUTOSCALING_NAMESPACE,
        metric_name="GroupInServiceInstances",
        dimensions_map={agent_config.GROUP_DIMENSION: group},
        statistic="Minimum",
        period=AGENT_MISSING_PERIOD,
    )
    reporting = group_metric(group, "mem_used_percent", statistic="SampleCount", period=AGENT_MISSING_PERIOD)
    return cloudwatch.MathExpression(
        expression="in_service - FILL(reporting, 0)",
        using_metrics={"in_service": in_service, "reporting": reporting},
        period=AGENT_MISSING_PERIOD,
        label="instances in service without a reporting agent",
    )


# What each alarm tells the person it wakes: (summary, first check), by runbook. ``{group}`` is
# the Auto Scaling group, ``{hours}`` the disk-full horizon.
_TEXT = {
    "disk-used": (
        "A filesystem of an instance of {group} is fuller than the threshold.",
        "the disk_used_percent metric by InstanceId and path; a log agent buffer (.tmp files) or old logs not rotated.",
    ),
    "disk-full-soon": (
        "At its current growth rate a filesystem of {group} will be full within {hours} hours.",
        "which directory grows (du -x on the path): a stuck log shipper's buffer, core dumps, caches.",
    ),
    "inodes-low": (
        "A filesystem of an instance of {group} is running out of inodes (free space does not help).",
        "directories with many small files (session files, mail queues, caches).",
    ),
    "memory-used": (
        "An instance of {group} has used more memory than the threshold for 5 minutes.",
        "mem_used_percent by InstanceId and the biggest processes; swap use.",
    ),
    "agent-silent": (
        "No CloudWatch agent of {group} has sent a metric for 5 minutes: disk and log alarms are blind.",
        "the State Manager associations of the hosts (compliance) and "
        "amazon-cloudwatch-agent-ctl -a status on an instance.",
    ),
    "agent-missing": (
        f"An instance in service in {{group}} has sent no CloudWatch agent metric for "
        f"{AGENT_MISSING_DATAPOINTS} minutes: its disk and memory are not watched.",
        "which InstanceId of the group is missing from mem_used_percent, then the agent "
        "status and the State Manager associations on that instance.",
    ),
}


def host_alarm_specs(group: str, thresholds: HostThresholds, paths: Sequence[str] = ()) -> list[AlarmSpec]:
    """The six alarms on the group, in the order they are made (the dashboard lists them so).

    :param paths: filesystems with a disk-full forecast of their own. Default: none.
    """
    hours, t = thresholds.disk_full_within_hours, thresholds
    lte = cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD
    below = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
    one = Thresholds(critical=1)
    disk_used = group_metric(group, "disk_used_percent", statistic="Maximum", period=DISK_USED_PERIOD)
    inodes = group_metric(group, "disk_inodes_free", statistic="Minimum", period=INODES_PERIOD)
    memory = group_metric(group, "mem_used_percent", statistic="Maximum", period=MEMORY_PERIOD)
    reporting = group_metric(group, "mem_used_percent", statistic="SampleCount", period=AGENT_SILENT_PERIOD)
    forecast, blind = disk_full_forecast(group, hours, paths), cloudwatch.TreatMissingData.BREACHING
    rows = [
        AlarmRow("disk-used", disk_used, t.disk_used_percent, DISK_USED_DATAPOINTS),
        AlarmRow("disk-full-soon", forecast, Thresholds(critical=100), FORECAST_DATAPOINTS),
        AlarmRow("inodes-low", inodes, t.inodes_free, INODES_DATAPOINTS, lte),
        AlarmRow("memory-used", memory, t.memory_used_percent, MEMORY_DATAPOINTS),
        AlarmRow("agent-silent", reporting, one, AGENT_SILENT_DATAPOINTS, below, blind),
        # No GroupInServiceInstances: group metrics not enabled (see runbook); quiet then.
        AlarmRow("agent-missing", agents_missing(group), one, AGENT_MISSING_DATAPOINTS),
    ]
    return specs_from_table(rows, _TEXT, group=group, hours=hours)


def shipping_specs(unwatched: Sequence[tuple[str, str]]) -> list[AlarmSpec]:
    """A "log silence" alarm for each ``(subject, log group name)`` shipped to that has none of its own.

    Each goes under a ``Shipping-<subject>`` child (the id its logical ids have always had).
    """
    return [
        log_silence_spec(log_group_name=name, subject=subject, group=f"Shipping-{subject}")
        for subject, name in unwatched
    ]
