"""Every path to a DLQ keeps an item's key, its sequence number and the reason - never its images.

A stream record's ``NewImage`` / ``OldImage`` hold the user's item (name, e-mail address,
phone number...); the key is all an operator needs to resync it (DynamoDB Streams API
Reference, "Record" and "StreamRecord":
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html,
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html).
Each test sends a real event shape (tests/sync_events.py: Lambda's DynamoDB and SQS sample
events; for replay, GetRecords as boto3 parses it, and Lambda's on-failure record for stream
sources, https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)
down one DLQ path and asserts that the DLQ message carries the reason and the typed key, and
that no value of an image appears in its body or its attributes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sync_events import Harness, b64, seq
from tests.test_sync_replay import Shard, on_failure_record
from tools.sim import LossySyncWorker, Pipeline, handler_module, moto_server

_names = iter(range(100_000))
NAME, EMAIL, PHONE, AVATAR = "Hanako Yamada", "hanako.yamada@example.com", "+81-90-1234-5678", b"\x89PNG private"
PERSONAL = (NAME, EMAIL, PHONE, b64(AVATAR), "Old Name")


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def person(pk: str, version: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "pk": {"S": pk},
        "version": {"N": str(version)},
        "name": {"S": NAME},
        "email": {"S": EMAIL},
        "phone": {"S": PHONE},
        "avatar": {"B": AVATAR},
        "tags": {"SS": [EMAIL]},
        "profile": {"M": {"contact": {"L": [{"S": PHONE}]}}},
    } | extra


def assert_private(entry: dict[str, Any]) -> None:
    """The DLQ entry has its reason, and none of the image's values (body or reason)."""
    assert entry["reason"], entry
    text = json.dumps(entry, ensure_ascii=False)
    for value in PERSONAL:
        assert value not in text, (value, entry)


# ---- the forwarder: malformed stream records ---------------------------------------------------


def _unknown_event(record: dict[str, Any]) -> None:
    record["eventName"] = "UPDATE"


def _untyped_key(record: dict[str, Any]) -> None:
    record["dynamodb"]["Keys"] = {"pk": "u-42"}


def _bad_sequence(record: dict[str, Any]) -> None:
    record["dynamodb"]["SequenceNumber"] = "not-a-sequence"


def _bad_time(record: dict[str, Any]) -> None:
    record["dynamodb"]["ApproximateCreationDateTime"] = "yesterday"


def _binary_key_not_base64(record: dict[str, Any]) -> None:
    record["dynamodb"]["Keys"] = {"pk": {"B": "not base64!"}}


@pytest.mark.parametrize("view", ["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"])
@pytest.mark.parametrize(
    ("break_it", "why"),
    [
        (_unknown_event, "eventName 'UPDATE' is not INSERT, MODIFY or REMOVE"),
        (_untyped_key, "key attribute 'pk' is not a typed DynamoDB value"),
        (_bad_sequence, "is not a stream sequence number"),
        (_bad_time, "ApproximateCreationDateTime 'yesterday' is not a time"),
        (_binary_key_not_base64, "key attribute 'pk' is B but not base64"),
    ],
    ids=["event-name", "untyped-key", "sequence", "time", "binary-key"],
)
def test_a_malformed_stream_record_reaches_the_dlq_with_its_key_and_reason_not_its_images(
    moto: str, view: str, break_it: Any, why: str
) -> None:
    h = Harness(f"pf{next(_names)}", view=view)
    old = person("u-42", 1, name={"S": "Old Name"})
    record = h.put(person("u-42", 2), old=old)
    sequence = record["dynamodb"]["SequenceNumber"]
    break_it(record)
    assert h.forward([record]) == {"batchItemFailures": []}  # set aside, never retried
    (entry,) = h.dlq()
    assert_private(entry)
    assert entry["reason"].startswith("malformed stream record:") and why in entry["reason"]
    body = json.loads(entry["body"])
    assert body["eventID"] == record["eventID"] and body["eventSourceARN"] == record["eventSourceARN"]
    assert body["dynamodb"]["Keys"] == record["dynamodb"]["Keys"]  # typed, as the stream gave it
    assert body["dynamodb"]["SequenceNumber"] == record["dynamodb"]["SequenceNumber"]
    assert body["dynamodb"]["images_left_out"] == [n for n in ("NewImage", "OldImage") if n in record["dynamodb"]]
    if break_it is not _bad_sequence:
        assert body["dynamodb"]["SequenceNumber"] == sequence
    assert not any(line for line in h.logs if any(value in line for value in PERSONAL))


