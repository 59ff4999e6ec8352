"""The replay function against moto server, fed the Lambda on-failure record as AWS writes it.

Each test writes real changes to a moto table, reads its stream, puts the on-failure record of a
range on the stream failure queue and runs the replay handler as the SQS event source mapping
would (tools/sim/pipeline.py). What must hold: every change of the range is forwarded, or the
range stays on its queue, or it is in the DLQ with its reason; never deleted unfinished.

moto deviations, corrected here by a wrapping streams client (``Shard``):
- moto's GetRecords never returns an empty page while records remain (DynamoDB Streams may:
  "GetRecords can return an empty list of records even when more records exist"): ``empty``
  pages are injected.
- moto ignores nothing of ``Limit`` but never closes a shard (``NextShardIterator`` is always
  set): ``closed_after`` ends the shard.
- moto never trims records, never expires an iterator and never throttles: ``errors`` raises the
  codes AWS answers (TrimmedDataAccessException, ExpiredIteratorException,
  ResourceNotFoundException, LimitExceededException).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tools.sim import CountingClient, LossySyncWorker, Pipeline, client_error, moto_server

_names = iter(range(10_000))


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture()
def pipeline(moto: str) -> Pipeline:
    return Pipeline(name=f"r{next(_names)}")


def on_failure_record(pipeline: Pipeline, records: list[dict[str, Any]], *, first_written: float) -> dict[str, Any]:
    """The on-failure record Lambda sends for a stream batch (Lambda developer guide, stream
    on-failure destinations), with every field."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(first_written))
    return {
        "requestContext": {
            "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:ap-northeast-1:123456789012:function:genba-sync-forwarder",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 6,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": stamp,
        "DDBStreamBatchInfo": {
            "shardId": records[0]["_shard"],
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": stamp,
            "approximateArrivalOfLastRecord": stamp,
            "batchSize": len(records),
            "streamArn": pipeline.stream_arn,
        },
    }


def failed_range(pipeline: Pipeline, count: int, *, age_seconds: float = 3600) -> list[dict[str, Any]]:
    """``count`` real changes (plus one before and one after) whose middle range failed; returns the range."""
    for i in range(count + 2):
        pipeline.write(f"u-{i}", 1, name=f"user {i}")
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)
    middle = records[1:-1]
    body = on_failure_record(pipeline, middle, first_written=time.time() - age_seconds)
    pipeline.sqs.send_message(QueueUrl=pipeline.on_failure_url, MessageBody=json.dumps(body))
    return middle


