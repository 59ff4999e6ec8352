"""Forwarder: DynamoDB stream -> one verification message per change on the verification queue.

Runs on the source table's stream (TRIM_HORIZON, bisect on error, finite retries, partial
batch responses). Messages go out 10 per SendMessageBatch, delayed by the grace period the
sync normally needs. A change whose message could not be sent is reported as a batch item
failure, so Lambda retries it (and, after the retry limit, its range reaches the on-failure
queue, from which the replay function re-reads it). Malformed records go to the verification
DLQ with their reason, keys and sequence number (never their images: personal data) and never
block the rest of the batch.

The work is done by ``genba_sync.forward()``; this module is the Powertools shell around it.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from genba_shell import batch_shell
from genba_sync import METRICS, NAMESPACE, ForwardRuntime, ForwardSettings, forward

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

shell = batch_shell(EventType.DynamoDBStreams, namespace=NAMESPACE)
logger, metrics, tracer, processor = shell.logger, shell.metrics, shell.tracer, shell.processor


#: What an invocation works with: the deployed client and settings, or the simulator's.
Runtime = ForwardRuntime


@functools.cache
def deployed() -> Runtime:
    """The function's own client and settings, made once per execution environment."""
    return Runtime(sqs=boto3.client("sqs"), settings=ForwardSettings.from_environ(os.environ))


class NotForwarded(RuntimeError):
    """The change's verification message could not be sent: Lambda delivers the change again."""


@shell.entry
def handler(
    event: dict[str, Any], context: LambdaContext, runtime: Runtime | None = None
) -> PartialItemFailureResponse:
    run = runtime or deployed()
    records = event.get("Records") or []
    result = forward(
        records,
        sqs=run.sqs,
        settings=run.settings,
        source="forwarder",
        clock=run.clock,
        sleep=run.sleep,
        log=lambda message, extra: logger.warning(message, extra=extra),
    )
    metrics.add_metric(name=METRICS["forwarded"], unit=MetricUnit.Count, value=result.sent)
    # Records reported as batch item failures (Lambda retries them): Lambda's Errors never counts them.
    metrics.add_metric(name=METRICS["not_forwarded"], unit=MetricUnit.Count, value=len(result.failed))
    metrics.add_metric(name=METRICS["source_changes"], unit=MetricUnit.Count, value=result.changes)
    logger.info(
        "stream batch forwarded",
        extra={
            "records": len(records),
            "sent": result.sent,
            "malformed": result.malformed,
            "failed": len(result.failed),
        },
    )

    def record_handler(record: DynamoDBRecord) -> None:
        sequence = record.dynamodb.sequence_number if record.dynamodb else None
        if sequence in result.failed:
            raise NotForwarded(f"verification message for {sequence} not sent")

    return shell.respond(event, record_handler, context)
