"""genba-<env>-hosts: the CloudWatch agent and host alarms on the reference service's Auto Scaling group."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput
from aws_cdk import aws_iam as iam
from constructs import Construct

from genba_constructs import AlarmFactory, HostLogFile, HostMonitoring, ServiceLogGroup
from stacks._base import GenbaStack
from stacks.config import EnvironmentConfig, HostsConfig


class HostsStack(GenbaStack):
    """The reference service's hosts (an Elastic Beanstalk environment's Auto Scaling group).

    The group's name comes from config: synth never looks it up. ``log_groups`` maps the
    config's ``log_group`` values (``application``, ``audit``) to the logging stack's groups.
    """

    def __init__(
        self,
        scope: Construct,
        concern: str,
        *,
        config: EnvironmentConfig,
        hosts: HostsConfig,
        log_groups: Mapping[str, ServiceLogGroup],
        alarm_factory: AlarmFactory,
    ) -> None:
        super().__init__(scope, concern, config=config)
        role = (
            iam.Role.from_role_name(self, "InstanceRole", hosts.instance_role_name)
            if hosts.instance_role_name
            else None
        )
        self.host_monitoring = HostMonitoring(
            self,
            "ServiceHosts",
            subject="service-hosts",
            auto_scaling_group_name=hosts.auto_scaling_group_name,
            target_tag=hosts.target_tag,
            log_files=[
                HostLogFile(
                    file_path=log_file.file_path,
                    log_group=log_groups[log_file.log_group],
                    timestamp_format=log_file.timestamp_format,
                    watch_each_host=log_file.watch_each_host,
                )
                for log_file in hosts.log_files
            ],
            role=role,
            agent_log_retention_days=hosts.agent_log_retention_days,
            removal_policy=config.removal_policy,
            **hosts.threshold_props,
            disk_forecast_paths=hosts.disk_forecast_paths,
            alarm_factory=alarm_factory,
        )
        CfnOutput(
            self,
            "AgentPolicyArn",
            value=self.host_monitoring.policy.managed_policy_arn,
            description="Attach to the instance role of the hosts (already attached when instance_role_name is set)",
        )
