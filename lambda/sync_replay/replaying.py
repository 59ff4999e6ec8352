"""Replay's pure core: read one on-failure range from the stream again and forward its changes.

Takes its clients, settings and clock (a ``ReplayRuntime``) and deadline as arguments (the handler
passes the deployed ones, the local simulator its own), so the same code runs in Lambda and against moto.

A range is read to its end sequence number (or to the shard's end, NextShardIterator null),
never to a page count: GetRecords may return an empty page while records remain further in
the shard. The read is bounded by time (a deadline inside the function's timeout). A range
that is not finished by then is retried (the message stays on the queue); on its last receive,
or when its records are about to expire, it goes to the verification DLQ with its reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from genba_sync import ENV, METRICS, ForwardResult, ForwardSettings, describe_error, forward, json_summary, send_to_dlq

# Why a range can never be read again, by error code (GetShardIterator / GetRecords).
GONE_REASONS = {
    "TrimmedDataAccessException": "stream records expired before replay (trimmed: older than the 24 h retention)",
    "ResourceNotFoundException": "stream range cannot be replayed: the stream or shard no longer exists "
    "(stream disabled, table deleted, or the shard trimmed)",
}
THROTTLED = frozenset({"LimitExceededException", "ThrottlingException", "ProvisionedThroughputExceededException"})
STREAM_RETENTION_SECONDS = 24 * 3600
# A range whose first record is this close to the stream's retention is set aside with its reason
# instead of retried: the next retry (a visibility timeout later) would find it trimmed.
EXPIRY_MARGIN_SECONDS = 30 * 60
ITERATOR_RENEWALS = 3
EMPTY_PAGES_BEFORE_PAUSE = 3
PAUSE_SECONDS = 0.2
# What Lambda's on-failure record for a stream source holds (Lambda Developer Guide, "Retaining
# records of asynchronous invocations" / stream on-failure destinations): range metadata only.
ON_FAILURE_FIELDS = ("version", "timestamp", "requestContext", "responseContext", "DDBStreamBatchInfo")
RANGE_FIELDS = ("shardId", "startSequenceNumber", "endSequenceNumber", "streamArn")


def max_receives_from(environ: Mapping[str, str]) -> int | None:
    """The stream failure queue's maxReceiveCount, as the construct sets it (None: unknown)."""
    value = environ.get(ENV["replay_max_receives"])
    return int(value) if value else None


class RangeGone(Exception):
    """The range's records can no longer be read: recorded in the DLQ with this reason."""


class RangeUnfinished(Exception):
    """The range was not read to its end this time (deadline, throttling): it is retried."""


@dataclass
class Replayed:
    """What replaying one range did: changes forwarded, and the metric values to publish."""

    forwarded: int = 0
    finished: bool = True
    metrics: list[tuple[str, MetricUnit, float]] = field(default_factory=list)


@dataclass
class RangeRead:
    """The records of a range read so far, and how the read ended."""

    records: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0
    empty_pages: int = 0
    shard_closed: bool = False


def _code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None


