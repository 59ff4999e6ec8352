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
  watch that one dimension set (Maximum: the fullest filesystem of any instance).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from genba_constructs import cloudwatch_agent_config as agent_config
from genba_constructs._validation import GenbaPropsError, fail, require_either
from genba_constructs.alarms import AlarmFactory, Severity, Thresholds, default_alarm_factory
from genba_constructs.log_silence import add_log_silence_alarm
from genba_constructs.nag import acknowledge
from genba_constructs.retention import retention_days as to_retention
from genba_constructs.service_log_group import ServiceLogGroup, log_group_encryption_key

_NAME = "HostMonitoring"
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
ASG_TAG = "aws:autoscaling:groupName"  # the tag EC2 Auto Scaling puts on every instance it launches

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
# The standard tier holds 4 KB; the advanced tier 8 KB.
_STANDARD_PARAMETER_LIMIT = 4096
_ADVANCED_PARAMETER_LIMIT = 8192


@dataclass(frozen=True)
class HostLogFile:
    """An application log file the agent ships to a genba log group, one stream per instance.

    :param file_path: absolute path on the host; globs allowed (``/var/log/app/*.log``).
    :param log_group: the genba log group it goes to.
    :param timestamp_format: the agent's format of each line's timestamp
        (``%Y-%m-%dT%H:%M:%S``). Default: the time the agent reads the line.
    :param multi_line_start_pattern: regular expression that starts a new event (stack
        traces). Default: each line is an event.
    """

    file_path: str
    log_group: ServiceLogGroup
    timestamp_format: str | None = None
    multi_line_start_pattern: str | None = None


def _check_percent_thresholds(prop: str, thresholds: Thresholds) -> None:
    for severity, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 100:
            raise fail(_NAME, f"{prop}.{severity.value}", value, "must be a percentage above 0 and below 100")
    if not thresholds.items():
        raise fail(_NAME, prop, thresholds, "gives neither warning nor critical")
    if thresholds.warning is not None and thresholds.critical is not None and thresholds.warning > thresholds.critical:
        raise fail(_NAME, f"{prop}.warning", thresholds.warning, f"is above critical ({thresholds.critical})")


