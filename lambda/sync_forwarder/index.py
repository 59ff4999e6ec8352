"""Forwarder: DynamoDB stream -> one verification message per change on the verification queue.

Runs on the source table's stream (TRIM_HORIZON, bisect on error, finite retries, partial
batch responses). Messages go out 10 per SendMessageBatch, delayed by the grace period the
sync normally needs. A change whose message could not be sent is reported as a batch item
failure, so Lambda retries it (and, after the retry limit, its range reaches the on-failure
queue, from which the replay function re-reads it). Malformed records go to the verification
DLQ with their reason and never block the rest of the batch.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from genba_logging import get_logger
from genba_sync import METRICS, NAMESPACE, forward, forward_settings

logger = get_logger()
metrics = Metrics(namespace=NAMESPACE)
clients: dict[str, Any] = {}


def client(name: str) -> Any:
    if name not in clients:
        clients[name] = boto3.client(name)
    return clients[name]


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    result = forward(
        records,
        sqs=client("sqs"),
        source="forwarder",
        log=lambda message, extra: logger.warning(message, extra=extra),
        **forward_settings(os.environ),
    )
    metrics.add_metric(name=METRICS["forwarded"], unit=MetricUnit.Count, value=result.sent)
    logger.info(
        "stream batch forwarded",
        extra={
            "records": len(records),
            "sent": result.sent,
            "malformed": result.malformed,
            "failed": len(result.failed),
        },
    )

    def record_handler(record: Any) -> None:
        sequence = record.dynamodb.sequence_number if record.dynamodb else None
        if sequence in result.failed:
            raise RuntimeError(f"verification message for {sequence} not sent")

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
