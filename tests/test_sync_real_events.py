"""The forwarder and verifier against events shaped as AWS delivers them, on moto server.

Event shapes and their sources are in tests/sync_events.py (Lambda's DynamoDB and SQS sample
events, the TTL REMOVE record of the DynamoDB Developer Guide; moto's deviations and how they
are corrected). Every test asserts the same two things for its class of input: no change is
lost (each is confirmed, still pending on the queue, or in the DLQ with its reason) and none is
confirmed that the target does not show.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sync_events import VIEWS, Harness, b64, seq
from tools.sim import moto_server

_names = iter(range(100_000))


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def harness(**kwargs: Any) -> Harness:
    return Harness(f"re{next(_names)}", **kwargs)


def accounted(h: Harness, records: list[dict[str, Any]]) -> tuple[set[str], set[str], set[str]]:
    """(confirmed, pending, dead-lettered) sequences; asserts none is lost and every DLQ entry has a reason."""
    dead_sequences = set()
    for entry in h.dlq():
        assert entry["reason"], entry
        try:
            dead_sequences.add(json.loads(entry["body"])["sequence"])
        except (ValueError, KeyError, TypeError):
            continue
    pending = h.pending_sequences()
    confirmed = set(h.confirmed)
    assert {seq(r) for r in records} <= confirmed | pending | dead_sequences, "a change was lost"
    return confirmed, pending, dead_sequences


def user(pk: str, version: int | None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": pk}, "name": {"S": f"user {pk}"}}
    if version is not None:
        item["version"] = {"N": str(version)}
    return item | extra


# ---- every stream view type, INSERT / MODIFY / REMOVE ------------------------------------------


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_type_is_confirmed_only_when_the_replica_holds_the_change(moto: str, view: str) -> None:
    h = harness(view=view)
    v1, v2, gone = user("a", 1), user("a", 2), user("b", 1)
    records = [h.put(v1), h.put(v2, old=v1), h.put(gone)]
    records.append(h.remove(gone))
    h.forward(records)
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    # The replica is empty (a dead sync worker): the writes of "a" are never confirmed; the removal
    # of "b" is (the replica shows it gone), and so is the write of "b" (it shows the later removal).
    assert {seq(records[0]), seq(records[1])} <= pending
    assert confirmed == {seq(records[2]), seq(records[3])}
    h.replicate(v2)
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert confirmed == {seq(r) for r in records} and pending == set()


def test_aws_sample_event_with_a_numeric_key(moto: str) -> None:
    """Lambda's DynamoDB sample event: key ``Id`` (N 101), INSERT then MODIFY then REMOVE."""
    h = harness(keys=[("Id", "N")])
    new = {"Id": {"N": "101"}, "Message": {"S": "New item!"}, "version": {"N": "1"}}
    changed = {"Id": {"N": "101"}, "Message": {"S": "This item has changed"}, "version": {"N": "2"}}
    records = [h.put(new), h.put(changed, old=new)]
    h.replicate(new)
    h.forward(records)
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert confirmed == {seq(records[0])} and pending == {seq(records[1])}
    records.append(h.remove(changed))
    h.forward(records[-1:])
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert seq(records[2]) in pending  # the replica still holds the item: the removal is not synced
    h.unreplicate(new)
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert confirmed == {seq(r) for r in records}


def test_ttl_deletions_are_verified_like_any_removal(moto: str) -> None:
    """TTL REMOVE: ``userIdentity`` {type Service, principalId dynamodb.amazonaws.com}."""
    h = harness()
    item = user("expiring", 3, ttl={"N": "1700000000"})
    h.dynamodb.put_item(TableName=h.source, Item=item)
    h.replicate(item)
    record = h.remove(item, ttl=True)
    assert record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    h.forward([record])
    h.verify()
    assert accounted(h, [record])[1] == {seq(record)}
    h.unreplicate(item)
    h.verify()
    assert accounted(h, [record])[0] == {seq(record)}


