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
    return [
        cloudwatch.AlarmWidget(
            alarm=disk_used.get(Severity.CRITICAL) or disk_used[Severity.WARNING],
            title=f"{subject}: fullest filesystem (%)",
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            width=8,
        ),
        cloudwatch.AlarmWidget(
            alarm=alarms.get("disk-full-soon", Severity.CRITICAL, subject=subject),
            title=f"{subject}: fullest filesystem in {forecast_hours} hours (%)",
            width=8,
        ),
        cloudwatch.GraphWidget(
            title=f"{subject}: fullest filesystem by path (%)",
            left=[by_path],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            width=8,
        ),
        cloudwatch.GraphWidget(
            title=f"{subject}: fewest free inodes",
            left=[group_metric(group, "disk_inodes_free", statistic="Minimum", period=INODES_PERIOD)],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title=f"{subject}: busiest instance memory and swap (%)",
            left=[
                group_metric(group, "mem_used_percent", statistic="Maximum", period=MEMORY_PERIOD).with_(
                    label="memory"
                ),
                group_metric(group, "swap_used_percent", statistic="Maximum", period=MEMORY_PERIOD).with_(label="swap"),
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            width=8,
        ),
        cloudwatch.AlarmWidget(
            alarm=alarms.get("agent-silent", Severity.CRITICAL, subject=subject),
            title=f"{subject}: agent data points per minute (about one per instance)",
            width=8,
        ),
    ]
