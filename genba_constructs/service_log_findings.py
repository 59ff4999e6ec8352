"""The "sensitive data in the logs" alarm: the data protection policy found something.

A ServiceLogGroup masks sensitive data with its data protection policy and delivers the audit
findings to S3 only; nobody reads them there. CloudWatch Logs also publishes the vended metric
``AWS/Logs`` ``LogEventsWithFindings`` (free) for each log group whose policy finds data
("Help protect sensitive log data with masking", CloudWatch Logs User Guide: "You can use this
metric to create CloudWatch alarms").

Its dimension set: the metrics page documents ``LogGroupName``; the metric as published in
accounts also carries ``DataProtectionOperation`` (``Audit``) and ``PolicyName``. An alarm must
match the full set of a metric's dimensions, so the alarm adds all three spellings, each
zero-filled: whichever CloudWatch publishes, a finding counts (a finding counted twice still
only says "more than zero").
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.alarms import AlarmSpec, Thresholds

RUNBOOK = "log-data-protection"


def log_events_with_findings_metric(
    log_group_name: str, policy_name: str, *, period: Duration = Duration.minutes(5)
) -> cloudwatch.MathExpression:
    """Log events of ``log_group_name`` with findings, under each dimension set CloudWatch may publish."""

    def metric(**dimensions: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Logs",
            metric_name="LogEventsWithFindings",
            dimensions_map={"LogGroupName": log_group_name, **dimensions},
            statistic="Sum",
            period=period,
        )

    return cloudwatch.MathExpression(
        expression="FILL(group, 0) + FILL(audit, 0) + FILL(policy, 0)",
        using_metrics={
            "group": metric(),
            "audit": metric(DataProtectionOperation="Audit"),
            "policy": metric(DataProtectionOperation="Audit", PolicyName=policy_name),
        },
        label="log events with sensitive data found",
        period=period,
    )


def data_protection_spec(log_group_name: str, policy_name: str) -> AlarmSpec:
    """A warning when the data protection policy of ``log_group_name`` finds sensitive data in any 5 minutes.

    Warning, not critical: the data is masked for everyone without ``logs:Unmask``; the leak is a
    defect in the code that logs it, to fix (and to report, where the law asks) in working hours.
    """
    return AlarmSpec(
        runbook=RUNBOOK,
        summary=f"The data protection policy {policy_name} found sensitive data (masked) in log events of "
        f"{log_group_name}: some code logs personal data or secrets.",
        first_check="the audit findings in the log archive (data identifier and position per event), then the "
        "code path that logged it.",
        metric=log_events_with_findings_metric(log_group_name, policy_name),
        thresholds=Thresholds(warning=0),
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
