"""The load balancer and target groups watched, whether given by name, by ARN or as CDK objects.

CloudWatch names an Application Load Balancer by the ``LoadBalancer`` dimension
``app/<name>/<id>`` and a target group by ``TargetGroup`` ``targetgroup/<name>/<id>``: the
ARN's resource part, without ``loadbalancer/`` for the load balancer. CDK objects bring their
own ``metrics`` (``load_balancer.metrics.http_code_elb(...)``,
``target_group.metrics.unhealthy_host_count()``), which genba uses as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Fn
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from genba_constructs._validation import GenbaPropsError, fail, is_unresolved

NAMESPACE = "AWS/ApplicationELB"

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?"
_ID = r"[0-9a-f]{16}"
LOAD_BALANCER_DIMENSION = re.compile(rf"app/{_NAME}/{_ID}")
TARGET_GROUP_DIMENSION = re.compile(rf"targetgroup/{_NAME}/{_ID}")
_ARN = r"arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
LOAD_BALANCER_ARN = re.compile(rf"{_ARN}loadbalancer/(?P<dim>app/{_NAME}/{_ID})")
TARGET_GROUP_ARN = re.compile(rf"{_ARN}(?P<dim>targetgroup/{_NAME}/{_ID})")


def _literal_dimension(value: str, dimension: re.Pattern[str], arn: re.Pattern[str]) -> str | None:
    """The dimension a literal name or ARN gives (``dimension`` as it is, the ``dim`` group of ``arn``), or None."""
    if dimension.fullmatch(value):
        return value
    match = arn.fullmatch(value)
    return match.group("dim") if match else None


def load_balancer_dimension(construct: str, prop: str, value: Any) -> str:
    """The ``LoadBalancer`` dimension of an ALB given as ``app/<name>/<id>`` or its ARN.

    An unresolved token is taken as an ARN (an import or a reference), cut at deploy time.
    """
    if isinstance(value, str) and is_unresolved(value):
        parts = Fn.split("/", value)
        return Fn.join("/", [Fn.select(1, parts), Fn.select(2, parts), Fn.select(3, parts)])
    if not isinstance(value, str):
        raise fail(construct, prop, value, "must be an ALB name, an ARN or an elbv2.IApplicationLoadBalancer")
    found = _literal_dimension(value, LOAD_BALANCER_DIMENSION, LOAD_BALANCER_ARN)
    if found is not None:
        return found
    if "loadbalancer/net/" in value or value.startswith("net/"):
        raise fail(construct, prop, value, "is a Network Load Balancer; WebTierMonitoring watches an ALB")
    raise fail(construct, prop, value, "is neither 'app/<name>/<16 hex digits>' nor an ALB ARN")


def target_group_dimension(construct: str, prop: str, value: Any) -> str:
    """The ``TargetGroup`` dimension of a target group given as ``targetgroup/<name>/<id>`` or its ARN."""
    if isinstance(value, str) and is_unresolved(value):
        parts = Fn.split(":", value)
        return Fn.select(5, parts)  # arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>
    if not isinstance(value, str):
        raise fail(construct, prop, value, "must be a target group name, an ARN or an elbv2.IApplicationTargetGroup")
    found = _literal_dimension(value, TARGET_GROUP_DIMENSION, TARGET_GROUP_ARN)
    if found is not None:
        return found
    raise fail(construct, prop, value, "is neither 'targetgroup/<name>/<16 hex digits>' nor a target group ARN")


def _alb_metric(name: str, dimensions: dict[str, str], statistic: str, period: Duration) -> cloudwatch.Metric:
    """An ALB metric built from its dimensions (the load balancer or target group was given by name or ARN)."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=period,
    )


def _has_metrics(value: Any, full_name: str) -> bool:
    # jsii interfaces are not runtime-checkable protocols: recognise the CDK objects by shape.
    if isinstance(value, str) or not hasattr(value, full_name):
        return False
    try:
        return hasattr(value, "metrics")
    except RuntimeError:  # jsii: "The TargetGroup needs to be attached to a LoadBalancer ..."
        raise GenbaPropsError(
            f"WebTierMonitoring: target_groups={value} has no load balancer; attach it to the ALB first"
        ) from None


