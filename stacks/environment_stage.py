"""One CDK Stage per environment: `cdk deploy 'prod/*'` deploys exactly that environment."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stack, Stage, Tags
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.logging_stack import LoggingStack
from stacks.notifications_stack import NotificationsStack
from stacks.sync_stack import SyncStack


class EnvironmentStage(Stage):
    """The genba baseline of one environment; its stacks are named ``genba-<env>-<concern>``."""

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.name, env=Environment(account=config.account, region=config.region))
        self.config = config
        for key, value in (("project", "genba"), ("environment", config.name), ("owner", config.owner)):
            Tags.of(self).add(key, value)

        self.notifications = NotificationsStack(self, "notifications", **self._stack_props("notifications"))
        alarm_factory = self.notifications.alarm_factory
        self.logging = LoggingStack(self, "logging", alarm_factory=alarm_factory, **self._stack_props("logging"))
        if config.sync is not None:
            self.sync = SyncStack(self, "sync", alarm_factory=alarm_factory, **self._stack_props("sync"))

    def _stack_props(self, concern: str) -> dict[str, Any]:
        return {
            "config": self.config,
            "stack_name": f"{self.config.stack_prefix}-{concern}",
            "description": f"genba {concern} baseline for the {self.config.name} environment",
            "termination_protection": self.config.production,
        }

    @property
    def stacks(self) -> list[Stack]:
        return [child for child in self.node.children if isinstance(child, Stack)]
