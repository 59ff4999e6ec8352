"""genba-<env>-dashboard: one CloudWatch dashboard for every signal of the environment."""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from genba_constructs import AlarmFactory
from genba_constructs.operations_dashboard import DashboardSource, OperationsDashboard
from stacks._base import GenbaStack
from stacks.config import EnvironmentConfig


class DashboardStack(GenbaStack):
    def __init__(
        self,
        scope: Construct,
        concern: str,
        *,
        config: EnvironmentConfig,
        alarm_factory: AlarmFactory,
        sections: Sequence[tuple[str, DashboardSource]],
    ) -> None:
        super().__init__(scope, concern, config=config)
        self.dashboard = OperationsDashboard(
            self,
            "OperationsDashboard",
            dashboard_name=f"{config.stack_prefix}-operations",
            sections=sections,
            alarms=alarm_factory.alarms,
        )