# ---- the verifier: dead-lettered changes and malformed messages --------------------------------


def test_a_change_not_synced_in_time_reaches_the_dlq_with_its_key_and_reason_not_its_images(moto: str) -> None:
    h = Harness(f"pv{next(_names)}")
    h.environ[next(k for k in h.environ if k.endswith("MAX_SYNC_LAG_SECONDS"))] = "1"
    records = [h.put(person("u-7", 1)), h.remove(person("u-8", 3))]
    h.replicate(person("u-8", 3))  # the removal never reaches the replica either
    h.forward(records)
    time.sleep(1.1)
    h.verify()
    dead = h.dlq()
    assert len(dead) == 2
    for entry in dead:
        assert_private(entry)
        assert "not synced within" in entry["reason"]
    keys = {json.loads(e["body"])["sequence"]: json.loads(e["body"])["key"] for e in dead}
    assert keys == {seq(records[0]): {"pk": {"S": "u-7"}}, seq(records[1]): {"pk": {"S": "u-8"}}}


def test_a_change_the_target_rejects_reaches_the_dlq_with_its_key_and_reason_not_its_images(moto: str) -> None:
    h = Harness(f"pv{next(_names)}")
    wrong = person("u-9") | {"other": {"S": "u-9"}}
    record = h.record("INSERT", new=wrong)
    record["dynamodb"]["Keys"] = {"other": {"S": "u-9"}}  # a key that is not the table's key schema
    h.forward([record])
    h.verify()
    (entry,) = h.dlq()
    assert_private(entry)
    assert entry["reason"].startswith("sync failed: the table rejected the key")
    assert json.loads(entry["body"])["key"] == {"other": {"S": "u-9"}}


def test_a_malformed_verification_message_reaches_the_dlq_without_what_else_it_carries(moto: str) -> None:
    h = Harness(f"pv{next(_names)}")
    h.forward([h.put(person("u-5"))])
    body = json.loads(h.sqs.receive_message(QueueUrl=h.queue_url, VisibilityTimeout=0)["Messages"][0]["Body"])
    h.sqs.purge_queue(QueueUrl=h.queue_url)
    carrying = body | {"key": {"pk": "u-5"}, "NewImage": {"email": {"S": EMAIL}, "name": {"S": NAME}}}
    h.send_raw(json.dumps(carrying))
    h.send_raw(f"name={NAME}; email={EMAIL}; phone={PHONE}")  # not JSON at all
    h.verify()
    dead = sorted(h.dlq(), key=lambda e: e["body"])
    assert len(dead) == 2
    for entry in dead:
        assert_private(entry)
        assert entry["reason"].startswith("malformed verification message")
    digest, fields = (json.loads(e["body"]) for e in dead)
    assert set(digest) == {"body_sha256", "body_length"}
    assert fields["sequence"] == body["sequence"] and fields["key"] == {"pk": "u-5"} and "NewImage" not in fields


# ---- replay: records read again from the stream, and on-failure records ------------------------


@pytest.fixture()
def pipeline(moto: str) -> Pipeline:
    return Pipeline(name=f"pr{next(_names)}")


def _range(pipeline: Pipeline, count: int) -> list[dict[str, Any]]:
    for i in range(count):
        pipeline.dynamodb.put_item(TableName=pipeline.source_table, Item=person(f"u-{i}", 1))
    records = pipeline.read_stream()
    LossySyncWorker(pipeline).apply(records)
    body = on_failure_record(pipeline, records, first_written=time.time() - 600)
    pipeline.sqs.send_message(QueueUrl=pipeline.on_failure_url, MessageBody=json.dumps(body))
    return records


class Corrupting(Shard):
    """GetRecords as boto3 parses it (bytes, datetimes), with the second record's key untyped."""

    def get_records(self, *, ShardIterator: str, Limit: int) -> Any:
        response = super().get_records(ShardIterator=ShardIterator, Limit=Limit)
        if len(response.get("Records") or []) > 1:
            response["Records"][1]["dynamodb"]["Keys"] = {"pk": "u-1"}
        return response


def test_a_malformed_record_in_a_replayed_range_reaches_the_dlq_without_its_images(pipeline: Pipeline) -> None:
    pipeline.replay_streams = Corrupting(pipeline.replay_streams)
    records = _range(pipeline, 3)
    pipeline.run_replay_once()
    (entry,) = pipeline.dlq_messages()
    assert_private(entry)
    assert entry["source"] == "replay" and "key attribute 'pk' is not a typed DynamoDB value" in entry["reason"]
    body = json.loads(entry["body"])
    assert body["dynamodb"]["SequenceNumber"] == records[1]["dynamodb"]["SequenceNumber"]
    assert body["dynamodb"]["images_left_out"] == ["NewImage"]
    assert pipeline.queue_depth(pipeline.on_failure_url) == 0  # the rest of the range was forwarded