# ---- keys: composite, numeric, binary, unicode -------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "key"),
    [
        ([("tenant", "S"), ("n", "N")], {"tenant": {"S": "shop|1"}, "n": {"N": "42"}}),
        ([("n", "N")], {"n": {"N": "-12.5"}}),
        ([("blob", "B")], {"blob": {"B": b"\x00\x01\xfe\xff binary"}}),
        ([("blob", "B"), ("sk", "B")], {"blob": {"B": b"\x00"}, "sk": {"B": bytes(range(256))}}),
        ([("pk", "S")], {"pk": {"S": "ユーザー@例え.jp 👤"}}),
    ],
    ids=["composite", "numeric", "binary", "binary-composite", "unicode"],
)
def test_keys_of_every_type_are_carried_typed_and_matched_in_the_target(
    moto: str, keys: list[tuple[str, str]], key: dict[str, Any]
) -> None:
    h = harness(keys=keys)
    from genba_sync import verification_message

    item = key | {"version": {"N": "1"}, "v": {"S": "x"}}
    other = {
        name: {"B": value["B"] + b"!"} if "B" in value else {kind: text + "1" for kind, text in value.items()}
        for name, value in key.items()
    }
    records = [h.put(item), h.put(other | {"version": {"N": "1"}})]
    h.replicate(item)  # only the first reaches the replica
    sent = verification_message(records[0], version_attribute="version", canary_key=None, now=0)
    assert sent["key"] == {  # typed, binary values as the stream's base64 text
        name: {"B": b64(value["B"])} if "B" in value else value for name, value in key.items()
    }
    h.forward(records)
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert confirmed == {seq(records[0])} and pending == {seq(records[1])}


def test_items_near_400_kb_are_compared_by_content_without_carrying_it(moto: str) -> None:
    h = harness()
    big = user("big", 1, blob={"S": "x" * 390_000})
    truncated = user("big", 1, blob={"S": "x" * 1000})
    records = [h.put(big)]
    h.replicate(truncated)  # same version, different content: not this change
    h.forward(records)
    body = h.sqs.receive_message(QueueUrl=h.queue_url, VisibilityTimeout=0)["Messages"][0]["Body"]
    assert len(body) < 2000
    h.verify()
    assert accounted(h, records)[1] == {seq(records[0])}
    h.replicate(big)
    h.verify()
    assert accounted(h, records)[0] == {seq(records[0])}


# ---- batches, duplicates, order, hot keys, the canary --------------------------------------------


