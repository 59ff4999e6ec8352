"""The web tier on the operations dashboard: what users see first, then why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.alarms import Thresholds

if TYPE_CHECKING:
    from genba_constructs.web_tier_monitoring import WebTierMonitoring

_WIDTH = 8


def _lines(thresholds: Thresholds) -> list[cloudwatch.HorizontalAnnotation]:
    colors = {"warning": cloudwatch.Color.ORANGE, "critical": cloudwatch.Color.RED}
    return [
        cloudwatch.HorizontalAnnotation(value=value, label=severity.value, color=colors[severity.value])
        for severity, value in thresholds.items()
    ]


def dashboard_widgets(web: WebTierMonitoring) -> list[cloudwatch.IWidget]:
    t = web.thresholds
    name = web.subject
    widgets: list[cloudwatch.IWidget] = [
        cloudwatch.GraphWidget(
            title=f"{name}: 5xx (% of requests)",
            left=[web.metric_elb_5xx_rate(), web.metric_target_5xx_rate()],
            left_annotations=_lines(t.target_5xx_percent),
            left_y_axis=cloudwatch.YAxisProps(min=0),
            right=[web.load_balancer.requests(web.period).with_(label="requests")],
            right_y_axis=cloudwatch.YAxisProps(min=0, show_units=False),
            width=_WIDTH,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: p99 target response time (s)",
            left=[web.metric_response_time_p99()],
            left_annotations=_lines(t.p99_response_time_seconds),
            left_y_axis=cloudwatch.YAxisProps(min=0),
            width=_WIDTH,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: rejected connections",
            left=[web.metric_rejected_connections().with_(label="rejected connections")],
            left_y_axis=cloudwatch.YAxisProps(min=0),
            width=_WIDTH,
        ),
    ]
    for slug, group in web.target_groups.items():
        widgets.append(
            cloudwatch.GraphWidget(
                title=f"{name}: target group {slug} hosts",
                left=[
                    group.healthy_hosts(web.period).with_(label="healthy", color=cloudwatch.Color.GREEN),
                    group.unhealthy_hosts(web.period).with_(label="unhealthy", color=cloudwatch.Color.RED),
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0),
                width=_WIDTH,
            )
        )
    health = web.metric_environment_health()
    if health is not None:
        widgets.append(
            cloudwatch.GraphWidget(
                title=f"{name}: Elastic Beanstalk health of {web.environment_name} (0 Ok, 20 Degraded, 25 Severe)",
                left=[health.with_(label="EnvironmentHealth")],
                left_annotations=_lines(t.environment_health),
                left_y_axis=cloudwatch.YAxisProps(min=0, max=25),
                width=_WIDTH,
            )
        )
    return widgets