def test_a_range_that_cannot_be_read_reaches_the_dlq_as_its_on_failure_record(pipeline: Pipeline) -> None:
    pipeline.replay_streams = Shard(
        pipeline.replay_streams, errors={"get_shard_iterator": ["TrimmedDataAccessException"]}
    )
    _range(pipeline, 2)
    pipeline.run_replay_once()
    (entry,) = pipeline.dlq_messages()
    assert_private(entry)
    assert json.loads(entry["body"])["DDBStreamBatchInfo"]["batchSize"] == 2


@pytest.mark.parametrize(
    "body",
    [
        f"name={NAME}; email={EMAIL}",
        json.dumps({"version": "1.0", "Records": [{"NewImage": {"email": {"S": EMAIL}}}]}),
        json.dumps({"DDBStreamBatchInfo": {"shardId": "shardId-1", "note": NAME}}),
    ],
    ids=["not-json", "no-range", "incomplete-range"],
)
def test_a_malformed_on_failure_message_goes_aside_alone_with_its_reason(pipeline: Pipeline, body: str) -> None:
    """One bad message never fails the others of its batch, and reaches the DLQ with its reason."""
    records = _range(pipeline, 2)
    pipeline.sqs.send_message(QueueUrl=pipeline.on_failure_url, MessageBody=body)
    pipeline.drain(wait_seconds=0)
    (entry,) = pipeline.dlq_messages()
    assert entry["source"] == "replay" and entry["reason"].startswith("malformed on-failure record:")
    assert EMAIL not in json.dumps(entry) and "Records" not in entry["body"]
    assert set(pipeline.verified_sequences) == {r["dynamodb"]["SequenceNumber"] for r in records}
    assert pipeline.queue_depth(pipeline.on_failure_url) == 0


# ---- the verifier reads the source's key and version, and whole items only where content decides --


