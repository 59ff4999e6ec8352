"""The CloudWatch agent on the hosts: its configuration in SSM, two State Manager associations, its policy.

Every resource here is a direct child of the :class:`HostMonitoring` construct (their ids
are a contract), so these are functions of that scope rather than constructs of their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from genba_constructs import cloudwatch_agent_config as agent_config
from genba_constructs._validation import GenbaPropsError, fail, is_unresolved
from genba_constructs.nag import acknowledge
from genba_constructs.service_log_group import ServiceLogGroup, log_group_encryption_key

NAME = "HostMonitoring"
ASG_TAG = "aws:autoscaling:groupName"  # the tag EC2 Auto Scaling puts on every instance it launches
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
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
    :param watch_each_host: alarm (``log-shipping-missing``) when a host in service writes no
        line to this file's log group for 5 minutes. Only for a log every host writes at least
        once a minute (an application log with load-balancer health checks): an event-driven log
        (an audit log at night) would page for silence that loses nothing. Default: False.
    """

    file_path: str
    log_group: ServiceLogGroup
    timestamp_format: str | None = None
    multi_line_start_pattern: str | None = None
    watch_each_host: bool = False


def check_targets(
    *,
    scope: Construct,
    subject: str,
    auto_scaling_group_name: str,
    target_tag: tuple[str, str] | None,
    log_files: Sequence[HostLogFile],
    parameter_name: str | None,
) -> None:
    """What the hosts are and what SSM will accept as names for them (before any child is added)."""
    if not isinstance(subject, str) or not _SLUG.fullmatch(subject):
        raise fail(NAME, "subject", subject, "must be a lower-case slug such as 'web-hosts'")
    if not isinstance(auto_scaling_group_name, str) or not auto_scaling_group_name.strip():
        raise fail(NAME, "auto_scaling_group_name", auto_scaling_group_name, "must name an Auto Scaling group")
    if not is_unresolved(auto_scaling_group_name) and (
        len(auto_scaling_group_name) > 255 or auto_scaling_group_name != auto_scaling_group_name.strip()
    ):
        raise fail(
            NAME,
            "auto_scaling_group_name",
            auto_scaling_group_name,
            "is not an Auto Scaling group name (1-255 characters, no surrounding spaces)",
        )
    if target_tag is not None:
        if not isinstance(target_tag, tuple) or len(target_tag) != 2:
            raise fail(NAME, "target_tag", target_tag, "must be a (key, value) pair")
        key, value = target_tag
        if not isinstance(key, str) or not key.strip() or len(key) > 128:
            raise fail(NAME, "target_tag", target_tag, "needs a tag key of 1-128 characters")
        if not isinstance(value, str) or not value.strip() or len(value) > 256:
            raise fail(NAME, "target_tag", target_tag, "needs a tag value of 1-256 characters")
    for index, log_file in enumerate(log_files):
        if not isinstance(log_file, HostLogFile):
            raise fail(NAME, f"log_files[{index}]", log_file, "must be a HostLogFile")
    if parameter_name is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,1011}", parameter_name):
        raise fail(NAME, "parameter_name", parameter_name, "must be 1-1011 letters, digits, '_', '.' or '-'")
    longest = f"{association_prefix(scope, subject)}-configure-cloudwatch-agent"
    if not is_unresolved(longest) and not re.fullmatch(r"[A-Za-z0-9_.-]{3,128}", longest):
        raise fail(
            NAME,
            "subject",
            subject,
            f"makes the association name {longest!r}, which SSM does not accept (3-128 letters, digits, _ . -)",
        )


def association_prefix(scope: Construct, subject: str) -> str:
    return f"{Stack.of(scope).stack_name}-{subject}"


def agent_log_files(log_files: Sequence[HostLogFile]) -> list[agent_config.LogFile]:
    return [
        agent_config.LogFile(
            file_path=f.file_path,
            log_group_name=f.log_group.log_group.log_group_name,
            timestamp_format=f.timestamp_format,
            multi_line_start_pattern=f.multi_line_start_pattern,
        )
        for f in log_files
    ]


def build_config(
    log_files: Sequence[agent_config.LogFile],
    ignored_file_system_types: Sequence[str],
    *,
    agent_log_group_name: str = "/checked-later",
    prop: str = "",
) -> dict[str, Any]:
    """The agent configuration, or the agent's own objection as a GenbaPropsError (``prop`` names the cause)."""
    try:
        return agent_config.build_agent_config(
            log_files=log_files,
            agent_log_group_name=agent_log_group_name,
            ignored_file_system_types=ignored_file_system_types,
        )
    except agent_config.AgentConfigError as error:
        raise GenbaPropsError(f"{NAME}: {prop}{error}") from None


