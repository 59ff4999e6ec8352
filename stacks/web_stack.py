"""genba-<env>-web: the reference service as its users see it (its ALB, target groups, Elastic Beanstalk health)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from genba_constructs import AlarmFactory, WebTierMonitoring
from stacks.config import EnvironmentConfig, WebConfig


class WebStack(Stack):
    """Alarms on the reference service's existing load balancer; names come from config, synth looks nothing up."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: EnvironmentConfig,
        web: WebConfig,
        alarm_factory: AlarmFactory,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.web_tier = WebTierMonitoring(
            self,
            "WebTier",
            load_balancer=web.load_balancer,
            target_groups={group.name: group.target_group for group in web.target_groups},
            environment_name=web.environment_name,
            thresholds=web.thresholds,
            alarm_factory=alarm_factory,
        )
