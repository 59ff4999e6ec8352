"""Hosts that warn before their disks fill: the CloudWatch agent everywhere, and group alarms.

The incident genba was born from: the log agent on an instance stopped shipping, its
buffer grew until the disk was full, and the service went down. This construct

* builds the CloudWatch agent configuration as data (:mod:`genba_constructs.cloudwatch_agent_config`)
  and stores it in an SSM parameter;
* installs the agent and applies that configuration with two SSM State Manager
  associations on every instance of an Auto Scaling group (or every instance with a tag),
  re-applied on a schedule so that drift heals and new instances are covered;
* gives the instances the permissions the agent needs, as a managed policy;
* alarms on the group as a whole, so instances that come and go need no redeploy: the
  agent rolls every metric up to the ``AutoScalingGroupName`` dimension, and the alarms
  watch that one dimension set (Maximum: the fullest filesystem of any instance);
* compares the instances in service with the agents reporting (``agent-missing``) and, per
  application log group, with the log streams that wrote a line (``log-shipping-missing``: a
  transformer names each event's stream, a Contributor Insights rule counts them; see
  :mod:`._log_streams`), so one host of many that goes quiet is caught.

The parts: :mod:`.thresholds` (the limits and their rules, shared with the config loader),
:mod:`._agent` (configuration parameter, associations, policy), :mod:`._alarms` (the alarm
specs and the group's metrics), :mod:`._log_streams` (hosts shipping logs), :mod:`._dashboard` (its widgets).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from genba_constructs import cloudwatch_agent_config as agent_config
from genba_constructs._names import claim_name
from genba_constructs._shared_props import grouped, shared_props
from genba_constructs._types import checked
from genba_constructs._validation import fail, require_either, require_no_problems
from genba_constructs.alarms import AlarmFactory, Thresholds, default_alarm_factory
from genba_constructs.host_monitoring import _agent
from genba_constructs.host_monitoring._agent import ASG_TAG, HostLogFile
from genba_constructs.host_monitoring._alarms import (
    AGENT_MISSING_DATAPOINTS,
    AGENT_MISSING_PERIOD,
    AGENT_SILENT_DATAPOINTS,
    AGENT_SILENT_PERIOD,
    DISK_USED_DATAPOINTS,
    DISK_USED_PERIOD,
    FORECAST_DATAPOINTS,
    FORECAST_PERIOD,
    INODES_DATAPOINTS,
    INODES_PERIOD,
    MAX_FORECAST_PATHS,
    MEMORY_DATAPOINTS,
    MEMORY_PERIOD,
    disk_full_forecast,
    group_metric,
    host_alarm_specs,
    shipping_specs,
)
from genba_constructs.host_monitoring._dashboard import host_widgets
from genba_constructs.host_monitoring._log_streams import LOG_STREAM_FIELD, log_stream_specs
from genba_constructs.host_monitoring._log_streams import RUNBOOK as LOG_SHIPPING_MISSING
from genba_constructs.host_monitoring.thresholds import HostThresholds
from genba_constructs.retention import retention_days as to_retention
from genba_constructs.service_log_group import ServiceLogGroup

__all__ = [
    "AGENT_MISSING_DATAPOINTS",
    "AGENT_MISSING_PERIOD",
    "AGENT_SILENT_DATAPOINTS",
    "AGENT_SILENT_PERIOD",
    "ASG_TAG",
    "DISK_USED_DATAPOINTS",
    "DISK_USED_PERIOD",
    "FORECAST_DATAPOINTS",
    "FORECAST_PERIOD",
    "INODES_DATAPOINTS",
    "INODES_PERIOD",
    "LOG_STREAM_FIELD",
    "MEMORY_DATAPOINTS",
    "MEMORY_PERIOD",
    "HostLogFile",
    "HostMonitoring",
    "HostThresholds",
]

_NAME = _agent.NAME
_DEFAULTS = HostThresholds()


@shared_props("alarm_factory")
class HostMonitoring(Construct):
    """The CloudWatch agent on every instance of an Auto Scaling group, and alarms on the group.

    :param subject: slug naming the hosts in alarm, association and parameter names (``web-hosts``).
    :param auto_scaling_group_name: the Auto Scaling group whose instances are monitored (for
        Elastic Beanstalk, the environment's group). Alarms watch its ``AutoScalingGroupName``
        dimension. May be a token (``asg.auto_scaling_group_name``).
    :param target_tag: ``(key, value)`` of the instance tag the associations target instead of
        the group's ``aws:autoscaling:groupName`` tag (e.g. ``("elasticbeanstalk:environment-name",
        "my-env")``). Only instances of the group are covered by the alarms. Default: the group's tag.
    :param log_files: application log files shipped to genba log groups. Default: none (the
        agent's own log is always shipped).
    :param role: the instance role to attach the agent's managed policy to. Default: attach
        ``policy`` yourself.
    :param agent_log_group: where the agent's own log goes. Default: a new log group.
    :param agent_log_retention_days: retention of the new agent log group. Default: 30.
    :param encryption_key: KMS key of the new agent log group. Default: a new rotated key.
    :param removal_policy: for the new agent log group and key. Default: RETAIN.
    :param parameter_name: the SSM parameter holding the agent configuration. Default:
        ``AmazonCloudWatch-<stack name>-<subject>``.
    :param reapply_every: how often the associations run again (drift heals, missed
        instances are caught); 30 minutes to 30 days. Default: 30 minutes.
    :param disk_used_percent: disk used alarm thresholds, on the fullest filesystem of any
        instance. Default: warning 80, critical 90.
    :param disk_full_within: the "disk full soon" alarm fires when the fullest filesystem,
        growing as fast as over the last period, would be full within this time (whole hours).
        Default: 24 hours.
    :param disk_forecast_paths: mount points with a forecast of their own (a filling disk that
        is not the group's fullest has no growth rate in the fullest filesystem's series); up
        to 9. Default: ``("/",)``.
    :param inodes_free: free-inode alarm thresholds (fewest free inodes of any filesystem of
        any instance; warning above critical). Default: warning 100,000, critical 20,000.
    :param memory_used_percent: memory used alarm thresholds (busiest instance). Default:
        warning 85, critical 95.
    :param ignored_file_system_types: filesystem types without disk metrics. Default:
        ``cloudwatch_agent_config.DEFAULT_IGNORED_FILE_SYSTEM_TYPES`` (tmpfs, overlay, ...).

    The limits are checked by :class:`HostThresholds` (``thresholds``); ``alarms`` is an
    :class:`~genba_constructs.AlarmSet` (``alarms.get("disk-used", Severity.CRITICAL)``).
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        subject: str,
        auto_scaling_group_name: str,
        target_tag: tuple[str, str] | None = None,
        log_files: Sequence[HostLogFile] = (),
        role: iam.IRole | None = None,
        agent_log_group: logs.ILogGroup | None = None,
        agent_log_retention_days: int | None = None,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy | None = None,
        parameter_name: str | None = None,
        reapply_every: Duration = _DEFAULTS.reapply_every,
        disk_used_percent: Thresholds = _DEFAULTS.disk_used_percent,
        disk_full_within: Duration = _DEFAULTS.disk_full_within,
        disk_forecast_paths: Sequence[str] = ("/",),
        inodes_free: Thresholds = _DEFAULTS.inodes_free,
        memory_used_percent: Thresholds = _DEFAULTS.memory_used_percent,
        ignored_file_system_types: Sequence[str] = agent_config.DEFAULT_IGNORED_FILE_SYSTEM_TYPES,
        alarm_factory: AlarmFactory | None = None,
    ) -> None:
        _agent.check_targets(
            scope=scope,
            subject=subject,
            auto_scaling_group_name=auto_scaling_group_name,
            target_tag=target_tag,
            log_files=log_files,
            parameter_name=parameter_name,
        )
        thresholds = grouped(HostThresholds, locals())
        require_no_problems(_NAME, thresholds.problems())
        paths = _forecast_paths(disk_forecast_paths)
        require_either(
            _NAME,
            ("agent_log_group", agent_log_group),
            [
                ("agent_log_retention_days", agent_log_retention_days),
                ("encryption_key", encryption_key),
                ("removal_policy", removal_policy),
            ],
        )
        retention = to_retention(_NAME, "agent_log_retention_days", agent_log_retention_days or 30)
        files = _agent.agent_log_files(log_files)
        _agent.build_config(files, ignored_file_system_types)  # checked before any child is added
        super().__init__(scope, id)
        self.subject = subject
        self.auto_scaling_group_name = auto_scaling_group_name
        self.thresholds = thresholds
        self.forecast_hours = thresholds.disk_full_within_hours
        self.disk_forecast_paths = paths
        self.agent_log_group: logs.ILogGroup = agent_log_group or _agent.agent_log_group(
            self, retention=retention, encryption_key=encryption_key, removal=removal_policy or RemovalPolicy.RETAIN
        )
        shipped = [f.log_group for f in log_files]
        self._install_agent(files, ignored_file_system_types, parameter_name, shipped, role, target_tag)
        self._build_alarms(alarm_factory or default_alarm_factory(self), log_files)

    def _build_alarms(self, alarm_factory: AlarmFactory, log_files: Sequence[HostLogFile]) -> None:
        """The group's alarms (``_alarms``), "log silence" where nobody watches a shipped log group, and the
        log shipping rules of the groups every host writes to (``_log_streams``)."""
        subject, group = self.subject, self.auto_scaling_group_name
        # A log group the agent ships to and nobody watches gets a "log silence" alarm here.
        groups = list(dict.fromkeys(f.log_group for f in log_files))
        unwatched = [(g.subject, g.log_group.log_group_name) for g in groups if g.silence_alarm is None]
        # One host of many that stops shipping: log streams that wrote against instances in service
        # (only where every host writes each minute: HostLogFile.watch_each_host).
        watched = list(dict.fromkeys(f.log_group for f in log_files if f.watch_each_host))
        streams, self.log_stream_rules = log_stream_specs(self, subject=subject, group=group, log_groups=watched)
        host_specs = host_alarm_specs(group, self.thresholds, self.disk_forecast_paths)
        self.alarms = alarm_factory.create_all(
            self, subject=subject, specs=[*host_specs, *shipping_specs(unwatched), *streams]
        )
        # The alarms name their rule in a string: CloudFormation must create the rule first.
        for record in self.alarms.records:
            if record.spec.runbook == LOG_SHIPPING_MISSING:
                record.alarm.node.add_dependency(*self.log_stream_rules)
        self.log_silence_alarms: dict[str, cloudwatch.Alarm] = {
            g.subject: g.silence_alarm or self.alarms.get("log-silence", subject=g.subject) for g in groups
        }

    def _install_agent(
        self,
        files: list[agent_config.LogFile],
        ignored_file_system_types: Sequence[str],
        parameter_name: str | None,
        shipped: list[ServiceLogGroup],
        role: iam.IRole | None,
        target_tag: tuple[str, str] | None,
    ) -> None:
        """The agent configuration parameter, the agent's policy and the State Manager associations (``_agent``)."""
        subject = self.subject
        # Only an existing agent_log_group's name is new to the agent configuration here.
        self.agent_config = _agent.build_config(
            files,
            ignored_file_system_types,
            agent_log_group_name=self.agent_log_group.log_group_name,
            prop="agent_log_group: ",
        )
        parameter = parameter_name or f"AmazonCloudWatch-{Stack.of(self).stack_name}-{subject}"
        claim_name(self, "SSM parameter", parameter, owner="HostMonitoring", child="AgentConfig")
        self.parameter = _agent.config_parameter(
            self,
            name=parameter,
            subject=subject,
            config=self.agent_config,
        )
        self.policy = _agent.agent_policy(
            self,
            subject=subject,
            log_groups=[*(g.log_group for g in shipped), self.agent_log_group],
            parameter=self.parameter,
            role=role,
        )
        self.install_association, self.configure_association = _agent.associations(
            self,
            prefix=_agent.association_prefix(self, subject),
            tag=target_tag or (ASG_TAG, self.auto_scaling_group_name),
            reapply_minutes=self.thresholds.reapply_every_minutes,
            parameter=self.parameter,
        )

    # -- metrics -------------------------------------------------------------------------

    @checked
    def metric(self, metric_name: str, *, statistic: str, period: Duration) -> cloudwatch.Metric:
        """An agent metric of the whole group (the ``AutoScalingGroupName`` rollup)."""
        return group_metric(self.auto_scaling_group_name, metric_name, statistic=statistic, period=period)

    @checked
    def metric_disk_used_percent(self, *, period: Duration = DISK_USED_PERIOD) -> cloudwatch.Metric:
        """The fullest filesystem of any instance of the group (Maximum)."""
        return self.metric("disk_used_percent", statistic="Maximum", period=period)

    @checked
    def metric_disk_full_forecast(self, hours: int) -> cloudwatch.MathExpression:
        """Where the fullest filesystem will be in ``hours``, at its growth rate of the last period (%)."""
        return disk_full_forecast(self.auto_scaling_group_name, hours, self.disk_forecast_paths)

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """The group's fullest filesystem (alarm, forecast, by path), inodes, memory, agents reporting."""
        return host_widgets(
            subject=self.subject,
            group=self.auto_scaling_group_name,
            alarms=self.alarms,
            forecast_hours=self.forecast_hours,
        )


def _forecast_paths(paths: Sequence[str]) -> tuple[str, ...]:
    """The mount points as the agent names them (its ``path`` dimension), each once."""
    if isinstance(paths, str) or not all(isinstance(p, str) for p in paths):
        raise fail(_NAME, "disk_forecast_paths", paths, "must be a sequence of mount points such as ('/', '/var/log')")
    for path in paths:
        if not path.startswith("/") or path != path.strip() or (len(path) > 1 and path.endswith("/")):
            raise fail(_NAME, "disk_forecast_paths", path, "must be a mount point: absolute, no trailing '/'")
    unique = tuple(dict.fromkeys(paths))
    if len(unique) > MAX_FORECAST_PATHS:
        raise fail(
            _NAME,
            "disk_forecast_paths",
            len(unique),
            f"lists more than {MAX_FORECAST_PATHS} paths (an alarm reads 10 metrics)",
        )
    return unique
