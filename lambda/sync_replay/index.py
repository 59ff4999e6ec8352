"""Replay: re-reads failed stream batches from the stream and forwards them for verification.

When the forwarder gives up on a stream batch (retry limit or maximum record age), Lambda
puts only the batch's shard id and sequence-number range on the on-failure queue; the
records themselves stay in the stream for 24 hours after they were written. This function
(fed by that queue) reads the range again (GetShardIterator AT_SEQUENCE_NUMBER, then
GetRecords) and forwards the changes exactly as the forwarder does. A range that can no
longer be read (the records expired) goes to the verification DLQ with that reason: it is
recorded, never silently lost. A range that fails for another reason stays on the queue and
is retried; the queue's "replay window" alarm says how long the records have left.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

import boto3
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from genba_logging import get_logger
from genba_sync import METRICS, NAMESPACE, forward, forward_settings, send_to_dlq

logger = get_logger()
metrics = Metrics(namespace=NAMESPACE)
clients: dict[str, Any] = {}
EXPIRED_ERRORS = frozenset({"TrimmedDataAccessException", "ExpiredIteratorException", "ResourceNotFoundException"})
MAX_GET_RECORDS_CALLS = 200


def client(name: str) -> Any:
    if name not in clients:
        clients[name] = boto3.client(name)
    return clients[name]


class RangeExpired(Exception):
    """The range's records are no longer in the stream."""


def read_range(info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stream records of one on-failure range (DDBStreamBatchInfo), in order."""
    streams = client("dynamodbstreams")
    first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        for _ in range(MAX_GET_RECORDS_CALLS):
            if not iterator:
                break
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            batch = response.get("Records") or []
            records += [r for r in batch if first <= int(r["dynamodb"]["SequenceNumber"]) <= last]
            if not batch or int(batch[-1]["dynamodb"]["SequenceNumber"]) >= last:
                break
            iterator = response.get("NextShardIterator")
        return records
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if code in EXPIRED_ERRORS:
            raise RangeExpired(f"{code}: {error}") from error
        raise


def replay(body: Mapping[str, Any]) -> int:
    """Replay one on-failure message; returns the number of changes forwarded."""
    info = body["DDBStreamBatchInfo"]
    correlation = f"{info['shardId']}@{info['startSequenceNumber']}-{info['endSequenceNumber']}"
    logger.append_keys(correlation_id=correlation)
    first_arrival = info.get("approximateArrivalOfFirstRecord")
    try:
        records = read_range(info)
    except RangeExpired as expired:
        reason = f"stream records expired before replay ({correlation}, first written {first_arrival}): {expired}"
        dlq_url = forward_settings(os.environ)["dlq_url"]
        not_sent, _ = send_to_dlq(client("sqs"), dlq_url, [(correlation, json.dumps(body), reason)], source="replay")
        if not_sent:
            raise RuntimeError("expired range could not be recorded in the DLQ") from expired
        metrics.add_metric(name=METRICS["replay_expired"], unit=MetricUnit.Count, value=1)
        logger.error("stream range expired before replay", extra={"reason": reason})
        return 0
    result = forward(
        records,
        sqs=client("sqs"),
        source="replay",
        log=lambda message, extra: logger.warning(message, extra=extra),
        **forward_settings(os.environ),
    )
    if result.failed:
        raise RuntimeError(f"{len(result.failed)} replayed changes not forwarded; the range is retried")
    metrics.add_metric(name=METRICS["replayed"], unit=MetricUnit.Count, value=result.sent)
    logger.info(
        "stream range replayed",
        extra={
            "records": len(records),
            "forwarded": result.sent,
            "malformed": result.malformed,
            "age_seconds": _age(first_arrival),
        },
    )
    return result.sent


def _age(timestamp: Any) -> float | None:
    if not isinstance(timestamp, str):
        return None
    from datetime import datetime

    try:
        return round(time.time() - datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp(), 1)
    except ValueError:
        return None


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def record_handler(record: Any) -> None:
        replay(json.loads(record.body))

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
