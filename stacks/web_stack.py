"""genba-<env>-web: the reference service as its users see it (its ALB, target groups, Elastic Beanstalk health)."""

from __future__ import annotations

from constructs import Construct

from genba_constructs import AlarmFactory, WebTierMonitoring
from stacks._base import GenbaStack
from stacks.config import EnvironmentConfig, WebConfig


class WebStack(GenbaStack):
    """Alarms on the reference service's existing load balancer; names come from config, synth looks nothing up."""

    def __init__(
        self,
        scope: Construct,
        concern: str,
        *,
        config: EnvironmentConfig,
        web: WebConfig,
        alarm_factory: AlarmFactory,
    ) -> None:
        super().__init__(scope, concern, config=config)
        self.web_tier = WebTierMonitoring(
            self,
            "WebTier",
            load_balancer=web.load_balancer,
            target_groups={group.name: group.target_group for group in web.target_groups},
            environment_name=web.environment_name,
            thresholds=web.thresholds,
            alarm_factory=alarm_factory,
        )