class Spy:
    """The verifier's DynamoDB client, recording each BatchGetItem request and what came back."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.reads: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []

    def batch_get_item(self, **kwargs: Any) -> Any:
        response = self.real.batch_get_item(**kwargs)
        for table, request in kwargs["RequestItems"].items():
            self.reads.append((table, request, response.get("Responses", {}).get(table, [])))
        return response

    def source_reads(self, table: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        return [(request, items) for name, request, items in self.reads if name == table]


def spied(h: Harness) -> Spy:
    from verification import VerifierSettings

    spy = Spy(h.dynamodb)
    h.target = h.verifier.make_target(VerifierSettings.from_environ(h.environ), lambda name: spy)
    return spy


def projected(request: dict[str, Any]) -> set[str] | None:
    """The attribute names a request projects (None: whole items), checked to go through placeholders."""
    if "ProjectionExpression" not in request:
        return None
    names = request["ExpressionAttributeNames"]
    assert {part.strip() for part in request["ProjectionExpression"].split(",")} == set(names)
    assert all(placeholder.startswith("#") for placeholder in names)
    return set(names.values())


@pytest.mark.parametrize("attribute", ["version", "size", "timestamp"], ids=["plain", "reserved-size", "reserved-ts"])
def test_the_source_is_read_for_its_key_and_version_only_where_they_decide(moto: str, attribute: str) -> None:
    """BatchGetItem with a ProjectionExpression (BatchGetItem API reference,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html); SIZE and
    TIMESTAMP are DynamoDB reserved words, so names go through ExpressionAttributeNames
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ReservedWords.html)."""
    h = Harness(f"pp{next(_names)}")
    h.environ[next(k for k in h.environ if k.endswith("VERSION_ATTRIBUTE"))] = attribute
    h.environ[next(k for k in h.environ if k.endswith("TARGET_CONFIG"))] = json.dumps(
        {"table_name": h.replica, "version_attribute": attribute}
    )
    spy = spied(h)

    def item(pk: str, version: int) -> dict[str, Any]:
        return {k: v for k, v in person(pk).items() if k != "version"} | {attribute: {"N": str(version)}}

    lagging = [h.put(item("lag", 1)), h.put(item("lag", 2), old=item("lag", 1))]
    h.replicate(item("lag", 1))  # behind: the second change waits
    hot = [h.put(item("hot", 1)), h.put(item("hot", 2), old=item("hot", 1)), h.put(item("hot", 3), old=item("hot", 2))]
    h.replicate(item("hot", 2))  # the first hot change is confirmed by the newer version the replica shows
    h.forward(lagging + hot)
    h.verify()
    confirmed, pending, dead = set(h.confirmed), h.pending_sequences(), h.dlq()
    assert confirmed == {seq(lagging[0]), seq(hot[0]), seq(hot[1])} and not dead
    assert pending == {seq(lagging[1]), seq(hot[2])}
    reads = spy.source_reads(h.source)
    assert reads, "the source was read for the changes the replica alone does not decide"
    for request, items in reads:
        assert projected(request) == {"pk", attribute}
        assert all(set(found) == {"pk", attribute} for found in items)


def test_the_whole_source_item_is_read_only_where_the_versions_match_and_content_decides(moto: str) -> None:
    """A keys-only stream (no image to compare): the replica holding the source's version with other
    content (a truncated copy) is not synced - only reading the whole item can tell."""
    h = Harness(f"pp{next(_names)}", view="KEYS_ONLY")
    spy = spied(h)
    truncated, behind = person("same", 2), person("behind", 2)
    records = [h.put(truncated), h.put(behind)]
    h.replicate(truncated | {"name": {"S": "Hanako"}})  # same version, other content
    h.replicate(person("behind", 1))
    h.forward(records)
    h.verify()
    assert not h.confirmed and h.pending_sequences() == {seq(r) for r in records}
    whole = [(request, items) for request, items in spy.source_reads(h.source) if projected(request) is None]
    assert [[key["pk"]["S"] for key in request["Keys"]] for request, _ in whole] == [["same"]]
    h.replicate(truncated)
    h.replicate(behind)
    h.verify()
    assert set(h.confirmed) == {seq(r) for r in records}


def test_no_handler_logs_its_event_even_when_told_to(moto: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """POWERTOOLS_LOGGER_LOG_EVENT=true would write each stream record's images to the log
    (Powertools for AWS Lambda, Logger: "Logging incoming event",
    https://docs.powertools.aws.dev/lambda/python/latest/core/logger/#logging-incoming-event)."""
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    h = Harness(f"pl{next(_names)}")
    h.forwarder.logger.setLevel("INFO")
    h.verifier.logger.setLevel("INFO")
    try:
        h.forward([h.put(person("u-3", 2), old=person("u-3", 1, name={"S": "Old Name"}))])
        h.verify()
    finally:
        h.forwarder.logger.setLevel("WARNING")
        h.verifier.logger.setLevel("WARNING")
    assert any("verification batch done" in line for line in h.logs)
    for value in PERSONAL:
        assert value not in "\n".join(h.logs)


# ---- errors: their text may repeat what was sent -----------------------------------------------


def test_a_lambda_target_error_reaches_reasons_by_its_type_only() -> None:
    """A function error's payload is ``{"errorMessage", "errorType", "stackTrace"}`` (Lambda Invoke
    API, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html; "AWS Lambda function errors
    in Python", https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html): its message
    and trace may repeat the keys the function was given."""
    import io

    handler_module("sync_verifier")  # its folder and the shared layer on sys.path
    from targets import Change, LambdaTarget

    class ErringLambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            payload = {"errorMessage": f"no user {EMAIL}", "errorType": "KeyError", "stackTrace": [f"  {NAME}"]}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(payload).encode()),
            }

    change = Change(
        id="m1",
        key={"pk": {"S": EMAIL}},
        key_text=f"pk={EMAIL}",
        sequence="1",
        version=1,
        event_name="INSERT",
        event_time=0.0,
    )
    (outcome,) = LambdaTarget(lambda_client=ErringLambda(), function_name="checker").check([change]).values()
    assert (outcome.status, outcome.reason) == ("not_yet", "target function error: KeyError")


def test_errors_are_described_without_the_values_a_request_carried() -> None:
    """botocore's ParamValidationError repeats the rejected value; an AWS error keeps its code and message
    (the error response shape: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html)."""
    from botocore.exceptions import ClientError, ParamValidationError

    handler_module("sync_forwarder")
    from genba_sync import describe_error

    rejected = ParamValidationError(report=f"Invalid type for parameter Key.pk.S, value: {EMAIL!r}")
    assert EMAIL in str(rejected)
    assert describe_error(rejected) == "ParamValidationError"
    aws = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "The provided key element does not match the schema"}},
        "BatchGetItem",
    )
    assert describe_error(aws) == "ClientError: ValidationException: The provided key element does not match the schema"
    assert describe_error(ConnectionRefusedError(111, "Connection refused")).startswith("ConnectionRefusedError:")