def agent_log_group(
    scope: Construct, *, retention: logs.RetentionDays, encryption_key: kms.IKey | None, removal: RemovalPolicy
) -> logs.LogGroup:
    """The agent's own log: kept, encrypted, retained like every genba log group."""
    key = encryption_key or log_group_encryption_key(scope, "AgentLogKey", removal_policy=removal)
    return logs.LogGroup(
        scope,
        "AgentLogs",
        retention=retention,
        encryption_key=key,
        removal_policy=removal,
        deletion_protection_enabled=removal == RemovalPolicy.RETAIN,
    )


def config_parameter(scope: Construct, *, name: str, subject: str, config: dict[str, Any]) -> ssm.StringParameter:
    """The configuration in the smallest SSM parameter tier it fits (the agent reads ``ssm:<name>``)."""
    value = Stack.of(scope).to_json_string(config)
    # Token placeholders are shorter than some names they stand for: leave room.
    estimate = len(json.dumps(config)) + 256 * json.dumps(config).count("${Token[")
    if estimate > _ADVANCED_PARAMETER_LIMIT:
        raise fail(
            NAME,
            "log_files",
            f"{estimate} characters of agent configuration",
            f"do not fit an SSM parameter ({_ADVANCED_PARAMETER_LIMIT}): ship fewer files or use globs",
        )
    return ssm.StringParameter(
        scope,
        "AgentConfig",
        parameter_name=name,
        description=f"CloudWatch agent configuration for {subject} (genba HostMonitoring)",
        string_value=value,
        tier=ssm.ParameterTier.STANDARD if estimate <= _STANDARD_PARAMETER_LIMIT else ssm.ParameterTier.ADVANCED,
    )


def agent_policy(
    scope: Construct,
    *,
    subject: str,
    log_groups: Sequence[logs.ILogGroup],
    parameter: ssm.IStringParameter,
    role: iam.IRole | None,
) -> iam.ManagedPolicy:
    """What CloudWatchAgentServerPolicy grants, narrowed to this configuration."""
    policy = iam.ManagedPolicy(
        scope,
        "AgentPolicy",
        description=f"CloudWatch agent on the {subject} instances (genba HostMonitoring)",
        statements=[
            # '*' in both: neither action has a resource type (Service Authorization Reference,
            # list_amazoncloudwatch.html and list_amazonec2.html); the namespace condition holds the
            # metrics to CWAgent.
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
                resources=[group.log_group_arn for group in dict.fromkeys(log_groups)],
            ),
            iam.PolicyStatement(
                sid="ReadAgentConfiguration",
                actions=["ssm:GetParameter"],
                resources=[parameter.parameter_arn],
            ),
        ],
        roles=[role] if role is not None else None,
    )
    acknowledge(
        policy,
        "AwsSolutions-IAM5",
        "cloudwatch:PutMetricData and ec2:DescribeTags have no resource type in the Service Authorization "
        "Reference, so only '*' grants them; PutMetricData is held to the CWAgent namespace by the "
        "cloudwatch:namespace condition, and the log statements name their log groups.",
        finding="Resource::*",
    )
    return policy


def rate_expression(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"rate({days} day{'s' if days > 1 else ''})"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"rate({hours} hour{'s' if hours > 1 else ''})"
    return f"rate({minutes} minutes)"


def associations(
    scope: Construct,
    *,
    prefix: str,
    tag: tuple[str, str],
    reapply_minutes: int,
    parameter: ssm.IStringParameter,
) -> tuple[ssm.CfnAssociation, ssm.CfnAssociation]:
    """Install the agent, then configure it, on every tagged instance, again on a schedule.

    Two associations, as AWS documents them: on a new instance they may run in either
    order; a configure run that finds no agent fails and succeeds on its next run.
    """
    tag_key, tag_value = tag
    targets = [ssm.CfnAssociation.TargetProperty(key=f"tag:{tag_key}", values=[tag_value])]
    schedule = rate_expression(reapply_minutes)

    def association(id: str, document: str, name: str, parameters: dict[str, list[str]]) -> ssm.CfnAssociation:
        """A State Manager association on the tagged instances: rerun on schedule, compliance reported."""
        return ssm.CfnAssociation(
            scope,
            id,
            name=document,
            association_name=f"{prefix}-{name}",
            parameters=parameters,
            compliance_severity="HIGH",
            sync_compliance="AUTO",
            max_concurrency="50%",
            max_errors="100%",
            targets=targets,
            schedule_expression=schedule,
        )

    install = association(
        "InstallAgent",
        "AWS-ConfigureAWSPackage",
        "install-cloudwatch-agent",
        {"action": ["Install"], "name": ["AmazonCloudWatchAgent"]},
    )
    configure = association(
        "ConfigureAgent",
        "AmazonCloudWatch-ManageAgent",
        "configure-cloudwatch-agent",
        {
            "action": ["configure"],
            "mode": ["ec2"],
            "optionalConfigurationSource": ["ssm"],
            "optionalConfigurationLocation": [parameter.parameter_name],
            "optionalRestart": ["yes"],
        },
    )
    return install, configure
