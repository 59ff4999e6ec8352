"""The web tier's alarms, as data: one AlarmSpec per kind, per target group where it is per group.

Every metric, dimension and statistic is the one AWS documents: "CloudWatch metrics for your
Application Load Balancer" (AWS/ApplicationELB) and "Publishing Amazon CloudWatch custom
metrics for an environment" (AWS/ElasticBeanstalk). See docs/constructs/web_tier_monitoring.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.alarms import AlarmSpec, Thresholds

if TYPE_CHECKING:
    from genba_constructs.web_tier_monitoring import WebTierMonitoring

ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
# Error counts, latency and rejections: a period without data is a period without requests
# (ALB reports these only when requests flow, HTTPCode_* and RejectedConnectionCount only when
# non-zero). Quiet is not broken; the math below already turns gaps into 0.
QUIET = cloudwatch.TreatMissingData.NOT_BREACHING
# UnHealthyHostCount/HealthyHostCount are reported whenever health checks are enabled, and
# EnvironmentHealth every 60 s once configured: their silence means the group lost its load
# balancer or the environment stopped reporting - nobody can see the hosts then.
BLIND = cloudwatch.TreatMissingData.BREACHING


def _group_id(slug: str) -> str:
    return "TargetGroup" + "".join(part.capitalize() for part in slug.split("-"))


# What each alarm tells the person it wakes: (summary, first check), by runbook. ``{window}`` is
# "M of N periods of P min", ``{guard}`` the minimum-requests rule, ``{slug}`` the target group.
_TEXT = {
    "elb-5xx-rate": (
        "The load balancer itself answers 5xx to more requests than the threshold allows in {window} {guard}: "
        "users get errors the application never saw.",
        "HTTPCode_ELB_502/503/504_Count: 503 = no healthy target, 502 = targets close connections, "
        "504 = targets time out; then target health of each group.",
    ),
    "target-5xx-rate": (
        "The application (the targets) answers 5xx to more requests than the threshold allows in {window} {guard}.",
        "the application log group's errors for the same minutes (Logs Insights: level = ERROR), "
        "then the last deployment.",
    ),
    "target-response-time-p99": (
        "One request in a hundred takes longer than the threshold (seconds, p99 TargetResponseTime) "
        "in {window} {guard}.",
        "slow requests in the application log (duration), DynamoDB/OpenSearch latency, and CPU or memory of the hosts.",
    ),
    "rejected-connections": (
        "The load balancer rejected connections because it reached its connection limit in {window}.",
        "ActiveConnectionCount and NewConnectionCount: a traffic surge, clients not reusing "
        "connections, or targets holding connections open.",
    ),
    "unhealthy-hosts": (
        "Target group {slug} has unhealthy targets (UnHealthyHostCount, Maximum) in {window}.",
        "the target group's health check reasons (aws elbv2 describe-target-health) "
        "and the failing instance's application log.",
    ),
    "unhealthy-host-share": (
        "A large share of target group {slug} is unhealthy (or it reports no target) in {window}: "
        "the healthy rest carries all traffic and may fall next.",
        "describe-target-health of the group, the last deployment, and the Elastic Beanstalk "
        "environment's health causes.",
    ),
    "environment-health": (
        "Elastic Beanstalk rates environment {environment} at or above the threshold (20 Degraded, 25 Severe) "
        "in {window}, or it stopped publishing EnvironmentHealth.",
        "eb health / the environment's Health page: the causes Elastic Beanstalk lists.",
    ),
}


class _Alarm(NamedTuple):
    """One row of the alarm table; every web tier alarm fires at or above, M of N periods."""

    runbook: str
    metric: cloudwatch.IMetric
    thresholds: Thresholds
    missing_data: cloudwatch.TreatMissingData = QUIET
    slug: str | None = None  # the target group, for the alarms per group


def alarm_specs(web: WebTierMonitoring) -> list[AlarmSpec]:
    """The alarms of one web tier: load balancer first, then each target group, then the environment."""
    t = web.thresholds
    minutes = int(web.period.to_minutes()) if not web.period.is_unresolved() else 1
    rows = [
        _Alarm("elb-5xx-rate", web.metric_elb_5xx_rate(), t.elb_5xx_percent),
        _Alarm("target-5xx-rate", web.metric_target_5xx_rate(), t.target_5xx_percent),
        _Alarm("target-response-time-p99", web.metric_response_time_p99(), t.p99_response_time_seconds),
        _Alarm("rejected-connections", web.metric_rejected_connections(), t.rejected_connections),
    ]
    for slug in web.target_groups:
        rows += [
            # The share alarm below breaches when the group reports nothing; one alarm for it is enough.
            _Alarm("unhealthy-hosts", web.metric_unhealthy_hosts(slug), t.unhealthy_hosts, QUIET, slug),
            _Alarm(
                "unhealthy-host-share", web.metric_unhealthy_host_share(slug), t.unhealthy_host_percent, BLIND, slug
            ),
        ]
    health = web.metric_environment_health()
    if health is not None:
        rows.append(_Alarm("environment-health", health, t.environment_health, BLIND))
    values = {
        "window": f"{t.datapoints_to_alarm} of {t.evaluation_periods} periods of {minutes} min",
        "guard": f"(periods with fewer than {t.minimum_requests} requests count as 0)",
        "environment": web.environment_name,
    }
    return [
        AlarmSpec(
            runbook=row.runbook,
            summary=_TEXT[row.runbook][0].format(slug=row.slug, **values),
            first_check=_TEXT[row.runbook][1],
            metric=row.metric,
            thresholds=row.thresholds,
            comparison=ABOVE,
            missing_data=row.missing_data,
            subject=None if row.slug is None else f"{web.subject}-{row.slug}",
            group=None if row.slug is None else _group_id(row.slug),
            evaluation_periods=t.evaluation_periods,
            datapoints_to_alarm=t.datapoints_to_alarm,
        )
        for row in rows
    ]
