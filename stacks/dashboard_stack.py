"""genba-<env>-dashboard: one CloudWatch dashboard for every signal of the environment."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from genba_constructs.operations_dashboard import DashboardSource, OperationsDashboard
from stacks._base import GenbaStack
from stacks.config import EnvironmentConfig


class DashboardStack(GenbaStack):
    """Shows the stacks' signals and alarms; it makes no alarm itself, so it takes the alarms, not the factory.

    :param alarms: every alarm of the environment (the factory's list, once every other stack is built).
    """

    def __init__(
        self,
        scope: Construct,
        concern: str,
        *,
        config: EnvironmentConfig,
        sections: Sequence[tuple[str, DashboardSource]],
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        super().__init__(scope, concern, config=config)
        self.dashboard = OperationsDashboard(
            self,
            "OperationsDashboard",
            dashboard_name=f"{config.stack_prefix}-operations",
            sections=sections,
            alarms=alarms,
        )
