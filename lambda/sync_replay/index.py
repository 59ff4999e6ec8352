"""Replay: re-reads failed stream batches from the stream and forwards them for verification.

When the forwarder gives up on a stream batch (retry limit or maximum record age), Lambda
puts only the batch's shard id and sequence-number range on the on-failure queue; the
records themselves stay in the stream for 24 hours after they were written. This function
(fed by that queue) reads the range again (GetShardIterator AT_SEQUENCE_NUMBER, then
GetRecords) to its end sequence number, within a deadline inside the function's timeout, and
forwards the changes exactly as the forwarder does. A range that can no longer be read
(trimmed, stream or shard gone) goes to the verification DLQ with that reason: it is
recorded, never silently lost. A range not finished in time stays on the queue (a batch item
failure) and is retried; on its last receive, or when its records are about to expire, it goes
to the DLQ with its reason. Each invocation publishes the age of the oldest range it still
owes (0 when none), which the "replay window" alarm reads: SQS's own
ApproximateAgeOfOldestMessage drops a message received three times or more.

The work is done by ``replaying.replay_batch()`` (one ``replaying.replay()`` per range); this module
is the Powertools shell around it (``genba_shell.batch_shell``, like the forwarder and verifier).
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from genba_shell import batch_shell
from genba_sync import NAMESPACE, ForwardSettings
from replaying import ReplayRuntime, max_receives_from, replay_batch

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

shell = batch_shell(EventType.SQS, namespace=NAMESPACE)
logger, metrics, tracer, processor = shell.logger, shell.metrics, shell.tracer, shell.processor
# Time kept back from the function's timeout for forwarding what was read and reporting.
RESERVE_FRACTION = 0.4


class RangeRetried(RuntimeError):
    """The range was not finished this time: a batch item failure, so SQS delivers it again."""


#: What an invocation works with: the deployed clients and settings, or the simulator's.
Runtime = ReplayRuntime


@functools.cache
def deployed() -> Runtime:
    """The function's own clients and settings, made once per execution environment."""
    return Runtime(
        streams=boto3.client("dynamodbstreams"),
        sqs=boto3.client("sqs"),
        settings=ForwardSettings.from_environ(os.environ),
        max_receives=max_receives_from(os.environ),
    )


@shell.entry
def handler(
    event: dict[str, Any], context: LambdaContext, runtime: Runtime | None = None
) -> PartialItemFailureResponse:
    run = runtime or deployed()
    deadline = run.clock() + context.get_remaining_time_in_millis() / 1000 * (1 - RESERVE_FRACTION)
    result = replay_batch(event.get("Records") or [], run, logger=logger, deadline=deadline)
    shell.add_metrics(result.metrics)

    def record_handler(record: SQSRecord) -> None:
        if record.message_id in result.keep:
            raise RangeRetried("stream range not finished; it is retried")

    return shell.respond(event, record_handler, context)
