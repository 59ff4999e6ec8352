"""The sync-verification handlers against moto server: real stream records, faults, none lost.

moto cannot run event source mappings, so tools/sim/pipeline.py reads the source table's stream
with GetRecords, builds the events Lambda would build and calls the handlers in-process.
"""

from __future__ import annotations

import io
import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tests.sync_events import target_changes
from tools.sim import CountingClient, LossySyncWorker, Pipeline, client_error, handler_module, moto_server

DAY = 24 * 3600


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


_names = iter(range(10_000))


@pytest.fixture()
def pipeline(moto: str) -> Pipeline:
    return Pipeline(name=f"t{next(_names)}")


def write_users(pipeline: Pipeline, count: int, *, prefix: str = "u") -> None:
    for i in range(count):
        pipeline.write(f"{prefix}-{i}", 1, name=f"user {i}")


def sync(pipeline: Pipeline, records: list[dict[str, Any]], worker: LossySyncWorker | None = None) -> LossySyncWorker:
    """``records`` applied to the replica by ``worker`` (default: one that loses nothing) and forwarded."""
    worker = worker or LossySyncWorker(pipeline)
    worker.apply(records)
    pipeline.run_forwarder(records)
    return worker


def verified_keys(pipeline: Pipeline) -> set[str]:
    return {body["key_text"] for body in pipeline.received.values()}


# ---- the happy path, with real stream records ------------------------------------------------


def test_real_stream_changes_are_all_verified(pipeline: Pipeline) -> None:
    write_users(pipeline, 30)
    for i in range(10):
        pipeline.write(f"u-{i}", 2, name="renamed")
    for i in range(20, 25):
        pipeline.delete(f"u-{i}")
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)
    pipeline.run_forwarder(records)
    pipeline.drain()
    assert len(records) == 45
    assert sorted(pipeline.verified_sequences) == sorted(r["dynamodb"]["SequenceNumber"] for r in records)
    assert pipeline.dlq_messages() == []


def test_forwarder_sends_ten_messages_per_send_message_batch(pipeline: Pipeline) -> None:
    write_users(pipeline, 25)
    pipeline.run_forwarder(pipeline.read_stream())
    assert pipeline.forwarder_sqs.calls == {"send_message_batch": 3}


def test_verification_message_carries_key_version_sequence_time_and_event(pipeline: Pipeline) -> None:
    pipeline.write("u-1", 7)
    (record,) = pipeline.read_stream()
    pipeline.run_forwarder([record])
    (message,) = pipeline.sqs.receive_message(QueueUrl=pipeline.queue_url)["Messages"]
    body = json.loads(message["Body"])
    assert body["key"] == {"pk": {"S": "u-1"}}
    assert body["version"] == 7
    assert body["sequence"] == record["dynamodb"]["SequenceNumber"]
    assert body["event_name"] == "INSERT"
    assert body["event_time"] == pytest.approx(record["dynamodb"]["ApproximateCreationDateTime"].timestamp())


def test_forwarder_delays_each_message_by_the_grace_period(pipeline: Pipeline) -> None:
    from genba_sync import ENV

    sent: list[dict[str, Any]] = []

    def spy(operation: str, kwargs: dict[str, Any]) -> None:
        sent.extend(kwargs["Entries"])

    pipeline.forwarder_sqs = CountingClient(pipeline.forwarder_sqs._real, spy)
    pipeline.environ[ENV["grace_period_seconds"]] = "45"
    write_users(pipeline, 3)
    pipeline.run_forwarder(pipeline.read_stream())
    assert [entry["DelaySeconds"] for entry in sent] == [45, 45, 45]


def test_verifier_reads_up_to_100_keys_per_batch_get_item(pipeline: Pipeline) -> None:
    write_users(pipeline, 100)
    records = pipeline.read_stream()
    sync(pipeline, records)
    pipeline.run_verifier_once()
    assert len(pipeline.verified_sequences) == 100
    assert pipeline.verifier_dynamodb.calls == {"batch_get_item": 1}


def test_canary_change_publishes_canary_verified_with_the_service_dimension(pipeline: Pipeline) -> None:
    pipeline.write("genba-sync-canary", 1)
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)
    pipeline.run_forwarder(records)
    pipeline.drain()
    assert pipeline.emitted.total("CanaryVerified") == 1
    assert {"service": "sync-verification"} in pipeline.emitted.dimensions


def test_sync_lag_is_published_per_verified_change(pipeline: Pipeline) -> None:
    write_users(pipeline, 12)
    records = pipeline.read_stream()
    sync(pipeline, records)
    pipeline.drain()
    lags = pipeline.emitted.metrics["SyncLagSeconds"]
    assert len(lags) == 12
    assert all(0 <= lag < 600 for lag in lags)


