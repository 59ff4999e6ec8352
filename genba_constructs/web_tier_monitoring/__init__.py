"""The service as its users see it: an Application Load Balancer, its target groups, Elastic Beanstalk health.

:class:`WebTierMonitoring` watches an *existing* ALB (and optionally the Elastic Beanstalk
environment behind it) and defines

* the 5xx rate of the load balancer and of its targets, as a share of requests, with a minimum
  request count so a quiet hour cannot page on one error;
* unhealthy hosts per target group, as a count and as a share of the group;
* p99 target response time and rejected connections of the load balancer;
* Elastic Beanstalk ``EnvironmentHealth`` (needs enhanced health *and* the metric published,
  see docs/constructs/web_tier_monitoring.md).

Parts: ``thresholds`` (when alarms fire), ``_sources`` (names, ARNs or CDK objects to metrics), ``_metrics``,
``_alarms`` (the alarms, as data), ``_dashboard`` (the widgets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from genba_constructs._shared_props import shared_props
from genba_constructs._types import checked
from genba_constructs._validation import fail, is_unresolved
from genba_constructs.alarms import AlarmFactory, AlarmSet, Thresholds, default_alarm_factory
from genba_constructs.web_tier_monitoring._alarms import alarm_specs
from genba_constructs.web_tier_monitoring._dashboard import dashboard_widgets
from genba_constructs.web_tier_monitoring._metrics import EB_NAMESPACE, WebTierMetrics
from genba_constructs.web_tier_monitoring._sources import LoadBalancerMetrics, TargetGroupMetrics
from genba_constructs.web_tier_monitoring.thresholds import ENVIRONMENT_HEALTH_SCALE, WebTierThresholds

__all__ = ["EB_NAMESPACE", "ENVIRONMENT_HEALTH_SCALE", "Thresholds", "WebTierMonitoring", "WebTierThresholds"]

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Elastic Beanstalk: 4-40 letters, digits and hyphens, no hyphen first or last.
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]")


@shared_props("alarm_factory")
class WebTierMonitoring(WebTierMetrics, Construct):
    """Alarms and dashboard widgets for an existing ALB, its target groups and an Elastic Beanstalk environment.

    :param load_balancer: the ALB: its ``LoadBalancer`` dimension ``app/<name>/<id>``, its ARN
        (an unresolved token is taken as an ARN), or an ``elbv2.IApplicationLoadBalancer``.
    :param target_groups: slug -> target group (``targetgroup/<name>/<id>``, its ARN, or an
        ``elbv2.IApplicationTargetGroup`` attached to a load balancer); the slug names its alarms
        (``<subject>-<slug>``). Default: none (no target health alarms).
    :param environment_name: the Elastic Beanstalk environment behind the ALB; it must have
        enhanced health and publish ``EnvironmentHealth``. Default: none (no environment alarm).
    :param subject: slug naming the web tier in alarm names. Default: ``web``.
    :param thresholds: when the alarms fire. Default: ``WebTierThresholds()``.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        load_balancer: str | elbv2.IApplicationLoadBalancer,
        target_groups: Mapping[str, str | elbv2.IApplicationTargetGroup] | None = None,
        environment_name: str | None = None,
        subject: str = "web",
        thresholds: WebTierThresholds | None = None,
        alarm_factory: AlarmFactory | None = None,
    ) -> None:
        name = "WebTierMonitoring"
        if not isinstance(subject, str) or not _SLUG.fullmatch(subject):
            raise fail(name, "subject", subject, "must be a lower-case slug such as 'web'")
        thresholds = WebTierThresholds() if thresholds is None else thresholds
        if not isinstance(thresholds, WebTierThresholds):
            raise fail(name, "thresholds", thresholds, "must be a WebTierThresholds")
        for key, value, problem in thresholds.problems():
            raise fail(name, f"thresholds.{key}", value, problem)
        if environment_name is not None and not (
            isinstance(environment_name, str)
            and (is_unresolved(environment_name) or _ENVIRONMENT_NAME.fullmatch(environment_name))
        ):
            raise fail(
                name,
                "environment_name",
                environment_name,
                "is not an Elastic Beanstalk environment name (4-40 characters)",
            )
        if target_groups is not None and not isinstance(target_groups, Mapping):
            raise fail(name, "target_groups", target_groups, "must map a slug to a target group")
        self.load_balancer = LoadBalancerMetrics.of(name, load_balancer)
        self.target_groups: dict[str, TargetGroupMetrics] = {}
        for slug, target_group in (target_groups or {}).items():
            if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
                raise fail(name, "target_groups", slug, "has a key that is not a lower-case slug such as 'app'")
            self.target_groups[slug] = TargetGroupMetrics.of(name, slug, target_group, self.load_balancer)
        super().__init__(scope, id)
        self.subject = subject
        self.environment_name = environment_name
        self.thresholds = thresholds
        self.period: Duration = thresholds.period

        factory = alarm_factory or default_alarm_factory(self)
        #: every alarm of the web tier, by runbook (and subject: ``<subject>-<target group slug>``).
        self.alarms: AlarmSet = factory.create_all(self, subject=subject, specs=alarm_specs(self))

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """5xx rates, p99 latency, target health per group, rejected connections, environment health."""
        return dashboard_widgets(self)
