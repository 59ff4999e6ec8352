"""Replay's pure core: read one on-failure range from the stream again and forward its changes.

Takes its clients, settings and clock as arguments (the handler passes the deployed ones, the
local simulator its own), so the same code runs in Lambda and against moto.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from genba_sync import METRICS, ForwardSettings, forward, send_to_dlq

EXPIRED_ERRORS = frozenset({"TrimmedDataAccessException", "ExpiredIteratorException", "ResourceNotFoundException"})
MAX_GET_RECORDS_CALLS = 200


class RangeExpired(Exception):
    """The range's records are no longer in the stream."""


@dataclass
class Replayed:
    """What replaying one range did: changes forwarded, and the metric values to publish."""

    forwarded: int = 0
    metrics: list[tuple[str, MetricUnit, float]] = field(default_factory=list)


def read_range(streams: Any, info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stream records of one on-failure range (DDBStreamBatchInfo), in order."""
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


def replay(
    body: Mapping[str, Any],
    *,
    streams: Any,
    sqs: Any,
    settings: ForwardSettings,
    logger: Logger,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Replayed:
    """Replay one on-failure message. Raises (the message stays on the queue) when a change was not forwarded."""
    info = body["DDBStreamBatchInfo"]
    correlation = f"{info['shardId']}@{info['startSequenceNumber']}-{info['endSequenceNumber']}"
    logger.append_keys(correlation_id=correlation)
    first_arrival = info.get("approximateArrivalOfFirstRecord")
    try:
        records = read_range(streams, info)
    except RangeExpired as expired:
        reason = f"stream records expired before replay ({correlation}, first written {first_arrival}): {expired}"
        items = [(correlation, json.dumps(body), reason)]
        not_sent, _ = send_to_dlq(sqs, settings.dlq_url, items, source="replay", sleep=sleep)
        if not_sent:
            raise RuntimeError("expired range could not be recorded in the DLQ") from expired
        logger.error("stream range expired before replay", extra={"reason": reason})
        return Replayed(metrics=[(METRICS["replay_expired"], MetricUnit.Count, 1)])
    result = forward(
        records,
        sqs=sqs,
        settings=settings,
        source="replay",
        clock=clock,
        sleep=sleep,
        log=lambda message, extra: logger.warning(message, extra=extra),
    )
    if result.failed:
        raise RuntimeError(f"{len(result.failed)} replayed changes not forwarded; the range is retried")
    logger.info(
        "stream range replayed",
        extra={
            "records": len(records),
            "forwarded": result.sent,
            "malformed": result.malformed,
            "age_seconds": _age(first_arrival, clock()),
        },
    )
    return Replayed(forwarded=result.sent, metrics=[(METRICS["replayed"], MetricUnit.Count, result.sent)])


def _age(timestamp: Any, now: float) -> float | None:
    if not isinstance(timestamp, str):
        return None
    try:
        return round(now - datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp(), 1)
    except ValueError:
        return None