@dataclass(frozen=True)
class LoadBalancerMetrics:
    """The load balancer's metrics used by the alarms and the dashboard (all Sum unless said)."""

    dimension: str
    load_balancer: elbv2.IApplicationLoadBalancer | None = None

    @staticmethod
    def of(construct: str, value: Any) -> LoadBalancerMetrics:
        if _has_metrics(value, "load_balancer_full_name"):
            if not hasattr(value.metrics, "http_code_elb"):  # a Network Load Balancer's metrics have none
                raise fail(construct, "load_balancer", value, "is a Network Load Balancer; give an ALB")
            return LoadBalancerMetrics(value.load_balancer_full_name, value)
        return LoadBalancerMetrics(load_balancer_dimension(construct, "load_balancer", value))

    def _metric(self, name: str, statistic: str, period: Duration) -> cloudwatch.Metric:
        return _alb_metric(name, {"LoadBalancer": self.dimension}, statistic, period)

    def elb_5xx(self, period: Duration) -> cloudwatch.Metric:
        if self.load_balancer is not None:
            return self.load_balancer.metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=period)
        return self._metric("HTTPCode_ELB_5XX_Count", "Sum", period)

    def target_5xx(self, period: Duration) -> cloudwatch.Metric:
        if self.load_balancer is not None:
            return self.load_balancer.metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=period)
        return self._metric("HTTPCode_Target_5XX_Count", "Sum", period)

    def requests(self, period: Duration) -> cloudwatch.Metric:
        if self.load_balancer is not None:
            return self.load_balancer.metrics.request_count(period=period)
        return self._metric("RequestCount", "Sum", period)

    def response_time_p99(self, period: Duration) -> cloudwatch.Metric:
        if self.load_balancer is not None:
            return self.load_balancer.metrics.target_response_time(statistic="p99", period=period)
        return self._metric("TargetResponseTime", "p99", period)

    def rejected_connections(self, period: Duration) -> cloudwatch.Metric:
        if self.load_balancer is not None:
            return self.load_balancer.metrics.rejected_connection_count(period=period)
        return self._metric("RejectedConnectionCount", "Sum", period)


@dataclass(frozen=True)
class TargetGroupMetrics:
    """One target group's health metrics (dimensions TargetGroup and LoadBalancer, Maximum)."""

    name: str
    dimension: str
    load_balancer_dimension: str
    target_group: elbv2.IApplicationTargetGroup | None = None

    @staticmethod
    def of(construct: str, name: str, value: Any, load_balancer: LoadBalancerMetrics) -> TargetGroupMetrics:
        prop = f"target_groups[{name!r}]"
        if _has_metrics(value, "target_group_full_name"):
            if not hasattr(value.metrics, "http_code_target"):  # a Network Load Balancer target group's
                raise fail(construct, prop, value, "is a Network Load Balancer target group; give an ALB's")
            return TargetGroupMetrics(name, value.target_group_full_name, load_balancer.dimension, value)
        return TargetGroupMetrics(name, target_group_dimension(construct, prop, value), load_balancer.dimension)

    def _metric(self, name: str, period: Duration) -> cloudwatch.Metric:
        if self.target_group is not None:
            method = {
                "UnHealthyHostCount": self.target_group.metrics.unhealthy_host_count,
                "HealthyHostCount": self.target_group.metrics.healthy_host_count,
            }[name]
            return method(statistic="Maximum", period=period)  # attached: checked by of()
        dimensions = {"TargetGroup": self.dimension, "LoadBalancer": self.load_balancer_dimension}
        return _alb_metric(name, dimensions, "Maximum", period)

    def unhealthy_hosts(self, period: Duration) -> cloudwatch.Metric:
        return self._metric("UnHealthyHostCount", period)

    def healthy_hosts(self, period: Duration) -> cloudwatch.Metric:
        return self._metric("HealthyHostCount", period)
