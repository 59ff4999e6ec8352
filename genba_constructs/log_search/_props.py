"""What LogSearch accepts: every check its constructor runs before it makes anything.

Bad props fail here with a message naming ``LogSearch``, the prop and the value, instead of
a traceback from deep inside jsii at synth.
"""

from __future__ import annotations

import re

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

from genba_constructs._validation import fail, is_unresolved, require_positive_duration, require_range
from genba_constructs.log_search.sizing import LogSearchAlarmSettings, SearchSizing
from genba_constructs.retention import retention_days as to_retention

NAME = "LogSearch"
_INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")
_DOMAIN_NAME = re.compile(r"[a-z][a-z0-9-]{2,27}")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


_PERCENT_SETTINGS = (
    "cpu_utilization_percent",
    "jvm_memory_pressure_percent",
    "master_cpu_utilization_percent",
    "master_jvm_memory_pressure_percent",
)


def check_props(
    *,
    subject: str,
    sizing: SearchSizing,
    domain_name: str | None,
    index_name: str,
    index_retention_days: int,
    log_retention_days: int,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    buffer_interval: Duration,
    retry_duration: Duration,
    alarm_settings: LogSearchAlarmSettings,
) -> logs.RetentionDays:
    """Raise the first problem of these props; return ``log_retention_days`` as CloudWatch Logs takes it."""
    for key, value, problem in sizing.problems():
        raise fail(NAME, f"sizing.{key}", value, problem)
    if not _SLUG.fullmatch(subject or ""):
        raise fail(NAME, "subject", subject, "must be a lower-case slug such as 'audit-search'")
    if domain_name is not None and not is_unresolved(domain_name) and not _DOMAIN_NAME.fullmatch(domain_name):
        raise fail(NAME, "domain_name", domain_name, "must be 3-28 lower-case letters, digits or '-', first a letter")
    if not _INDEX_NAME.fullmatch(index_name or ""):
        raise fail(NAME, "index_name", index_name, "must be 1-60 lower-case letters, digits, '-' or '_'")
    require_range(NAME, "index_retention_days", index_retention_days, minimum=1, maximum=36500)
    log_retention = to_retention(NAME, "log_retention_days", log_retention_days)
    require_positive_duration(NAME, "retry_duration", retry_duration)
    require_positive_duration(NAME, "buffer_interval", buffer_interval)
    if not retry_duration.is_unresolved() and retry_duration.to_seconds() > 7200:
        raise fail(NAME, "retry_duration", retry_duration.to_human_string(), "must be at most 2 hours")
    if not buffer_interval.is_unresolved() and buffer_interval.to_seconds() > 900:
        raise fail(NAME, "buffer_interval", buffer_interval.to_human_string(), "must be at most 15 minutes")
    if vpc_subnets is not None and vpc is None:
        raise fail(NAME, "vpc_subnets", vpc_subnets, "needs vpc")
    require_range(
        NAME, "alarm_settings.free_storage_percent", alarm_settings.free_storage_percent, minimum=1, maximum=90
    )
    # A percentage alarm at 100 or more can never fire, at 0 or less it never clears; a success
    # ratio (0..1, alarmed when below) at 0 or less can never fire.
    for key in _PERCENT_SETTINGS:
        require_range(NAME, f"alarm_settings.{key}", getattr(alarm_settings, key), minimum=1, maximum=99)
    ratio = alarm_settings.delivery_success_ratio
    require_range(NAME, "alarm_settings.delivery_success_ratio", ratio, minimum=0.01, maximum=1)
    require_range(NAME, "alarm_settings.yellow_minutes", alarm_settings.yellow_minutes, minimum=1, maximum=1440)
    freshness = alarm_settings.delivery_freshness_seconds
    require_range(NAME, "alarm_settings.delivery_freshness_seconds", freshness, minimum=60, maximum=86400)
    return log_retention