def test_log_lines_carry_the_key_digest_and_sequence_number_as_request_id(pipeline: Pipeline) -> None:
    """The request id is ``<key digest>@<sequence>``: no key value (an e-mail address...) in clear."""
    from genba_sync import key_digest

    pipeline.write("u-9", 1)
    records = pipeline.read_stream()
    pipeline.run_forwarder(records)  # the replica never gets it: "not synced yet" is logged
    pipeline.verifier.logger.setLevel("INFO")
    try:
        pipeline.run_verifier_once()
    finally:
        pipeline.verifier.logger.setLevel("WARNING")
    sequence = records[0]["dynamodb"]["SequenceNumber"]
    lines = [line for line in pipeline.emitted.log_lines if line.get("message") == "change not synced yet"]
    assert lines and lines[0]["request_id"] == f"{key_digest({'pk': {'S': 'u-9'}})}@{sequence}"
    assert "u-9" not in json.dumps(pipeline.emitted.log_lines)


def test_keys_only_stream_is_verified_against_the_source_version(moto: str) -> None:
    pipeline = Pipeline(name=f"t{next(_names)}", stream_view="KEYS_ONLY")
    try:
        pipeline.write("u-1", 3)
        pipeline.dynamodb.put_item(
            TableName=pipeline.replica_table, Item={"pk": {"S": "u-1"}, "version": {"N": "2"}}
        )  # behind the source
        records = pipeline.read_stream()
        pipeline.run_forwarder(records)
        pipeline.drain()
        assert pipeline.verified_sequences == []
        pipeline.dynamodb.put_item(TableName=pipeline.replica_table, Item={"pk": {"S": "u-1"}, "version": {"N": "3"}})
        pipeline.drain()
        assert pipeline.verified_sequences == [records[0]["dynamodb"]["SequenceNumber"]]
    finally:
        pipeline.install_clients()


def test_a_change_delivered_twice_is_verified_twice_and_never_sent_to_the_dlq(pipeline: Pipeline) -> None:
    write_users(pipeline, 5)
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)
    pipeline.run_forwarder(records)
    pipeline.run_forwarder(records)  # a stream batch retried after a partial failure
    pipeline.drain()
    assert len(pipeline.verified_sequences) == 10
    assert set(pipeline.verified_sequences) == {r["dynamodb"]["SequenceNumber"] for r in records}
    assert pipeline.dlq_messages() == []


# ---- not yet, failed, and the maximum sync lag ---------------------------------------------


def test_a_lagging_replica_is_verified_once_it_catches_up(pipeline: Pipeline) -> None:
    write_users(pipeline, 20)
    worker = sync(pipeline, pipeline.read_stream(), LossySyncWorker(pipeline, delay=0.5))
    pipeline.drain()
    assert 0 < len(pipeline.verified_sequences) < 20
    worker.catch_up()
    pipeline.drain()
    assert len(pipeline.verified_sequences) == 20
    assert pipeline.emitted.total("ChangesNotYetSynced") >= len(worker.delayed) + 1


def test_changes_the_replica_missed_reach_the_dlq_with_their_reason_after_the_max_lag(pipeline: Pipeline) -> None:
    write_users(pipeline, 40)
    worker = sync(pipeline, pipeline.read_stream(), LossySyncWorker(pipeline, lose=0.25))
    pipeline.drain()
    assert pipeline.dlq_messages() == []  # still within the maximum sync lag: waiting
    pipeline.clock_offset = DAY + 1
    pipeline.drain()
    dead = pipeline.dlq_messages()
    assert {json.loads(d["body"])["sequence"] for d in dead} == set(worker.lost)
    assert all(d["reason"].startswith("not synced within 24 h (max sync lag): missing in the target") for d in dead)
    assert len(pipeline.verified_sequences) == 40 - len(worker.lost)


def test_a_removal_still_in_the_replica_is_not_synced(pipeline: Pipeline) -> None:
    pipeline.write("u-1", 1)
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)  # the insert reaches the replica
    pipeline.delete("u-1")
    records += pipeline.read_stream()  # the removal does not
    pipeline.run_forwarder(records)
    pipeline.drain()
    assert pipeline.verified_sequences == [records[0]["dynamodb"]["SequenceNumber"]]
    pipeline.clock_offset = DAY + 1
    pipeline.drain()
    (dead,) = pipeline.dlq_messages()
    assert "removed at the source, still in the target" in dead["reason"]


def test_target_unavailable_keeps_changes_until_it_answers(pipeline: Pipeline) -> None:
    write_users(pipeline, 10)
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)
    pipeline.run_forwarder(records)
    down = CountingClient(
        pipeline.verifier_dynamodb._real, lambda op, kw: (_ for _ in ()).throw(client_error("InternalServerError", op))
    )
    pipeline.verifier_dynamodb = down
    pipeline.drain()
    assert pipeline.verified_sequences == []
    assert down.calls["batch_get_item"] >= 1
    pipeline.install_clients()
    pipeline.drain()
    assert len(pipeline.verified_sequences) == 10
    assert pipeline.dlq_messages() == []