class Shard:
    """moto's streams client with what AWS does and moto does not (see the module docstring)."""

    def __init__(
        self,
        real: Any,
        *,
        limit: int = 1000,
        empty: int = 0,
        closed_after: int | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        self.real = real
        self.limit = limit
        self.empty = empty  # empty pages before each real one
        self.closed_after = closed_after
        self.errors = errors or {}
        self.pages = 0
        self._empty_left = empty

    def get_shard_iterator(self, **kwargs: Any) -> Any:
        if self.errors.get("get_shard_iterator"):
            raise client_error(self.errors["get_shard_iterator"].pop(0), "GetShardIterator")
        return self.real.get_shard_iterator(**kwargs)

    def get_records(self, *, ShardIterator: str, Limit: int) -> Any:
        if self.errors.get("get_records"):
            raise client_error(self.errors["get_records"].pop(0), "GetRecords")
        self.pages += 1
        if self._empty_left:
            self._empty_left -= 1
            return {"Records": [], "NextShardIterator": ShardIterator}
        self._empty_left = self.empty
        response = self.real.get_records(ShardIterator=ShardIterator, Limit=min(Limit, self.limit))
        if self.closed_after is not None and self.pages >= self.closed_after:
            response.pop("NextShardIterator", None)
        return response


def replayed(pipeline: Pipeline) -> set[str]:
    pipeline.drain(wait_seconds=0)
    return set(pipeline.verified_sequences)


def sequences(records: list[dict[str, Any]]) -> set[str]:
    return {r["dynamodb"]["SequenceNumber"] for r in records}


# ---- read to the range's end ------------------------------------------------------------------


def test_the_on_failure_record_replays_exactly_its_range(pipeline: Pipeline) -> None:
    middle = failed_range(pipeline, 15)
    assert replayed(pipeline) == sequences(middle)
    assert pipeline.queue_depth(pipeline.on_failure_url) == 0
    assert pipeline.emitted.total("ChangesReplayed") == 15
    assert pipeline.emitted.total("ReplayOwedAgeSeconds") == 0  # published, and nothing owed


def test_a_range_over_hundreds_of_pages_and_empty_pages_is_read_to_its_end(pipeline: Pipeline) -> None:
    # One record a page with three empty pages before each: 240 pages, past the old cap of 200.
    shard = Shard(pipeline.replay_streams, limit=1, empty=3)
    pipeline.replay_streams = shard
    pipeline.replay_overrides = {"sleep": lambda seconds: None}
    middle = failed_range(pipeline, 60)
    assert replayed(pipeline) == sequences(middle)
    assert shard.pages >= 240
    assert pipeline.dlq_messages() == []


def test_empty_pages_at_the_start_of_a_range_do_not_end_it(pipeline: Pipeline) -> None:
    shard = Shard(pipeline.replay_streams, empty=5)
    pipeline.replay_streams = shard
    pipeline.replay_overrides = {"sleep": lambda seconds: None}
    middle = failed_range(pipeline, 10)
    assert replayed(pipeline) == sequences(middle)


def test_a_closed_shard_read_to_its_end_finishes_the_range(pipeline: Pipeline) -> None:
    pipeline.replay_streams = Shard(pipeline.replay_streams, limit=5, closed_after=2)
    failed_range(pipeline, 20)
    pipeline.run_replay_once()
    # The shard ended after two pages: what it held of the range is forwarded, the range is done.
    assert pipeline.queue_depth(pipeline.on_failure_url) == 0
    assert pipeline.emitted.total("ChangesReplayed") == 10  # two pages of 5 from the range's first record


# ---- unfinished ranges go back to the queue, or to the DLQ with their reason ---------------------


class Clock:
    """A clock that moves on by ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = time.time()
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_range_not_finished_by_the_deadline_stays_on_the_queue(pipeline: Pipeline) -> None:
    pipeline.replay_streams = Shard(pipeline.replay_streams, limit=1)
    pipeline.replay_overrides = {"clock": Clock(step=5.0)}  # the 36 s deadline passes after a few pages
    middle = failed_range(pipeline, 30)
    pipeline.run_replay_once()
    assert pipeline.queue_depth(pipeline.on_failure_url) == 1  # a batch item failure: not deleted
    assert pipeline.emitted.total("ReplayRangesFailed") == 1
    assert pipeline.emitted.total("ReplayOwedAgeSeconds") >= 3600  # from approximateArrivalOfFirstRecord
    assert pipeline.dlq_messages() == []
    pipeline.replay_streams, pipeline.replay_overrides = pipeline.base_clients["replay_streams"], {}
    pipeline.fast_forward()
    assert sequences(middle) <= replayed(pipeline)
    assert pipeline.queue_depth(pipeline.on_failure_url) == 0


def test_an_unfinished_range_on_its_last_receive_goes_to_the_dlq_with_its_reason(pipeline: Pipeline) -> None:
    pipeline.replay_streams = Shard(pipeline.replay_streams, limit=1)
    pipeline.replay_overrides = {"clock": Clock(step=5.0), "max_receives": 1}
    failed_range(pipeline, 30)
    pipeline.run_replay_once()
    (dead,) = [d for d in pipeline.dlq_messages() if d["body"].startswith('{"requestContext"')]
    assert dead["source"] == "replay"
    assert "not finished and receive 1 of 1" in dead["reason"]
    assert "deadline reached" in dead["reason"]
    assert pipeline.queue_depth(pipeline.on_failure_url) == 0


def test_an_unfinished_range_about_to_expire_goes_to_the_dlq_with_its_reason(pipeline: Pipeline) -> None:
    pipeline.replay_streams = Shard(pipeline.replay_streams, limit=1)
    pipeline.replay_overrides = {"clock": Clock(step=5.0)}
    failed_range(pipeline, 30, age_seconds=23.9 * 3600)
    pipeline.run_replay_once()
    reasons = [d["reason"] for d in pipeline.dlq_messages() if d["body"].startswith('{"requestContext"')]
    assert len(reasons) == 1 and "expire within 30 minutes" in reasons[0]
    assert pipeline.queue_depth(pipeline.on_failure_url) == 0


@pytest.mark.parametrize(
    ("operation", "code", "reason"),
    [
        ("get_shard_iterator", "TrimmedDataAccessException", "stream records expired before replay"),
        ("get_records", "TrimmedDataAccessException", "stream records expired before replay"),
        ("get_shard_iterator", "ResourceNotFoundException", "the stream or shard no longer exists"),
    ],
)
def test_a_range_that_can_never_be_read_goes_to_the_dlq_with_its_reason(
    pipeline: Pipeline, operation: str, code: str, reason: str
) -> None:
    pipeline.replay_streams = Shard(pipeline.replay_streams, errors={operation: [code]})
    failed_range(pipeline, 5)
    pipeline.run_replay_once()
    (dead,) = pipeline.dlq_messages()
    assert dead["source"] == "replay"
    assert reason in dead["reason"] and code in dead["reason"]
    assert json.loads(dead["body"])["DDBStreamBatchInfo"]["batchSize"] == 5  # the range, to replay by hand
    assert pipeline.queue_depth(pipeline.on_failure_url) == 0


def test_an_expired_iterator_is_renewed_where_the_read_stopped(pipeline: Pipeline) -> None:
    pipeline.replay_streams = Shard(
        pipeline.replay_streams, limit=3, errors={"get_records": ["ExpiredIteratorException"]}
    )
    middle = failed_range(pipeline, 12)
    assert replayed(pipeline) == sequences(middle)
    assert pipeline.dlq_messages() == []


def test_throttled_get_records_backs_off_and_finishes(pipeline: Pipeline) -> None:
    pauses: list[float] = []
    pipeline.replay_streams = Shard(
        pipeline.replay_streams, errors={"get_records": ["LimitExceededException", "LimitExceededException"]}
    )
    pipeline.replay_overrides = {"sleep": pauses.append}
    middle = failed_range(pipeline, 8)
    assert replayed(pipeline) == sequences(middle)
    assert len(pauses) >= 2


def test_sqs_rejecting_the_replayed_changes_keeps_the_range_on_the_queue(pipeline: Pipeline) -> None:
    def reject(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation != "send_message_batch" or "verification-dlq" in kwargs["QueueUrl"]:
            return None
        return {
            "Successful": [],
            "Failed": [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in kwargs["Entries"]],
        }

    pipeline.replay_sqs = CountingClient(pipeline.replay_sqs._real, reject)
    pipeline.replay_overrides = {"sleep": lambda seconds: None}
    middle = failed_range(pipeline, 6)
    pipeline.run_replay_once()
    assert pipeline.queue_depth(pipeline.on_failure_url) == 1
    assert pipeline.emitted.total("ReplayRangesFailed") == 1
    pipeline.install_clients()
    pipeline.replay_overrides = {}
    pipeline.fast_forward()
    assert replayed(pipeline) == sequences(middle)


def test_throttled_sends_are_retried_and_none_is_lost(pipeline: Pipeline) -> None:
    throttles = iter(range(2))

    def throttle(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation == "send_message_batch" and next(throttles, None) is not None:
            raise client_error("ThrottlingException", "SendMessageBatch")
        return None

    pipeline.replay_sqs = CountingClient(pipeline.replay_sqs._real, throttle)
    pipeline.replay_overrides = {"sleep": lambda seconds: None}
    middle = failed_range(pipeline, 10)
    assert replayed(pipeline) == sequences(middle)


# ---- signals: failed records and real changes are metrics ---------------------------------------


def test_the_forwarder_publishes_failed_records_which_lambda_errors_never_counts(pipeline: Pipeline) -> None:
    pipeline.forwarder_sqs = CountingClient(
        pipeline.forwarder_sqs._real, lambda op, kw: (_ for _ in ()).throw(client_error("ThrottlingException", op))
    )
    for i in range(7):
        pipeline.write(f"u-{i}", 1)
    pipeline.run_forwarder(pipeline.read_stream())
    assert pipeline.emitted.total("ChangesNotForwarded") >= 7  # every attempt's failed records


def test_the_forwarder_counts_real_changes_without_the_canary(pipeline: Pipeline) -> None:
    for i in range(4):
        pipeline.write(f"u-{i}", 1)
    pipeline.write("genba-sync-canary", 1)
    pipeline.run_forwarder(pipeline.read_stream())
    assert pipeline.emitted.total("ChangesForwarded") == 5
    assert pipeline.emitted.total("SourceChangesForwarded") == 4
