"""The web tier's alarms, as data: one AlarmSpec per kind, per target group where it is per group.

Every metric, dimension and statistic is the one AWS documents: "CloudWatch metrics for your
Application Load Balancer" (AWS/ApplicationELB) and "Publishing Amazon CloudWatch custom
metrics for an environment" (AWS/ElasticBeanstalk). See docs/constructs/web_tier_monitoring.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.alarms import AlarmSpec

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


def alarm_specs(web: WebTierMonitoring) -> list[AlarmSpec]:
    """The alarms of one web tier: load balancer first, then each target group, then the environment."""
    t = web.thresholds
    minutes = int(web.period.to_minutes()) if not web.period.is_unresolved() else 1
    window = f"{t.datapoints_to_alarm} of {t.evaluation_periods} periods of {minutes} min"
    n, m = t.evaluation_periods, t.datapoints_to_alarm
    guard = f"(periods with fewer than {t.minimum_requests} requests count as 0)"
    specs = [
        AlarmSpec(
            runbook="elb-5xx-rate",
            summary=f"The load balancer itself answers 5xx to more requests than the threshold allows "
            f"in {window} {guard}: users get errors the application never saw.",
            first_check="HTTPCode_ELB_502/503/504_Count: 503 = no healthy target, 502 = targets close "
            "connections, 504 = targets time out; then target health of each group.",
            metric=web.metric_elb_5xx_rate(),
            thresholds=t.elb_5xx_percent,
            comparison=ABOVE,
            missing_data=QUIET,
            evaluation_periods=n,
            datapoints_to_alarm=m,
        ),
        AlarmSpec(
            runbook="target-5xx-rate",
            summary=f"The application (the targets) answers 5xx to more requests than the threshold allows "
            f"in {window} {guard}.",
            first_check="the application log group's errors for the same minutes (Logs Insights: level = ERROR), "
            "then the last deployment.",
            metric=web.metric_target_5xx_rate(),
            thresholds=t.target_5xx_percent,
            comparison=ABOVE,
            missing_data=QUIET,
            evaluation_periods=n,
            datapoints_to_alarm=m,
        ),
        AlarmSpec(
            runbook="target-response-time-p99",
            summary=f"One request in a hundred takes longer than the threshold (seconds, p99 TargetResponseTime) "
            f"in {window} {guard}.",
            first_check="slow requests in the application log (duration), DynamoDB/OpenSearch latency, "
            "and CPU or memory of the hosts.",
            metric=web.metric_response_time_p99(),
            thresholds=t.p99_response_time_seconds,
            comparison=ABOVE,
            missing_data=QUIET,
            evaluation_periods=n,
            datapoints_to_alarm=m,
        ),
        AlarmSpec(
            runbook="rejected-connections",
            summary=f"The load balancer rejected connections because it reached its connection limit in {window}.",
            first_check="ActiveConnectionCount and NewConnectionCount: a traffic surge, clients not reusing "
            "connections, or targets holding connections open.",
            metric=web.metric_rejected_connections(),
            thresholds=t.rejected_connections,
            comparison=ABOVE,
            missing_data=QUIET,
            evaluation_periods=n,
            datapoints_to_alarm=m,
        ),
    ]
    for slug in web.target_groups:
        subject = f"{web.subject}-{slug}"
        specs += [
            AlarmSpec(
                runbook="unhealthy-hosts",
                summary=f"Target group {slug} has unhealthy targets (UnHealthyHostCount, Maximum) in {window}.",
                first_check="the target group's health check reasons (aws elbv2 describe-target-health) "
                "and the failing instance's application log.",
                metric=web.metric_unhealthy_hosts(slug),
                thresholds=t.unhealthy_hosts,
                comparison=ABOVE,
                # The share alarm below breaches when the group reports nothing; one alarm for it is enough.
                missing_data=QUIET,
                subject=subject,
                group=_group_id(slug),
                evaluation_periods=n,
                datapoints_to_alarm=m,
            ),
            AlarmSpec(
                runbook="unhealthy-host-share",
                summary=f"A large share of target group {slug} is unhealthy (or it reports no target) in {window}: "
                "the healthy rest carries all traffic and may fall next.",
                first_check="describe-target-health of the group, the last deployment, and the Elastic Beanstalk "
                "environment's health causes.",
                metric=web.metric_unhealthy_host_share(slug),
                thresholds=t.unhealthy_host_percent,
                comparison=ABOVE,
                missing_data=BLIND,
                subject=subject,
                group=_group_id(slug),
                evaluation_periods=n,
                datapoints_to_alarm=m,
            ),
        ]
    health = web.metric_environment_health()
    if health is not None:
        specs.append(
            AlarmSpec(
                runbook="environment-health",
                summary=f"Elastic Beanstalk rates environment {web.environment_name} at or above the threshold "
                f"(20 Degraded, 25 Severe) in {window}, or it stopped publishing EnvironmentHealth.",
                first_check="eb health / the environment's Health page: the causes Elastic Beanstalk lists.",
                metric=health,
                thresholds=t.environment_health,
                comparison=ABOVE,
                missing_data=BLIND,
                evaluation_periods=n,
                datapoints_to_alarm=m,
            )
        )
    return specs