def test_target_that_answers_failed_sends_the_change_to_the_dlq_at_once(pipeline: Pipeline) -> None:
    from targets import FAILED, Outcome

    class Refuses:
        reads = 0

        def check(self, changes: list[Any]) -> dict[str, Outcome]:
            return {c.id: Outcome(FAILED, "schema mismatch") for c in changes}

    write_users(pipeline, 3)
    pipeline.run_forwarder(pipeline.read_stream())
    pipeline.verifier_target = Refuses()
    pipeline.drain()
    dead = pipeline.dlq_messages()
    assert [d["reason"] for d in dead] == ["sync failed: schema mismatch"] * 3
    assert {d["source"] for d in dead} == {"verifier"}


# ---- malformed input never blocks the rest of its batch ---------------------------------------


def test_malformed_stream_records_go_to_the_dlq_and_the_rest_are_forwarded(pipeline: Pipeline) -> None:
    write_users(pipeline, 8)
    records = [pipeline.lambda_stream_record(r) for r in pipeline.read_stream()]
    broken = [
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "900000000000000000001"}},
        {"eventName": "TRUNCATE", "dynamodb": {"Keys": {"pk": {"S": "x"}}, "SequenceNumber": "900000000000000000002"}},
        {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "y"}}, "SequenceNumber": "not-a-number"}},
    ]
    event = {"Records": records[:4] + broken + records[4:]}
    response = pipeline.forwarder.handler(event, _context(), runtime=pipeline.forwarder_runtime())
    assert response == {"batchItemFailures": []}
    dead = pipeline.dlq_messages()
    assert len(dead) == 3
    assert all(d["reason"].startswith("malformed stream record") and d["source"] == "forwarder" for d in dead)
    assert pipeline.queue_depth(pipeline.queue_url) == 8


def test_malformed_verification_messages_go_to_the_dlq_and_the_rest_are_verified(pipeline: Pipeline) -> None:
    write_users(pipeline, 5)
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)
    pipeline.run_forwarder(records)
    for body in (
        "not json",
        json.dumps({"v": 1, "key": {}}),
        json.dumps({"key": {"pk": {"S": "a"}}, "event_name": "X"}),
    ):
        pipeline.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=body)
    pipeline.drain()
    assert len(pipeline.verified_sequences) == 5
    dead = pipeline.dlq_messages()
    assert len(dead) == 3 and all(d["reason"].startswith("malformed verification message") for d in dead)


# ---- SQS faults, retries, on-failure ranges and replay --------------------------------------------


def test_partial_send_failures_are_retried_and_none_is_lost(pipeline: Pipeline) -> None:
    rng = random.Random(3)

    def flaky(operation: str, kwargs: dict[str, Any]) -> Any:
        if operation != "send_message_batch" or rng.random() > 0.5:
            return None
        entries = kwargs["Entries"]
        keep, drop = entries[: len(entries) // 2], entries[len(entries) // 2 :]
        sent = pipeline.forwarder_sqs._real.send_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=keep)
        failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in drop]
        return {"Successful": sent.get("Successful", []), "Failed": failed}

    pipeline.forwarder_sqs = CountingClient(pipeline.forwarder_sqs._real, flaky)
    write_users(pipeline, 60)
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)
    pipeline.run_forwarder(records)
    pipeline.install_clients()
    pipeline.drain()
    assert set(pipeline.verified_sequences) == {r["dynamodb"]["SequenceNumber"] for r in records}


def test_a_batch_that_keeps_failing_is_replayed_from_the_stream(pipeline: Pipeline) -> None:
    pipeline.forwarder_sqs = CountingClient(
        pipeline.forwarder_sqs._real, lambda op, kw: (_ for _ in ()).throw(client_error("ThrottlingException", op))
    )
    write_users(pipeline, 15)
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)
    stats = pipeline.run_forwarder(records)
    assert stats["on_failure"] == 1
    assert pipeline.queue_depth(pipeline.queue_url) == 0
    pipeline.install_clients()
    pipeline.drain()  # the replay function re-reads the range with AT_SEQUENCE_NUMBER
    assert set(pipeline.verified_sequences) == {r["dynamodb"]["SequenceNumber"] for r in records}
    assert pipeline.emitted.total("ChangesReplayed") == 15


