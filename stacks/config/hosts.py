"""The ``hosts`` section: the reference service's Auto Scaling group, its log files and host alarms."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from aws_cdk import Duration

from genba_constructs.alarms import Thresholds
from genba_constructs.cloudwatch_agent_config import timestamp_format_problem
from genba_constructs.host_monitoring.thresholds import HostThresholds
from stacks.config.settings import RETENTION, matches, setting


@dataclass(frozen=True)
class HostLogFileConfig:
    """One log file on the reference service's hosts, shipped by the CloudWatch agent.

    :param file_path: the file (glob) on the host.
    :param log_group: the log group it is shipped to (one stream per instance).
    :param timestamp_format: the agent's format of each line's timestamp (``%Y-%m-%dT%H:%M:%S``).
        Default: the time the agent reads the line.
    :param watch_each_host: alarm when one host in service writes no line to the log group for
        5 minutes (log-shipping-missing); only for a log every host writes each minute (the
        application log with its health checks), not an event-driven one (audit). Default: false.
    """

    file_path: str = setting(check=matches(r"/\S*", "an absolute path"))
    log_group: Literal["application", "audit"] = setting()
    timestamp_format: str | None = setting(None, check=timestamp_format_problem)
    watch_each_host: bool = False


class HostThresholdProps(TypedDict):
    """HostThresholds' fields as HostMonitoring's keyword props (``**hosts.threshold_props``)."""

    disk_used_percent: Thresholds
    disk_full_within: Duration
    inodes_free: Thresholds
    memory_used_percent: Thresholds
    reapply_every: Duration


# HostThresholds' prop paths -> the keys of the hosts section they come from.
_HOST_THRESHOLD_KEYS = {
    "disk_used_percent.warning": "disk_used_warning_percent",
    "disk_used_percent.critical": "disk_used_critical_percent",
    "disk_full_within": "disk_full_forecast_hours",
    "inodes_free.warning": "inodes_free_warning",
    "inodes_free.critical": "inodes_free_critical",
    "memory_used_percent.warning": "memory_used_warning_percent",
    "memory_used_percent.critical": "memory_used_critical_percent",
    "reapply_every": "reapply_every_minutes",
}


# Elastic Beanstalk's default instance role, shared by every environment of the account that
# did not name its own: a policy attached to it reaches every other environment's instances.
SHARED_INSTANCE_ROLES = ("aws-elasticbeanstalk-ec2-role",)


@dataclass(frozen=True)
class HostsConfig:
    """The reference service's hosts: its Auto Scaling group (an Elastic Beanstalk environment's).

    :param auto_scaling_group_name: the group (from the EB console or
        ``aws elasticbeanstalk describe-environment-resources``; never looked up at synth).
    :param instance_role_name: the instances' role; the agent's managed policy is attached to it.
        Must be the environment's own role, never the account-shared ``aws-elasticbeanstalk-ec2-role``.
        Default: not attached (the stack outputs the policy's ARN).
    :param target_tag_key: associations target instances with this tag instead of the group's
        ``aws:autoscaling:groupName`` tag (given with ``target_tag_value``).
    :param target_tag_value: the value of ``target_tag_key``.
    :param log_files: the application log files the agent ships.
    :param disk_used_warning_percent: ``disk-used`` warning threshold.
    :param disk_used_critical_percent: ``disk-used`` critical threshold.
    :param disk_full_forecast_hours: ``disk-full-soon`` fires when a filesystem would be full within these hours.
    :param disk_forecast_paths: mount points with a ``disk-full-soon`` forecast of their own (besides
        the group's fullest filesystem), up to 9.
    :param inodes_free_warning: ``inodes-low`` warning: at most this many free inodes.
    :param inodes_free_critical: ``inodes-low`` critical: at most this many free inodes.
    :param memory_used_warning_percent: ``memory-used`` warning threshold.
    :param memory_used_critical_percent: ``memory-used`` critical threshold.
    :param reapply_every_minutes: the associations run again this often, so drift heals.
    :param agent_log_retention_days: retention of the agent's own log group.
    """

    auto_scaling_group_name: str = setting(check=matches(r"\S(?:.{0,253}\S)?", "an Auto Scaling group name"))
    instance_role_name: str | None = setting(None, check=matches(r"[\w+=,.@-]{1,64}", "an IAM role name"))
    target_tag_key: str | None = setting(None, check=matches(r".{1,128}", "a tag key"))
    target_tag_value: str | None = setting(None, check=matches(r".{1,256}", "a tag value"))
    log_files: tuple[HostLogFileConfig, ...] = ()
    # The thresholds' rules live in HostThresholds (shared with HostMonitoring): see problems().
    disk_used_warning_percent: int = 80
    disk_used_critical_percent: int = 90
    disk_full_forecast_hours: int = 24
    disk_forecast_paths: tuple[str, ...] = setting(("/",), check=matches(r"/|(/[^/\s]+)+", "a mount point"))
    inodes_free_warning: int = 100_000
    inodes_free_critical: int = 20_000
    memory_used_warning_percent: int = 85
    memory_used_critical_percent: int = 95
    reapply_every_minutes: int = 30
    agent_log_retention_days: int = setting(30, check=RETENTION)

    @property
    def target_tag(self) -> tuple[str, str] | None:
        """``(target_tag_key, target_tag_value)`` as HostMonitoring's ``target_tag``, when both are given."""
        if self.target_tag_key is None or self.target_tag_value is None:
            return None
        return self.target_tag_key, self.target_tag_value

    @property
    def threshold_props(self) -> HostThresholdProps:
        """The threshold keys as HostMonitoring's props (the one place they are mapped)."""
        # Duration refuses negative amounts; 0 is out of range just as any negative value is,
        # and problems() shows the configured value, not this one.
        return HostThresholdProps(
            disk_used_percent=Thresholds(
                warning=self.disk_used_warning_percent, critical=self.disk_used_critical_percent
            ),
            disk_full_within=Duration.hours(max(0, self.disk_full_forecast_hours)),
            inodes_free=Thresholds(warning=self.inodes_free_warning, critical=self.inodes_free_critical),
            memory_used_percent=Thresholds(
                warning=self.memory_used_warning_percent, critical=self.memory_used_critical_percent
            ),
            reapply_every=Duration.minutes(max(0, self.reapply_every_minutes)),
        )

    @property
    def thresholds(self) -> HostThresholds:
        """The same object HostMonitoring checks its flat props with."""
        return HostThresholds(**self.threshold_props)

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        for prop, value, problem in self.thresholds.problems():
            for other, key in _HOST_THRESHOLD_KEYS.items():  # a problem may name a second prop
                problem = problem.replace(other, key)
            where = _HOST_THRESHOLD_KEYS.get(prop)
            yield (where, getattr(self, where), problem) if where else (prop, value, problem)
        if (self.target_tag_key is None) != (self.target_tag_value is None):
            yield "target_tag_key", self.target_tag_key, "and target_tag_value must be given together"
        paths = [f.file_path for f in self.log_files]
        for path in paths:
            if paths.count(path) > 1:
                yield "log_files", path, "is listed twice (the agent reads a file once)"
                break
        if self.instance_role_name in SHARED_INSTANCE_ROLES:
            yield (
                "instance_role_name",
                self.instance_role_name,
                "is the account-shared Elastic Beanstalk instance role (every environment's instances use it): "
                "give the environment its own instance profile and role, or leave the key out and attach "
                "the AgentPolicyArn output yourself",
            )
