"""genba-<env>-dashboard: one CloudWatch dashboard for every signal of the environment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from constructs import Construct

from genba_constructs import AlarmFactory
from genba_constructs.operations_dashboard import DashboardSource, OperationsDashboard
from stacks.config import EnvironmentConfig


class DashboardStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvironmentConfig,
        alarm_factory: AlarmFactory,
        sections: Sequence[tuple[str, DashboardSource]],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.dashboard = OperationsDashboard(
            self,
            "OperationsDashboard",
            dashboard_name=f"{config.stack_prefix}-operations",
            sections=sections,
            alarms=alarm_factory.alarms,
        )
