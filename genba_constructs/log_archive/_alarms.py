"""The alarms of one archived log group's delivery stream, as data (:class:`AlarmSpec`).

Their metrics are built by hand (``genba_constructs._firehose.delivery_metric``): each stream
is an L1 ``CfnDeliveryStream``, which has no ``metric_*`` methods. The L2 ``DeliveryStream``
has them, but it makes its own role, policy and encryption settings: moving to it would
change (and replace) the deployed streams, which a refactor must not.
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.alarms import AlarmSpec, Thresholds


def stream_alarm_specs(
    subject: str,
    *,
    data_freshness: cloudwatch.IMetric,
    delivery_success: cloudwatch.IMetric,
    freshness_seconds: Thresholds,
) -> list[AlarmSpec]:
    """Log lines of ``subject`` wait too long in Firehose; Firehose fails to deliver them."""
    return [
        AlarmSpec(
            runbook="firehose-freshness",
            summary=f"Log lines of {subject} wait too long (seconds) in Firehose before reaching the archive bucket.",
            first_check="the delivery error log group of the archive and the DeliveryToS3.Success metric.",
            metric=data_freshness,
            thresholds=freshness_seconds,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data point means nothing was put: the log-silence alarm watches that.
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        ),
        AlarmSpec(
            runbook="firehose-delivery",
            summary=f"Firehose failed to deliver log lines of {subject} to the archive bucket.",
            first_check="the delivery error log group of the archive (KMS or bucket policy denials) "
            "and objects under the errors/ prefix.",
            metric=delivery_success,
            thresholds=Thresholds(critical=1),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=3,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        ),
    ]
