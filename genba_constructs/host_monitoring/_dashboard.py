"""The hosts on the operations dashboard: fullest filesystem (alarm, forecast, by path), inodes, memory, agents."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.alarms import AlarmSet, Severity
from genba_constructs.host_monitoring._alarms import (
    DISK_USED_PERIOD,
    INODES_PERIOD,
    MEMORY_PERIOD,
    group_metric,
)

# Every host widget takes a third of the dashboard's width; percentages read from 0 to 100.
_WIDTH = 8
_PERCENT = cloudwatch.YAxisProps(min=0, max=100)


def _alarm(alarm: cloudwatch.IAlarm, title: str, *, percent: bool = False) -> cloudwatch.AlarmWidget:
    return cloudwatch.AlarmWidget(alarm=alarm, title=title, left_y_axis=_PERCENT if percent else None, width=_WIDTH)


def _graph(title: str, left: list[cloudwatch.IMetric], *, percent: bool = False) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=left, left_y_axis=_PERCENT if percent else None, width=_WIDTH)


def host_widgets(*, subject: str, group: str, alarms: AlarmSet, forecast_hours: int) -> list[cloudwatch.IWidget]:
    """Six widgets, a third of the dashboard's width each."""
    # The {AutoScalingGroupName, path} rollup: one line per mount point, whichever instance.
    # Not SQL on user input: a Metrics Insights query on the group name the deployer gave.
    query = " ".join(
        [
            "SELECT MAX(disk_used_percent) FROM SCHEMA(CWAgent, AutoScalingGroupName, path)",
            f"WHERE AutoScalingGroupName = '{group.replace(chr(39), '')}'",
            "GROUP BY path",
        ]
    )
    by_path = cloudwatch.MathExpression(expression=query, period=DISK_USED_PERIOD, label="")
    disk_used = alarms.by_runbook("disk-used", subject=subject)
    inodes = group_metric(group, "disk_inodes_free", statistic="Minimum", period=INODES_PERIOD)
    memory = group_metric(group, "mem_used_percent", statistic="Maximum", period=MEMORY_PERIOD)
    swap = group_metric(group, "swap_used_percent", statistic="Maximum", period=MEMORY_PERIOD)
    return [
        _alarm(
            disk_used.get(Severity.CRITICAL) or disk_used[Severity.WARNING],
            f"{subject}: fullest filesystem (%)",
            percent=True,
        ),
        _alarm(
            alarms.get("disk-full-soon", Severity.CRITICAL, subject=subject),
            f"{subject}: fullest filesystem in {forecast_hours} hours (%)",
        ),
        _graph(f"{subject}: fullest filesystem by path (%)", [by_path], percent=True),
        _graph(f"{subject}: fewest free inodes", [inodes]),
        _graph(
            f"{subject}: busiest instance memory and swap (%)",
            [memory.with_(label="memory"), swap.with_(label="swap")],
            percent=True,
        ),
        _alarm(
            alarms.get("agent-silent", Severity.CRITICAL, subject=subject),
            f"{subject}: agent data points per minute (about one per instance)",
        ),
    ]
