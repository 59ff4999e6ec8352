"""Replay: re-reads failed stream batches from the stream and forwards them for verification.

When the forwarder gives up on a stream batch (retry limit or maximum record age), Lambda
puts only the batch's shard id and sequence-number range on the on-failure queue; the
records themselves stay in the stream for 24 hours after they were written. This function
(fed by that queue) reads the range again (GetShardIterator AT_SEQUENCE_NUMBER, then
GetRecords) and forwards the changes exactly as the forwarder does. A range that can no
longer be read (the records expired) goes to the verification DLQ with that reason: it is
recorded, never silently lost. A range that fails for another reason stays on the queue and
is retried; the queue's "replay window" alarm says how long the records have left.

The work is done by ``replaying.replay()``; this module is the Powertools shell around it.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from genba_shell import batch_shell
from genba_sync import NAMESPACE, ForwardRuntime, ForwardSettings
from replaying import replay

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

shell = batch_shell(EventType.SQS, namespace=NAMESPACE)
logger, metrics, tracer, processor = shell.logger, shell.metrics, shell.tracer, shell.processor


@dataclass(frozen=True, kw_only=True)
class Runtime(ForwardRuntime):
    """What an invocation works with: the forwarder's, and the streams client that re-reads a range."""

    streams: Any


@functools.cache
def deployed() -> Runtime:
    """The function's own clients and settings, made once per execution environment."""
    return Runtime(
        streams=boto3.client("dynamodbstreams"),
        sqs=boto3.client("sqs"),
        settings=ForwardSettings.from_environ(os.environ),
    )


@shell.entry
def handler(
    event: dict[str, Any], context: LambdaContext, runtime: Runtime | None = None
) -> PartialItemFailureResponse:
    run = runtime or deployed()

    def record_handler(record: SQSRecord) -> None:
        replayed = replay(
            json.loads(record.body),
            streams=run.streams,
            sqs=run.sqs,
            settings=run.settings,
            logger=logger,
            clock=run.clock,
            sleep=run.sleep,
        )
        shell.add_metrics(replayed.metrics)

    return shell.respond(event, record_handler, context)
