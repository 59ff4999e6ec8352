"""Alarms on the hop between a log group and its Firehose stream: the subscription filter itself.

When a subscription breaks (the filter deleted, its role losing ``firehose:PutRecordBatch``, the
stream throttling), no record reaches Firehose: every Firehose metric is then *absent*, and
every Firehose alarm stays OK. Only CloudWatch Logs sees it. Per "Monitoring with CloudWatch
metrics" (CloudWatch Logs User Guide), ``AWS/Logs`` publishes ``ForwardedLogEvents``,
``DeliveryErrors`` and ``DeliveryThrottling`` with the dimensions ``LogGroupName``,
``DestinationType`` and ``FilterName`` (Sum, every minute), beside ``IncomingLogEvents`` with
``LogGroupName`` alone.

Two alarms per subscription:

* ``subscription-delivery`` (critical): fewer than half of the events the log group received
  were forwarded, in two 5-minute periods running. It catches every cause, a deleted filter
  included (which publishes no error at all). ``FILL(m, 0)`` makes "nothing forwarded" a real
  zero instead of missing data; a quiet log group (nothing received) gives 0, not an alarm
  (the log-silence alarm watches that). Only for a filter that forwards every event.
* ``subscription-errors`` (warning): CloudWatch Logs got errors or throttling from the
  destination: it says *why* events are not forwarded, and shows a partial failure.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.alarms import AlarmSpec, Thresholds
from genba_constructs.log_silence import incoming_log_events_metric

DELIVERY = "subscription-delivery"
ERRORS = "subscription-errors"
# The DestinationType value CloudWatch Logs publishes for a Firehose destination.
FIREHOSE_DESTINATION = "Firehose"
_PERIOD = Duration.minutes(5)


def subscription_metric(
    metric_name: str,
    *,
    log_group_name: str,
    filter_name: str,
    destination_type: str = FIREHOSE_DESTINATION,
    period: Duration = _PERIOD,
) -> cloudwatch.Metric:
    """``AWS/Logs`` ``ForwardedLogEvents``, ``DeliveryErrors`` or ``DeliveryThrottling`` of one subscription filter."""
    return cloudwatch.Metric(
        namespace="AWS/Logs",
        metric_name=metric_name,
        dimensions_map={"LogGroupName": log_group_name, "DestinationType": destination_type, "FilterName": filter_name},
        statistic="Sum",
        period=period,
    )


def subscription_alarm_specs(
    *,
    log_group_name: str,
    filter_name: str,
    destination: str,
    forwards_every_event: bool = True,
    subject: str | None = None,
    group: str | None = None,
) -> list[AlarmSpec]:
    """The alarms of one subscription filter of ``log_group_name`` into a Firehose stream.

    :param destination: what the stream feeds, for the alarm's summary (``the log archive``).
    :param forwards_every_event: the filter pattern matches every event (then forwarded must
        equal received). Default: True. False: only the errors alarm is made.
    :param subject: the subject of the alarm names. Default: the one given to ``create_all``.
    :param group: id of the child construct the alarms go under. Default: none.
    """

    def metric(name: str) -> cloudwatch.Metric:
        return subscription_metric(name, log_group_name=log_group_name, filter_name=filter_name)

    specs = []
    if forwards_every_event:
        incoming = incoming_log_events_metric(log_group_name, period=_PERIOD)
        forwarded = metric("ForwardedLogEvents")
        specs.append(
            AlarmSpec(
                runbook=DELIVERY,
                summary=f"Fewer than half of the events log group {log_group_name} received were forwarded by its "
                f"subscription filter {filter_name} to {destination}: logs stop reaching it.",
                first_check=f"aws logs describe-subscription-filters --log-group-name {log_group_name} (is the "
                "filter there?), then the DeliveryErrors and DeliveryThrottling metrics of the filter.",
                metric=cloudwatch.MathExpression(
                    expression="FILL(incoming, 0) - FILL(forwarded, 0) > 0.5 * FILL(incoming, 0)",
                    using_metrics={"incoming": incoming, "forwarded": forwarded},
                    label="1: under half of the events received were forwarded",
                    period=_PERIOD,
                ),
                thresholds=Thresholds(critical=1),
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                # Nothing received is the log-silence alarm's case, not this one.
                missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                evaluation_periods=2,
                subject=subject,
                group=group,
            )
        )
    specs.append(
        AlarmSpec(
            runbook=ERRORS,
            summary=f"CloudWatch Logs got errors or throttling forwarding log group {log_group_name} "
            f"(filter {filter_name}) to {destination}.",
            first_check="the subscription role's policy (firehose:PutRecordBatch on the stream) and the "
            "stream's throughput quota.",
            metric=cloudwatch.MathExpression(
                expression="FILL(errors, 0) + FILL(throttled, 0)",
                using_metrics={
                    "errors": metric("DeliveryErrors"),
                    "throttled": metric("DeliveryThrottling"),
                },
                label="log events not delivered (errors + throttling)",
                period=_PERIOD,
            ),
            thresholds=Thresholds(warning=0),
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            subject=subject,
            group=group,
        )
    )
    return specs
