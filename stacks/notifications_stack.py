"""genba-<env>-notifications: where every alarm of the environment sends ALARM and OK."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from genba_constructs import AlarmFactory, AlarmTopic
from stacks.config import EnvironmentConfig


class NotificationsStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.alarm_topic = AlarmTopic(
            self,
            "AlarmTopic",
            display_name=f"genba {config.name} alarms",
            email_addresses=config.alarm_emails,
            removal_policy=config.removal_policy,
            alarm_name_prefix=config.stack_prefix,
            runbook_url=config.runbook_url,
        )
        self.alarm_factory: AlarmFactory = self.alarm_topic.alarm_factory
