"""genba-<env>-notifications: where every alarm of the environment sends ALARM and OK."""

from __future__ import annotations

from constructs import Construct

from genba_constructs import AlarmFactory, AlarmTopic
from stacks._base import GenbaStack
from stacks.config import EnvironmentConfig


class NotificationsStack(GenbaStack):
    def __init__(self, scope: Construct, concern: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, concern, config=config)
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