def test_an_expired_range_is_recorded_in_the_dlq_with_its_reason(pipeline: Pipeline) -> None:
    class Expired:
        def get_shard_iterator(self, **kwargs: Any) -> Any:
            raise client_error("TrimmedDataAccessException", "GetShardIterator")

    pipeline.replay_streams = Expired()
    message = {
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001700000000000-00000000",
            "startSequenceNumber": "100000000000000000001",
            "endSequenceNumber": "100000000000000000009",
            "approximateArrivalOfFirstRecord": "2026-11-28T09:00:00Z",
            "streamArn": pipeline.stream_arn,
        }
    }
    pipeline.sqs.send_message(QueueUrl=pipeline.on_failure_url, MessageBody=json.dumps(message))
    pipeline.run_replay_once()
    (dead,) = pipeline.dlq_messages()
    assert dead["source"] == "replay"
    assert dead["reason"].startswith("stream records expired before replay")
    assert pipeline.queue_depth(pipeline.on_failure_url) == 0


# The fault scenario (every change ends verified or in the DLQ with its reason) is tests/test_sync_soak.py.


# ---- the other targets (contracts: moto serves no OpenSearch data plane) ----------------------


class _Answer(BaseHTTPRequestHandler):
    answers: dict[str, Any] = {}
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        payload = json.dumps(type(self).answers[self.path](body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def http_target() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _changes() -> list[Any]:
    return target_changes(("a", 2, "MODIFY"), ("b", 5, "MODIFY"), ("c", 1, "REMOVE"))


def test_http_target_posts_the_batch_once_and_reads_each_answer(http_target: str) -> None:
    from targets import HttpTarget

    _Answer.answers["/check"] = lambda body: {
        "results": {"m1": {"status": "synced"}, "m2": {"status": "failed", "reason": "rejected"}}
    }
    target = HttpTarget(url=f"{http_target}/check")
    outcomes = target.check(_changes())
    assert target.reads == 1
    assert [c["id"] for c in _Answer.requests[-1]["body"]["changes"]] == ["m1", "m2", "m3"]
    assert [(o.status, o.reason) for o in outcomes.values()] == [
        ("synced", ""),
        ("failed", "rejected"),
        ("not_yet", "target gave no answer for this change"),
    ]


def test_http_target_that_cannot_be_reached_answers_not_yet() -> None:
    from targets import HttpTarget

    outcomes = HttpTarget(url="http://127.0.0.1:9/check", timeout_seconds=2).check(_changes())
    assert {o.status for o in outcomes.values()} == {"not_yet"}
    assert all(o.reason.startswith("target unavailable") for o in outcomes.values())


def test_opensearch_target_compares_document_versions_with_one_mget(http_target: str) -> None:
    from targets import OpenSearchTarget

    _Answer.answers["/users/_mget"] = lambda body: {
        "docs": [
            {"_id": "a", "found": True, "_source": {"version": 2}},
            {"_id": "b", "found": True, "_source": {"version": 4}},
            {"_id": "c", "found": False},
        ]
    }
    target = OpenSearchTarget(endpoint=http_target, index="users", version_field="version")
    outcomes = target.check(_changes())
    assert target.reads == 1
    assert _Answer.requests[-1]["body"] == {"ids": ["a", "b", "c"]}
    assert [outcomes[i].status for i in ("m1", "m2", "m3")] == ["synced", "not_yet", "synced"]


def test_lambda_target_invokes_the_function_once_per_batch() -> None:
    from targets import LambdaTarget

    calls: list[dict[str, Any]] = []

    class FakeLambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            answer = {"results": {"m1": {"status": "synced"}, "m2": {"status": "not_yet", "reason": "queued"}}}
            return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}

    outcomes = LambdaTarget(lambda_client=FakeLambda(), function_name="checker").check(_changes())
    assert len(calls) == 1 and calls[0]["FunctionName"] == "checker"
    assert [o.status for o in outcomes.values()] == ["synced", "not_yet", "not_yet"]


def test_verifier_backoff_doubles_per_receive_and_stops_at_the_deadline() -> None:
    verification = verification_core()
    assert [verification.backoff_seconds(n, grace=60, seconds_left=DAY) for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert verification.backoff_seconds(30, grace=60, seconds_left=DAY) == 43200  # SQS's 12 h limit
    assert verification.backoff_seconds(5, grace=60, seconds_left=100) == 101  # looks again at the deadline


def test_verifier_backoff_grows_even_without_a_grace_period() -> None:
    verification = verification_core()
    assert verification.BACKOFF_FLOOR_SECONDS == 1  # as deployed (the simulator passes 0)
    assert [verification.backoff_seconds(n, grace=0, seconds_left=DAY) for n in (1, 2, 3)] == [1, 2, 4]
    assert [verification.backoff_seconds(n, grace=0, seconds_left=DAY, floor=0) for n in (1, 2, 3)] == [0, 0, 0]


def verification_core() -> Any:
    """The verifier's pure core (lambda/sync_verifier/verification.py), with its folder on the path."""
    handler_module("sync_verifier")
    import verification

    return verification


def _context() -> Any:
    from tools.sim import FakeContext

    return FakeContext()