def _whole(prop: str, value: Duration, unit: str, minimum: int, maximum: int) -> int:
    if not isinstance(value, Duration) or value.is_unresolved():
        raise fail(_NAME, prop, value, "must be a concrete aws_cdk.Duration")
    seconds = value.to_seconds()
    size = {"minutes": 60, "hours": 3600}[unit]
    if seconds % size or not minimum <= seconds // size <= maximum:
        raise fail(_NAME, prop, value.to_human_string(), f"must be {minimum} to {maximum} whole {unit}")
    return int(seconds // size)


def _rate_expression(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"rate({days} day{'s' if days > 1 else ''})"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"rate({hours} hour{'s' if hours > 1 else ''})"
    return f"rate({minutes} minutes)"


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
    :param inodes_free: free-inode alarm thresholds (fewest free inodes of any filesystem of
        any instance; warning above critical). Default: warning 100,000, critical 20,000.
    :param memory_used_percent: memory used alarm thresholds (busiest instance). Default:
        warning 85, critical 95.
    :param ignored_file_system_types: filesystem types without disk metrics. Default:
        ``cloudwatch_agent_config.DEFAULT_IGNORED_FILE_SYSTEM_TYPES`` (tmpfs, overlay, ...).
    :param alarm_factory: makes the alarms. Default: alarms named after the stack, no actions.
    """

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
        reapply_every: Duration = Duration.minutes(30),
        disk_used_percent: Thresholds = Thresholds(warning=80, critical=90),
        disk_full_within: Duration = Duration.hours(24),
        inodes_free: Thresholds = Thresholds(warning=100_000, critical=20_000),
        memory_used_percent: Thresholds = Thresholds(warning=85, critical=95),
        ignored_file_system_types: Sequence[str] = agent_config.DEFAULT_IGNORED_FILE_SYSTEM_TYPES,
        alarm_factory: AlarmFactory | None = None,
    ) -> None:
        self._validate(
            subject=subject,
            auto_scaling_group_name=auto_scaling_group_name,
            target_tag=target_tag,
            log_files=log_files,
            parameter_name=parameter_name,
            disk_used_percent=disk_used_percent,
            inodes_free=inodes_free,
            memory_used_percent=memory_used_percent,
        )
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
        reapply_minutes = _whole("reapply_every", reapply_every, "minutes", 30, 30 * 1440)
        forecast_hours = _whole("disk_full_within", disk_full_within, "hours", 1, 24 * 30)
        association_prefix = f"{Stack.of(scope).stack_name}-{subject}"
        longest = f"{association_prefix}-configure-cloudwatch-agent"
        if not Token.is_unresolved(longest) and not re.fullmatch(r"[A-Za-z0-9_.-]{3,128}", longest):
            raise fail(
                _NAME,
                "subject",
                subject,
                f"makes the association name {longest!r}, which SSM does not accept (3-128 letters, digits, _ . -)",
            )
        agent_log_files = [
            agent_config.LogFile(
                file_path=f.file_path,
                log_group_name=f.log_group.log_group.log_group_name,
                timestamp_format=f.timestamp_format,
                multi_line_start_pattern=f.multi_line_start_pattern,
            )
            for f in log_files
        ]
        try:  # checked before any child is added; built again below with the agent's log group
            agent_config.build_agent_config(
                log_files=agent_log_files,
                agent_log_group_name="/checked-later",
                ignored_file_system_types=ignored_file_system_types,
            )
        except agent_config.AgentConfigError as error:
            raise GenbaPropsError(f"{_NAME}: {error}") from None
        super().__init__(scope, id)
        self.subject = subject
        self.auto_scaling_group_name = auto_scaling_group_name
        stack = Stack.of(self)
        alarm_factory = alarm_factory or default_alarm_factory(self)

        if agent_log_group is None:
            removal = removal_policy or RemovalPolicy.RETAIN
            key = encryption_key or log_group_encryption_key(self, "AgentLogKey", removal_policy=removal)
            agent_log_group = logs.LogGroup(
                self,
                "AgentLogs",
                retention=retention,
                encryption_key=key,
                removal_policy=removal,
                deletion_protection_enabled=removal == RemovalPolicy.RETAIN,
            )
        self.agent_log_group: logs.ILogGroup = agent_log_group

        try:
            self.agent_config = agent_config.build_agent_config(
                log_files=agent_log_files,
                agent_log_group_name=agent_log_group.log_group_name,
                ignored_file_system_types=ignored_file_system_types,
            )
        except agent_config.AgentConfigError as error:  # only an existing agent_log_group's name is new here
            raise GenbaPropsError(f"{_NAME}: agent_log_group: {error}") from None

        self.parameter = self._parameter(parameter_name or f"AmazonCloudWatch-{stack.stack_name}-{subject}")
        self.policy = self._policy([f.log_group.log_group for f in log_files], role)

        tag_key, tag_value = target_tag or (ASG_TAG, auto_scaling_group_name)
        targets = [ssm.CfnAssociation.TargetProperty(key=f"tag:{tag_key}", values=[tag_value])]
        schedule = _rate_expression(reapply_minutes)
        # Two associations, as AWS documents them: on a new instance they may run in either
        # order; a configure run that finds no agent fails and succeeds on its next run.
        self.install_association = ssm.CfnAssociation(
            self,
            "InstallAgent",
            name="AWS-ConfigureAWSPackage",
            association_name=f"{association_prefix}-install-cloudwatch-agent",
            parameters={"action": ["Install"], "name": ["AmazonCloudWatchAgent"]},
            targets=targets,
            schedule_expression=schedule,
            compliance_severity="HIGH",
            sync_compliance="AUTO",
            max_concurrency="50%",
            max_errors="100%",
        )
        self.configure_association = ssm.CfnAssociation(
            self,
            "ConfigureAgent",
            name="AmazonCloudWatch-ManageAgent",
            association_name=f"{association_prefix}-configure-cloudwatch-agent",
            parameters={
                "action": ["configure"],
                "mode": ["ec2"],
                "optionalConfigurationSource": ["ssm"],
                "optionalConfigurationLocation": [self.parameter.parameter_name],
                "optionalRestart": ["yes"],
            },
            targets=targets,
            schedule_expression=schedule,
            compliance_severity="HIGH",
            sync_compliance="AUTO",
            max_concurrency="50%",
            max_errors="100%",
        )

        self.forecast_hours = forecast_hours
        self.alarms = self._alarms(
            alarm_factory,
            disk_used_percent=disk_used_percent,
            forecast_hours=forecast_hours,
            inodes_free=inodes_free,
            memory_used_percent=memory_used_percent,
        )
        self.log_silence_alarms: dict[str, cloudwatch.Alarm] = {}
        for service_log_group in dict.fromkeys(f.log_group for f in log_files):
            alarm = service_log_group.silence_alarm
            if alarm is None:
                alarm = add_log_silence_alarm(
                    Construct(self, f"Shipping-{service_log_group.subject}"),
                    log_group_name=service_log_group.log_group.log_group_name,
                    subject=service_log_group.subject,
                    alarm_factory=alarm_factory,
                )
            self.log_silence_alarms[service_log_group.subject] = alarm

    @staticmethod
    def _validate(
        *,
        subject: str,
        auto_scaling_group_name: str,
        target_tag: tuple[str, str] | None,
        log_files: Sequence[HostLogFile],
        parameter_name: str | None,
        disk_used_percent: Thresholds,
        inodes_free: Thresholds,
        memory_used_percent: Thresholds,
    ) -> None:
        if not isinstance(subject, str) or not _SLUG.fullmatch(subject):
            raise fail(_NAME, "subject", subject, "must be a lower-case slug such as 'web-hosts'")
        if not isinstance(auto_scaling_group_name, str) or not auto_scaling_group_name.strip():
            raise fail(_NAME, "auto_scaling_group_name", auto_scaling_group_name, "must name an Auto Scaling group")
        if not Token.is_unresolved(auto_scaling_group_name) and (
            len(auto_scaling_group_name) > 255 or auto_scaling_group_name != auto_scaling_group_name.strip()
        ):
            raise fail(
                _NAME,
                "auto_scaling_group_name",
                auto_scaling_group_name,
                "is not an Auto Scaling group name (1-255 characters, no surrounding spaces)",
            )
        if target_tag is not None:
            if not isinstance(target_tag, tuple) or len(target_tag) != 2:
                raise fail(_NAME, "target_tag", target_tag, "must be a (key, value) pair")
            key, value = target_tag
            if not isinstance(key, str) or not key.strip() or len(key) > 128:
                raise fail(_NAME, "target_tag", target_tag, "needs a tag key of 1-128 characters")
            if not isinstance(value, str) or not value.strip() or len(value) > 256:
                raise fail(_NAME, "target_tag", target_tag, "needs a tag value of 1-256 characters")
        for index, log_file in enumerate(log_files):
            if not isinstance(log_file, HostLogFile):
                raise fail(_NAME, f"log_files[{index}]", log_file, "must be a HostLogFile")
        if parameter_name is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,1011}", parameter_name):
            raise fail(_NAME, "parameter_name", parameter_name, "must be 1-1011 letters, digits, '_', '.' or '-'")
        _check_percent_thresholds("disk_used_percent", disk_used_percent)
        _check_percent_thresholds("memory_used_percent", memory_used_percent)
        if not inodes_free.items():
            raise fail(_NAME, "inodes_free", inodes_free, "gives neither warning nor critical")
        for severity, inodes in inodes_free.items():
            if isinstance(inodes, bool) or not isinstance(inodes, int) or inodes < 1:
                raise fail(_NAME, f"inodes_free.{severity.value}", inodes, "must be a whole number of inodes above 0")
        if (
            inodes_free.warning is not None
            and inodes_free.critical is not None
            and inodes_free.warning < inodes_free.critical
        ):
            raise fail(
                _NAME,
                "inodes_free.warning",
                inodes_free.warning,
                f"is below critical ({inodes_free.critical}): fewer free inodes is worse",
            )

    def _parameter(self, name: str) -> ssm.StringParameter:
        value = Stack.of(self).to_json_string(self.agent_config)
        # Token placeholders are shorter than some names they stand for: leave room.
        estimate = len(json.dumps(self.agent_config)) + 256 * json.dumps(self.agent_config).count("${Token[")
        if estimate > _ADVANCED_PARAMETER_LIMIT:
            raise fail(
                _NAME,
                "log_files",
                f"{estimate} characters of agent configuration",
                f"do not fit an SSM parameter ({_ADVANCED_PARAMETER_LIMIT}): ship fewer files or use globs",
            )
        return ssm.StringParameter(
            self,
            "AgentConfig",
            parameter_name=name,
            description=f"CloudWatch agent configuration for {self.subject} (genba HostMonitoring)",
            string_value=value,
            tier=ssm.ParameterTier.STANDARD if estimate <= _STANDARD_PARAMETER_LIMIT else ssm.ParameterTier.ADVANCED,
        )

    def _policy(self, log_groups: Sequence[logs.ILogGroup], role: iam.IRole | None) -> iam.ManagedPolicy:
        """What CloudWatchAgentServerPolicy grants, narrowed to this configuration."""
        shipped = list(dict.fromkeys([*log_groups, self.agent_log_group]))
        policy = iam.ManagedPolicy(
            self,
            "AgentPolicy",
            description=f"CloudWatch agent on the {self.subject} instances (genba HostMonitoring)",
            statements=[
                iam.PolicyStatement(
                    sid="PutAgentMetrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": agent_config.NAMESPACE}},
                ),
                iam.PolicyStatement(
                    sid="ReadInstanceTags",  # the agent resolves ${aws:AutoScalingGroupName} from them
                    actions=["ec2:DescribeTags"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="ShipLogs",
                    actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    resources=[group.log_group_arn for group in shipped],
                ),
                iam.PolicyStatement(
                    sid="ReadAgentConfiguration",
                    actions=["ssm:GetParameter"],
                    resources=[self.parameter.parameter_arn],
                ),
            ],
            roles=[role] if role is not None else None,
        )
        for rule in ("AwsSolutions-IAM5",):
            acknowledge(
                policy,
                rule,
                "cloudwatch:PutMetricData and ec2:DescribeTags support no resource-level permissions; "
                "PutMetricData is limited to the CWAgent namespace by a condition",
                finding="Resource::*",
            )
        return policy

    # -- metrics -------------------------------------------------------------------------

    def metric(self, metric_name: str, *, statistic: str, period: Duration) -> cloudwatch.Metric:
        """An agent metric of the whole group (the ``AutoScalingGroupName`` rollup)."""
        return cloudwatch.Metric(
            namespace=agent_config.NAMESPACE,
            metric_name=metric_name,
            dimensions_map={agent_config.GROUP_DIMENSION: self.auto_scaling_group_name},
            statistic=statistic,
            period=period,
        )

    def metric_disk_used_percent(self, *, period: Duration = DISK_USED_PERIOD) -> cloudwatch.Metric:
        """The fullest filesystem of any instance of the group (Maximum)."""
        return self.metric("disk_used_percent", statistic="Maximum", period=period)

    def metric_disk_full_forecast(self, hours: int) -> cloudwatch.MathExpression:
        """Where the fullest filesystem will be in ``hours``, at its growth rate of the last period (%)."""
        return cloudwatch.MathExpression(
            expression=f"used + RATE(used) * 3600 * {hours}",
            using_metrics={"used": self.metric_disk_used_percent(period=FORECAST_PERIOD)},
            period=FORECAST_PERIOD,
            label=f"fullest filesystem in {hours} hours (%)",
        )

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """The group's fullest filesystem (alarm, forecast, by path), inodes, memory, agents reporting."""
        group = self.auto_scaling_group_name
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
        disk_used = self.alarms["disk-used"]
        return [
            cloudwatch.AlarmWidget(
                alarm=disk_used.get(Severity.CRITICAL) or disk_used[Severity.WARNING],
                title=f"{self.subject}: fullest filesystem (%)",
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                width=8,
            ),
            cloudwatch.AlarmWidget(
                alarm=self.alarms["disk-full-soon"][Severity.CRITICAL],
                title=f"{self.subject}: fullest filesystem in {self.forecast_hours} hours (%)",
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{self.subject}: fullest filesystem by path (%)",
                left=[by_path],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{self.subject}: fewest free inodes",
                left=[self.metric("disk_inodes_free", statistic="Minimum", period=INODES_PERIOD)],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{self.subject}: busiest instance memory and swap (%)",
                left=[
                    self.metric("mem_used_percent", statistic="Maximum", period=MEMORY_PERIOD).with_(label="memory"),
                    self.metric("swap_used_percent", statistic="Maximum", period=MEMORY_PERIOD).with_(label="swap"),
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                width=8,
            ),
            cloudwatch.AlarmWidget(
                alarm=self.alarms["agent-silent"][Severity.CRITICAL],
                title=f"{self.subject}: agent data points per minute (about one per instance)",
                width=8,
            ),
        ]

    def _alarms(
        self,
        factory: AlarmFactory,
        *,
        disk_used_percent: Thresholds,
        forecast_hours: int,
        inodes_free: Thresholds,
        memory_used_percent: Thresholds,
    ) -> dict[str, dict[Severity, cloudwatch.Alarm]]:
        group = self.auto_scaling_group_name
        above = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        # The agent-silent alarm covers missing data; the others stay quiet without data.
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        alarms: dict[str, dict[Severity, cloudwatch.Alarm]] = {}
        alarms["disk-used"] = factory.create(
            self,
            subject=self.subject,
            runbook="disk-used",
            summary=f"A filesystem of an instance of {group} is fuller than the threshold.",
            first_check="the disk_used_percent metric by InstanceId and path; a log agent buffer "
            "(.tmp files) or old logs not rotated.",
            metric=self.metric_disk_used_percent(),
            thresholds=disk_used_percent,
            comparison=above,
            missing_data=quiet,
            evaluation_periods=DISK_USED_DATAPOINTS,
        )
        alarms["disk-full-soon"] = factory.create(
            self,
            subject=self.subject,
            runbook="disk-full-soon",
            summary=f"At its current growth rate a filesystem of {group} will be full within {forecast_hours} hours.",
            first_check="which directory grows (du -x on the path): a stuck log shipper's buffer, core dumps, caches.",
            metric=self.metric_disk_full_forecast(forecast_hours),
            thresholds=Thresholds(critical=100),
            comparison=above,
            missing_data=quiet,
            evaluation_periods=FORECAST_DATAPOINTS,
        )
        alarms["inodes-low"] = factory.create(
            self,
            subject=self.subject,
            runbook="inodes-low",
            summary=f"A filesystem of an instance of {group} is running out of inodes (free space does not help).",
            first_check="directories with many small files (session files, mail queues, caches).",
            metric=self.metric("disk_inodes_free", statistic="Minimum", period=INODES_PERIOD),
            thresholds=inodes_free,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            missing_data=quiet,
            evaluation_periods=INODES_DATAPOINTS,
        )
        alarms["memory-used"] = factory.create(
            self,
            subject=self.subject,
            runbook="memory-used",
            summary=f"An instance of {group} has used more memory than the threshold for 5 minutes.",
            first_check="mem_used_percent by InstanceId and the biggest processes; swap use.",
            metric=self.metric("mem_used_percent", statistic="Maximum", period=MEMORY_PERIOD),
            thresholds=memory_used_percent,
            comparison=above,
            missing_data=quiet,
            evaluation_periods=MEMORY_DATAPOINTS,
        )
        alarms["agent-silent"] = factory.create(
            self,
            subject=self.subject,
            runbook="agent-silent",
            summary=f"No CloudWatch agent of {group} has sent a metric for 5 minutes: disk and log alarms are blind.",
            first_check="the State Manager associations of the hosts (compliance) and "
            "amazon-cloudwatch-agent-ctl -a status on an instance.",
            metric=self.metric("mem_used_percent", statistic="SampleCount", period=AGENT_SILENT_PERIOD),
            thresholds=Thresholds(critical=1),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing_data=cloudwatch.TreatMissingData.BREACHING,
            evaluation_periods=AGENT_SILENT_DATAPOINTS,
        )
        return alarms