def test_a_batch_of_1000_changes_confirms_exactly_what_the_replica_holds(moto: str) -> None:
    """1,000 records in one stream batch: all forwarded (100 SendMessageBatch calls), and the
    target check of all 1,000 (moto's SQS slows down with depth, so the check is called directly,
    10 BatchGetItem calls) confirms exactly the 990 the replica holds."""
    h = harness()
    from genba_sync import verification_message
    from targets import Change

    items = [user(f"u-{i:04d}", 1) for i in range(1000)]
    records = [h.put(item) for item in items]
    missed = {seq(records[i]) for i in range(0, 1000, 100)}
    for item, record in zip(items, records, strict=True):
        if seq(record) not in missed:
            h.replicate(item)
    assert h.forward(records) == {"batchItemFailures": []}
    depth = h.sqs.get_queue_attributes(QueueUrl=h.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert depth["Attributes"]["ApproximateNumberOfMessages"] == "1000"
    h.sqs.purge_queue(QueueUrl=h.queue_url)
    changes = []
    for record in records:
        body = verification_message(record, version_attribute="version", canary_key=None, now=0)
        changes.append(
            Change(
                id=body["sequence"],
                key=body["key"],
                key_text=body["key_text"],
                sequence=body["sequence"],
                version=body["version"],
                event_name=body["event_name"],
                event_time=body["event_time"],
                image_hash=body["image_hash"],
            )
        )
    from verification import VerifierSettings

    target = h.verifier.make_target(VerifierSettings.from_environ(h.environ))
    outcomes = target.check(changes)
    confirmed = {i for i, o in outcomes.items() if o.status == "synced"}
    assert confirmed == {seq(r) for r in records} - missed
    assert {i for i, o in outcomes.items() if o.status == "not_yet"} == missed
    assert target.reads == 10 + 1  # the replica, then the source for the 10 it does not decide


def forwarded_in_sync(h: Harness, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream record of writing ``item``, which the replica already holds, forwarded once."""
    records = [h.put(item)]
    h.replicate(item)
    h.forward(records)
    return records


def test_a_change_delivered_twice_is_confirmed_twice_and_never_dead_lettered(moto: str) -> None:
    h = harness()
    records = forwarded_in_sync(h, user("dup", 1))
    h.forward(records)  # a stream batch retried after a partial failure
    h.verify()
    confirmed, pending, dead = accounted(h, records)
    assert confirmed == {seq(records[0])} and len(h.confirmed) == 1 and not pending and not dead
    assert len(h.metrics["SyncLagSeconds"]) == 2


def put_in_turn(h: Harness, versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stream records of one key written as each of ``versions`` in turn (MODIFY after the INSERT)."""
    return [h.put(versions[0])] + [h.put(new, old=old) for old, new in itertools.pairwise(versions)]


def all_confirmed_once_replicated(h: Harness, item: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """The replica catches up to ``item``: the next verification confirms every change of ``records``."""
    h.replicate(item)
    h.verify()
    assert accounted(h, records)[0] == {seq(r) for r in records}


def test_out_of_order_changes_are_confirmed_by_what_the_replica_holds(moto: str) -> None:
    h = harness()
    v1, v2 = user("o", 1), user("o", 2)
    records = [h.put(v1), h.put(v2, old=v1)]
    h.replicate(v1)
    h.forward(records[::-1])  # v2's message first
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert confirmed == {seq(records[0])} and pending == {seq(records[1])}
    all_confirmed_once_replicated(h, v2, records)


def test_a_hot_key_is_confirmed_by_the_newer_version_the_replica_holds(moto: str) -> None:
    h = harness()
    versions = [user("hot", n) for n in range(1, 51)]
    records = put_in_turn(h, versions)
    h.replicate(versions[47])  # the replica lags two writes behind, as it always does for this key
    h.forward(records)
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert confirmed == {seq(r) for r in records[:48]} and pending == {seq(r) for r in records[48:]}
    all_confirmed_once_replicated(h, versions[-1], records)


def test_the_canary_with_a_dead_sync_worker_is_never_verified(moto: str) -> None:
    h = harness()
    beats = [user("genba-sync-canary", n) for n in range(1, 6)]
    records = put_in_turn(h, beats)
    h.forward(records)
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert confirmed == set() and pending == {seq(r) for r in records}
    assert sum(h.metrics.get("CanaryVerified", [])) == 0


# ---- versions: delete and recreate, none, strings ----------------------------------------------


def test_delete_then_recreate_is_not_confirmed_while_the_target_holds_the_old_item(moto: str) -> None:
    h = harness()
    old = user("r", 3, name={"S": "old"})
    h.dynamodb.put_item(TableName=h.source, Item=old)
    h.replicate(old)
    recreated = user("r", 1, name={"S": "new"})
    records = [h.remove(old), h.put(recreated)]
    h.forward(records)
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert confirmed == set() and pending == {seq(r) for r in records}
    all_confirmed_once_replicated(h, recreated, records)


@pytest.mark.parametrize("version", [None, {"S": "7"}], ids=["missing", "string"])
def test_items_without_a_numeric_version_are_verified_by_content(moto: str, version: Any) -> None:
    h = harness()
    item = user("nv", None) | ({"version": version} if version else {})
    records = [h.put(item)]
    h.replicate(item | {"name": {"S": "stale"}})
    h.forward(records)
    h.verify()
    assert accounted(h, records)[1] == {seq(records[0])}  # never confirmed blindly
    h.replicate(item)
    h.verify()
    assert accounted(h, records)[0] == {seq(records[0])}


def test_a_missing_version_past_the_max_lag_reaches_the_dlq_naming_the_attribute(moto: str) -> None:
    h = harness()
    h.environ[next(k for k in h.environ if k.endswith("MAX_SYNC_LAG_SECONDS"))] = "1"
    records = [h.put(user("nv", None))]
    h.forward(records)
    import time

    time.sleep(1.1)
    h.verify()
    confirmed, _, dead = accounted(h, records)
    assert dead == {seq(records[0])} and not confirmed
    assert "the item has no 'version' attribute" in h.dead[0]["reason"]


# ---- malformed messages go aside alone ---------------------------------------------------------


def test_each_malformed_message_goes_aside_alone_with_its_reason(moto: str) -> None:
    h = harness()
    records = forwarded_in_sync(h, user("ok", 1))
    body = json.loads(h.sqs.receive_message(QueueUrl=h.queue_url, VisibilityTimeout=0)["Messages"][0]["Body"])
    for broken in (
        "not json",
        json.dumps(body | {"key": {"pk": "u-1"}}),  # a key without a DynamoDB type
        json.dumps(body | {"key": {"pk": {"X": "u-1"}}}),
        json.dumps(body | {"key": {"other": {"S": "u-1"}}}),  # not the table's key schema
        json.dumps([1, 2]),
    ):
        h.send_raw(broken)
    h.verify()
    confirmed, pending, _ = accounted(h, records)
    assert confirmed == {seq(records[0])} and not pending
    reasons = sorted(d["reason"] for d in h.dead)
    assert len(reasons) == 5
    assert sum(r.startswith("malformed verification message") for r in reasons) == 4
    assert any(r.startswith("sync failed: the table rejected the key") for r in reasons)
    assert any("is not a typed DynamoDB value" in r for r in reasons)


def test_malformed_stream_records_go_aside_alone(moto: str) -> None:
    h = harness()
    good = h.put(user("fine", 1))
    untyped = h.put(user("untyped", 1))
    untyped["dynamodb"]["Keys"] = {"pk": "untyped"}
    response = h.forward([good, untyped])
    assert response == {"batchItemFailures": []}
    (dead,) = h.dlq()
    assert "is not a typed DynamoDB value" in dead["reason"]
    assert h.pending_sequences() == {seq(good)}


# ---- logs: no key in clear --------------------------------------------------------------------


def test_logs_carry_the_key_digest_never_the_key(moto: str) -> None:
    import subprocess
    import sys

    h = harness()
    from genba_sync import key_digest

    records = [h.put(user("someone@example.com", 1))]
    h.verifier.logger.setLevel("INFO")
    try:
        h.forward(records)
        h.verify()
    finally:
        h.verifier.logger.setLevel("WARNING")
    digest = key_digest({"pk": {"S": "someone@example.com"}})
    lines = [json.loads(line) for line in h.logs if line.startswith("{") and "_aws" not in line]
    assert any(line.get("request_id") == f"{digest}@{seq(records[0])}" for line in lines)
    assert "someone@example.com" not in "\n".join(h.logs)
    cli = subprocess.run(
        [sys.executable, "-m", "genba", "key-digest", '{"pk": {"S": "someone@example.com"}}'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert cli.stdout.strip() == digest
    for wrong in ('{"pk": "someone@example.com"}', "not json", '{"pk": {"X": "1"}}'):
        bad = subprocess.run([sys.executable, "-m", "genba", "key-digest", wrong], capture_output=True, text=True)
        assert bad.returncode == 2
        assert bad.stderr.startswith("genba: not a typed DynamoDB key:") and bad.stderr.count("\n") == 1, bad.stderr