def read_range(
    streams: Any,
    info: Mapping[str, Any],
    *,
    deadline: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    into: RangeRead | None = None,
) -> RangeRead:
    """The stream records of one on-failure range (DDBStreamBatchInfo), in order, read to its end.

    Raises RangeGone (trimmed, stream or shard gone) or RangeUnfinished (deadline reached,
    iterator renewals spent); ``into`` keeps what was read before the exception.
    """
    read = into if into is not None else RangeRead()
    first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    position: dict[str, str] = {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": str(first)}
    renewals = 0
    throttled = 0
    iterator: str | None = None
    while True:
        if clock() >= deadline:
            raise RangeUnfinished(
                f"deadline reached after {read.pages} GetRecords pages ({read.empty_pages} empty), "
                f"{len(read.records)} of {info.get('batchSize', '?')} records read"
            )
        try:
            if iterator is None:
                iterator = streams.get_shard_iterator(StreamArn=info["streamArn"], ShardId=info["shardId"], **position)[
                    "ShardIterator"
                ]
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
        except Exception as error:
            code = _code(error)
            if code in GONE_REASONS:
                raise RangeGone(f"{GONE_REASONS[code]}: {code}") from error
            if code == "ExpiredIteratorException" and renewals < ITERATOR_RENEWALS:
                renewals += 1  # an iterator lives 15 minutes: ask again from where the read is
                iterator = None
                continue
            if code == "ExpiredIteratorException":
                raise RangeUnfinished(f"ExpiredIteratorException {renewals + 1} times in one read") from error
            if code in THROTTLED:
                throttled += 1
                sleep(min(2.0, 0.1 * 2**throttled))
                continue
            raise
        read.pages += 1
        batch = response.get("Records") or []
        if batch:
            read.records += [r for r in batch if first <= int(r["dynamodb"]["SequenceNumber"]) <= last]
            newest = batch[-1]["dynamodb"]["SequenceNumber"]
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": newest}
            if int(newest) >= last:
                return read
        else:
            read.empty_pages += 1
            if read.empty_pages % EMPTY_PAGES_BEFORE_PAUSE == 0:
                sleep(PAUSE_SECONDS)  # GetRecords allows 5 calls a second per shard, shared with the mapping
        iterator = response.get("NextShardIterator")
        if not iterator:
            read.shard_closed = True  # a closed shard read to its end: nothing of the range is left
            return read


def arrival(body: Mapping[str, Any], sent_timestamp: float | None) -> float | None:
    """When the range's first record reached the stream (epoch seconds), else when its message was sent."""
    info = body.get("DDBStreamBatchInfo") if isinstance(body, Mapping) else None
    stamp = info.get("approximateArrivalOfFirstRecord") if isinstance(info, Mapping) else None
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return sent_timestamp


@dataclass(frozen=True)
class ReplayRuntime:
    """What an invocation works with: the deployed clients and settings, or the simulator's."""

    streams: Any
    sqs: Any
    settings: ForwardSettings
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    #: the stream failure queue's maxReceiveCount: on that receive an unfinished range goes to the DLQ.
    max_receives: int | None = None


def replay(
    body: Mapping[str, Any],
    run: ReplayRuntime,
    *,
    logger: Logger,
    deadline: float | None = None,
    receive_count: int = 1,
    sent_timestamp: float | None = None,
) -> Replayed:
    """Replay one on-failure message.

    Returns ``finished=False`` (the caller reports a batch item failure, the message is retried)
    when the range was not read to its end or a change was not forwarded; sets the range aside
    in the DLQ with its reason when it can never be read, or will not be in time.
    """
    streams, sqs, settings, clock, sleep = run.streams, run.sqs, run.settings, run.clock, run.sleep
    max_receives = run.max_receives
    info = body["DDBStreamBatchInfo"]
    correlation = f"{info['shardId']}@{info['startSequenceNumber']}-{info['endSequenceNumber']}"
    logger.append_keys(correlation_id=correlation)
    log = lambda message, extra: logger.warning(message, extra=extra)  # noqa: E731
    first_arrival = info.get("approximateArrivalOfFirstRecord")
    now = clock()
    read = RangeRead()

    def forward_read() -> ForwardResult:
        """Forward what was read, as the forwarder does (idempotent: a retry forwards it again)."""
        return forward(read.records, sqs=sqs, settings=settings, source="replay", clock=clock, sleep=sleep, log=log)

    try:
        read_range(
            streams, info, deadline=deadline if deadline is not None else now + 60, clock=clock, sleep=sleep, into=read
        )
    except RangeGone as gone:
        # What was read before the stream said no is forwarded; the range is recorded whole.
        forward_read()
        return _set_aside(body, sqs, settings, logger, sleep, correlation, str(gone))
    except RangeUnfinished as unfinished:
        # Forward what was read, then retry or set aside.
        forward_read()
        born = arrival(body, sent_timestamp)
        expiring = born is not None and clock() - born > STREAM_RETENTION_SECONDS - EXPIRY_MARGIN_SECONDS
        last_receive = max_receives is not None and receive_count >= max_receives
        if expiring or last_receive:
            why = "its records expire within 30 minutes" if expiring else f"receive {receive_count} of {max_receives}"
            return _set_aside(
                body, sqs, settings, logger, sleep, correlation, f"stream range not finished and {why}: {unfinished}"
            )
        logger.warning("stream range not finished; it is retried", extra={"reason": str(unfinished)})
        return Replayed(finished=False, metrics=[(METRICS["replay_failed"], MetricUnit.Count, 1)])
    result = forward_read()
    if result.failed:
        logger.warning("replayed changes not forwarded; the range is retried", extra={"failed": len(result.failed)})
        return Replayed(
            forwarded=result.sent, finished=False, metrics=[(METRICS["replay_failed"], MetricUnit.Count, 1)]
        )
    logger.info(
        "stream range replayed",
        extra={
            "records": len(read.records),
            "batch_size": info.get("batchSize"),
            "pages": read.pages,
            "empty_pages": read.empty_pages,
            "shard_closed": read.shard_closed,
            "forwarded": result.sent,
            "malformed": result.malformed,
            "age_seconds": _age(first_arrival, clock()),
        },
    )
    return Replayed(forwarded=result.sent, metrics=[(METRICS["replayed"], MetricUnit.Count, result.sent)])


def _set_aside(
    body: Mapping[str, Any],
    sqs: Any,
    settings: ForwardSettings,
    logger: Logger,
    sleep: Callable[[float], None],
    correlation: str,
    reason: str,
) -> Replayed:
    """The range in the verification DLQ with its reason; if even that fails, it stays on its queue."""
    first_arrival = body["DDBStreamBatchInfo"].get("approximateArrivalOfFirstRecord")
    reason = f"{reason} ({correlation}, first written {first_arrival})"
    not_sent, _ = send_to_dlq(
        sqs, settings.dlq_url, [(correlation, json.dumps(body), reason)], source="replay", sleep=sleep
    )
    if not_sent:
        logger.error("stream range could not be recorded in the DLQ; it is retried", extra={"reason": reason})
        return Replayed(finished=False, metrics=[(METRICS["replay_failed"], MetricUnit.Count, 1)])
    logger.error("stream range set aside in the DLQ", extra={"reason": reason})
    return Replayed(metrics=[(METRICS["replay_expired"], MetricUnit.Count, 1)])


def _age(timestamp: Any, now: float) -> float | None:
    if not isinstance(timestamp, str):
        return None
    try:
        return round(now - datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp(), 1)
    except ValueError:
        return None


@dataclass
class ReplayBatch:
    """What replaying one SQS batch of on-failure records decided: messages to keep, metrics to publish."""

    keep: set[str] = field(default_factory=set)
    metrics: list[tuple[str, MetricUnit, float]] = field(default_factory=list)


def on_failure_body(text: Any) -> dict[str, Any]:
    """An on-failure record's body, checked to name a stream range; MalformedOnFailure otherwise."""
    try:
        body = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        body = None
    info = body.get("DDBStreamBatchInfo") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        raise MalformedOnFailure("the message is not a Lambda on-failure record (no DDBStreamBatchInfo object)")
    missing = [name for name in RANGE_FIELDS if not isinstance(info.get(name), str)]
    if missing or not all(str(info.get(n, "")).isdigit() for n in ("startSequenceNumber", "endSequenceNumber")):
        raise MalformedOnFailure(f"DDBStreamBatchInfo lacks a valid {', '.join(missing) or 'sequence number'}")
    assert isinstance(body, dict)
    return body


class MalformedOnFailure(ValueError):
    """A message on the stream failure queue that names no stream range: set aside with this reason."""


def replay_batch(
    messages: Sequence[Mapping[str, Any]], run: ReplayRuntime, *, logger: Logger, deadline: float
) -> ReplayBatch:
    """Replay each SQS record (Lambda's SQS event shape) of on-failure records, within ``deadline``.

    Also publishes the age of the oldest range still owed (0: none), every invocation, so the
    replay-window alarm never reads a stale age.
    """
    batch = ReplayBatch()
    owed: list[float] = []
    malformed: list[tuple[str, str, str]] = []
    for record in messages:
        message_id = str(record.get("messageId"))
        attributes = record.get("attributes") or {}
        sent = attributes.get("SentTimestamp")
        sent_at = int(sent) / 1000 if sent else None
        try:
            body = on_failure_body(record.get("body"))
        except MalformedOnFailure as problem:
            summary = json_summary(record.get("body"), ON_FAILURE_FIELDS)
            malformed.append((message_id, summary, f"malformed on-failure record: {problem}"))
            logger.error("malformed on-failure record", extra={"correlation_id": message_id, "reason": str(problem)})
            continue
        try:
            replayed = replay(
                body,
                run,
                logger=logger,
                deadline=deadline,
                receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
                sent_timestamp=sent_at,
            )
        except Exception as error:  # unexpected (an AWS error replay does not know): retried, never lost
            logger.warning("stream range replay failed; it is retried", extra={"error": describe_error(error)})
            replayed = Replayed(finished=False, metrics=[(METRICS["replay_failed"], MetricUnit.Count, 1)])
        finally:
            logger.remove_keys(["correlation_id"])
        batch.metrics += replayed.metrics
        if not replayed.finished:
            batch.keep.add(message_id)
            born = arrival(body, sent_at)
            owed.append(max(0.0, run.clock() - born) if born is not None else 0.0)
    if malformed:
        not_sent, _ = send_to_dlq(run.sqs, run.settings.dlq_url, malformed, source="replay", sleep=run.sleep)
        batch.keep |= not_sent
        batch.metrics.append((METRICS["replay_expired"], MetricUnit.Count, len(malformed) - len(not_sent)))
    batch.metrics.append((METRICS["replay_owed_age"], MetricUnit.Seconds, max(owed, default=0.0)))
    return batch
