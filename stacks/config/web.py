"""The ``web`` section: the reference service's load balancer, target groups and Elastic Beanstalk health."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration

from genba_constructs.alarms import Thresholds
from genba_constructs.web_tier_monitoring import WebTierThresholds
from stacks.config.settings import PERCENT, in_range, matches, one_of, setting


@dataclass(frozen=True)
class WebTargetGroupConfig:
    """One target group of the reference service's load balancer; ``name`` names its alarms."""

    name: str = setting(check=matches(r"[a-z0-9]+(?:-[a-z0-9]+)*", "a lower-case slug such as 'app'"))
    target_group: str = setting(
        check=matches(
            r"(arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:)?targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}",
            "a target group 'targetgroup/<name>/<id>' or its ARN",
        )
    )


# WebTierThresholds field -> (warning key, critical key) of WebConfig: one rule, two spellings.
_WEB_THRESHOLD_KEYS = {
    "elb_5xx_percent": ("elb_5xx_warning_percent", "elb_5xx_critical_percent"),
    "target_5xx_percent": ("target_5xx_warning_percent", "target_5xx_critical_percent"),
    "unhealthy_hosts": ("unhealthy_hosts_warning", None),
    "unhealthy_host_percent": ("unhealthy_host_warning_percent", "unhealthy_host_critical_percent"),
    "p99_response_time_seconds": ("p99_response_time_warning_seconds", "p99_response_time_critical_seconds"),
    "rejected_connections": ("rejected_connections_warning", "rejected_connections_critical"),
    "environment_health": ("environment_health_warning", "environment_health_critical"),
}


@dataclass(frozen=True)
class WebConfig:
    """The reference service's web tier: its ALB, target groups and Elastic Beanstalk environment."""

    load_balancer: str = setting(
        check=matches(
            r"(arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/)?app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}",
            "an ALB 'app/<name>/<id>' or its ARN",
        )
    )
    target_groups: tuple[WebTargetGroupConfig, ...] = ()
    environment_name: str | None = setting(
        None, check=matches(r"[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]", "an Elastic Beanstalk environment name")
    )
    period_minutes: int = setting(1, check=in_range(1, 60))
    evaluation_periods: int = setting(5, check=in_range(1, 100))
    datapoints_to_alarm: int = setting(3, check=in_range(1, 100))
    minimum_requests: int = setting(50, check=in_range(1, 10**9))
    elb_5xx_warning_percent: float = setting(1.0, check=PERCENT)
    elb_5xx_critical_percent: float = setting(5.0, check=PERCENT)
    target_5xx_warning_percent: float = setting(1.0, check=PERCENT)
    target_5xx_critical_percent: float = setting(5.0, check=PERCENT)
    unhealthy_hosts_warning: int = setting(1, check=in_range(1, 10_000))
    unhealthy_host_warning_percent: float = setting(25.0, check=PERCENT)
    unhealthy_host_critical_percent: float = setting(50.0, check=PERCENT)
    p99_response_time_warning_seconds: float = setting(1.0, check=in_range(0.001, 4000))
    p99_response_time_critical_seconds: float = setting(3.0, check=in_range(0.001, 4000))
    rejected_connections_warning: int = setting(1, check=in_range(1, 10**9))
    rejected_connections_critical: int = setting(100, check=in_range(1, 10**9))
    environment_health_warning: int = setting(20, check=one_of((1, 5, 10, 15, 20, 25), "an EnvironmentHealth value"))
    environment_health_critical: int = setting(25, check=one_of((1, 5, 10, 15, 20, 25), "an EnvironmentHealth value"))

    @property
    def thresholds(self) -> WebTierThresholds:
        values = {
            field_name: Thresholds(
                warning=getattr(self, warning) if warning else None,
                critical=getattr(self, critical) if critical else None,
            )
            for field_name, (warning, critical) in _WEB_THRESHOLD_KEYS.items()
        }
        return WebTierThresholds(
            period=Duration.minutes(self.period_minutes),
            evaluation_periods=self.evaluation_periods,
            datapoints_to_alarm=self.datapoints_to_alarm,
            minimum_requests=self.minimum_requests,
            **values,
        )

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        names = [group.name for group in self.target_groups]
        for name in names:
            if names.count(name) > 1:
                yield "target_groups", name, "is listed twice (the name must be unique: it names the alarms)"
                break
        for key, value, problem in self.thresholds.problems():
            field_name, _, severity = key.partition(".")
            keys = _WEB_THRESHOLD_KEYS.get(field_name)
            if keys is not None and severity:
                key = keys[0] if severity == "warning" else keys[1] or key
            elif field_name == "period":
                key = "period_minutes"
            yield key, value, problem
