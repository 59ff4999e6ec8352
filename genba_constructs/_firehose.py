"""Firehose pieces shared by the archive and the search ingestion."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesisfirehose as firehose

FIREHOSE_NAMESPACE = "AWS/Firehose"


def _processor(kind: str, name: str, value: str) -> firehose.CfnDeliveryStream.ProcessorProperty:
    return firehose.CfnDeliveryStream.ProcessorProperty(
        type=kind,
        parameters=[firehose.CfnDeliveryStream.ProcessorParameterProperty(parameter_name=name, parameter_value=value)],
    )


def cloudwatch_logs_processing(
    *, one_line_per_event: bool
) -> firehose.CfnDeliveryStream.ProcessingConfigurationProperty:
    """Unpack CloudWatch Logs subscription records: gunzip, keep each event's message only.

    :param one_line_per_event: end every message with a newline (JSON lines, as Athena's JSON
        SerDe reads them); OpenSearch takes one document per record and needs none.
    """
    processors = [
        _processor("Decompression", "CompressionFormat", "GZIP"),
        _processor("CloudWatchLogProcessing", "DataMessageExtraction", "true"),
    ]
    if one_line_per_event:
        processors.append(_processor("AppendDelimiterToRecord", "Delimiter", "\\n"))
    return firehose.CfnDeliveryStream.ProcessingConfigurationProperty(enabled=True, processors=processors)


def delivery_metric(
    delivery_stream: firehose.CfnDeliveryStream, metric_name: str, *, statistic: str, period: Duration
) -> cloudwatch.Metric:
    """A metric of the delivery stream as Firehose publishes it (``AWS/Firehose``, ``DeliveryStreamName``).

    Built by hand: the streams are L1s (``CfnDeliveryStream``), which have no ``metric_*`` methods.
    """
    return cloudwatch.Metric(
        namespace=FIREHOSE_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"DeliveryStreamName": delivery_stream.ref},
        statistic=statistic,
        period=period,
    )
