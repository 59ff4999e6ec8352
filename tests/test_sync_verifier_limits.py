"""The verifier under SQS's real visibility limit, the OpenSearch target's ids and versions, and
the pending-age signal.

SQS's rule, modelled here (Amazon SQS Developer Guide, "Visibility timeout"): a message's
visibility can be extended to at most 12 hours from its receive; a longer request is rejected
(ChangeMessageVisibilityBatch answers it in ``Failed`` with ``InvalidParameterValue``). moto
does not enforce the limit from the receive, so :class:`StrictSqs` plays SQS here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tools.sim import handler_module

handler_module("sync_verifier")

import verification  # noqa: E402
import visibility  # noqa: E402
from targets import Change, OpenSearchTarget, document_id, numeric  # noqa: E402

from genba_constructs.sync_verification.timing import SyncTiming  # noqa: E402

HOUR = 3600
DAY = 24 * HOUR


class StrictSqs:
    """SQS's visibility rule: at most 12 h from the (current) receive."""

    def __init__(self, received_at: float, clock: list[float], *, refuse_all: bool = False) -> None:
        self.received_at = received_at
        self.clock = clock
        self.refuse_all = refuse_all
        self.granted: list[int] = []
        self.sent: list[dict[str, Any]] = []

    def change_message_visibility_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        failed, ok = [], []
        for entry in Entries:
            if self.refuse_all or self.clock[0] + entry["VisibilityTimeout"] > self.received_at + 43_200:
                failed.append({"Id": entry["Id"], "Code": "InvalidParameterValue", "SenderFault": True})
            else:
                self.granted.append(entry["VisibilityTimeout"])
                ok.append({"Id": entry["Id"]})
        return {"Successful": ok, "Failed": failed}

    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        return {"Attributes": {"RedrivePolicy": json.dumps({"maxReceiveCount": 20, "deadLetterTargetArn": "x"})}}

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.sent += Entries
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


class NeverSynced:
    reads = 0

    def check(self, changes: list[Change]) -> dict[str, Any]:
        from targets import NOT_YET, Outcome

        return {c.id: Outcome(NOT_YET, "missing in the target (version 1)") for c in changes}


class Quiet:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


QUIET: Any = Quiet()  # stands in for verify()'s Logger: every call is answered, nothing is printed


def sqs_record(event_time: float, receives: int, first_receive: float) -> dict[str, Any]:
    body = {"key": {"pk": {"S": "u-1"}}, "sequence": "100", "version": 1, "event_name": "INSERT"}
    return {
        "messageId": "m-1",
        "receiptHandle": "r-1",
        "body": json.dumps(body | {"event_time": event_time}),
        "attributes": {
            "ApproximateReceiveCount": str(receives),
            "SentTimestamp": str(int(event_time * 1000)),
            "ApproximateFirstReceiveTimestamp": str(int(first_receive * 1000)),
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }


def settings(**kwargs: Any) -> verification.VerifierSettings:
    return verification.VerifierSettings(queue_url="q", dlq_url="dlq", **kwargs)


def test_the_backoff_reaches_the_max_sync_lag_under_the_real_12_hour_limit() -> None:
    """A change never synced: received, processed (batching window + a full timeout), backed off
    with what SQS grants, received again... it reaches the DLQ at 24 h with its reason, within
    the default max_receive_count (20), and SQS refuses none of the requests."""
    timing = SyncTiming()
    assert list(timing.problems()) == []
    start = 1_800_000_000.0
    now = [start + timing.grace_seconds]
    first = now[0]
    for receives in range(1, timing.max_receive_count + 1):
        received = now[0]
        invoked = received + timing.verifier_batching_window.to_seconds()
        now[0] = invoked + timing.verifier_timeout.to_seconds()  # the slowest invocation
        sqs = StrictSqs(received, now)
        run = verification.VerifierRuntime(
            sqs=sqs, target=NeverSynced(), settings=settings(grace_seconds=timing.grace_seconds), clock=lambda: now[0]
        )
        result = verification.verify([sqs_record(start, receives, first)], run, logger=QUIET, invoked_at=invoked)
        if result.outcomes["m-1"] == "dead_lettered":
            assert sqs.sent[0]["MessageAttributes"]["genba-reason"]["StringValue"].startswith("not synced within 24 h")
            assert now[0] - start >= DAY
            break
        assert result.counts["visibility_rejected"] == 0
        (granted,) = sqs.granted
        now[0] += granted
    else:
        pytest.fail("the change was never dead-lettered by the verifier: SQS would have, without a reason")
    assert receives <= timing.max_receive_count


def test_the_construct_rule_counts_only_what_sqs_grants() -> None:
    # A 15-minute grace: 7 receives would cover 24 h if every request got the full 12 h; under what
    # SQS grants (and with the early look at the critical threshold) it takes 8.
    problems = [p[0] for p in SyncTiming(grace_period=_minutes(15), max_receive_count=7).problems()]
    assert "max_receive_count" in problems
    problems = [p[0] for p in SyncTiming(grace_period=_minutes(15), max_receive_count=8).problems()]
    assert "max_receive_count" not in problems


def _minutes(n: int) -> Any:
    from aws_cdk import Duration

    return Duration.minutes(n)


def test_a_refused_visibility_change_is_retried_shorter() -> None:
    now = [1_800_000_000.0]
    sqs = StrictSqs(received_at=now[0] - 6 * HOUR, clock=now)  # 6 h left of SQS's 12 h
    assert visibility.hold(sqs, "q", [visibility.VisibilityRequest("m", "r", 8 * HOUR)]) == {}
    assert sqs.granted == [4 * HOUR]
    sqs = StrictSqs(received_at=now[0] - 11.5 * HOUR, clock=now)
    assert visibility.hold(sqs, "q", [visibility.VisibilityRequest("m", "r", 8 * HOUR)]) == {}
    assert sqs.granted == [60]


def test_grantable_seconds_counts_from_the_receive_not_the_invocation() -> None:
    now = 1_800_000_000.0
    fresh = visibility.grantable_seconds({}, invoked_at=now, now=now)
    assert fresh == 43_200 - 300 - 60 - 60
    first_receive = {"ApproximateFirstReceiveTimestamp": str(int((now - 100) * 1000))}
    assert visibility.grantable_seconds(first_receive, invoked_at=now, now=now + 30) == 43_200 - 130 - 60


def test_a_refusal_at_the_last_receive_goes_to_the_dlq_with_its_reason() -> None:
    now = [1_800_000_000.0]
    sqs = StrictSqs(now[0], now, refuse_all=True)
    run = verification.VerifierRuntime(
        sqs=sqs, target=NeverSynced(), settings=settings(grace_seconds=60), clock=lambda: now[0]
    )
    result = verification.verify([sqs_record(now[0] - HOUR, 19, now[0] - HOUR)], run, logger=QUIET)
    assert result.outcomes["m-1"] == "dead_lettered"
    reason = sqs.sent[0]["MessageAttributes"]["genba-reason"]["StringValue"]
    assert reason.startswith("visibility backoff refused by SQS") and "missing in the target" in reason
    assert ("FailedRecords", "Count", 1) in [(n, str(u.value), v) for n, u, v in result.metrics]


def test_pending_change_age_is_published_by_every_invocation() -> None:
    """An old change backing off for hours is still reported while other batches are handled."""
    registry = visibility.PendingRegistry()
    now = [1_800_000_000.0]
    sqs = StrictSqs(now[0], now)

    def run(**settings_overrides: Any) -> Any:
        return verification.VerifierRuntime(
            sqs=sqs,
            target=NeverSynced(),
            settings=settings(**settings_overrides),
            clock=lambda: now[0],
            pending=registry,
        )

    old = sqs_record(now[0] - 5 * HOUR, 8, now[0])
    verification.verify([old], run(grace_seconds=60), logger=QUIET)
    now[0] += 600
    fresh = sqs_record(now[0] - 10, 1, now[0]) | {"messageId": "m-2"}
    result = verification.verify([fresh], run(), logger=QUIET)
    ages = [v for n, _, v in result.metrics if n == "PendingChangeAgeSeconds"]
    assert ages == [pytest.approx(5 * HOUR + 600)]
    empty = verification.verify([], run(), logger=QUIET)
    assert [v for n, _, v in empty.metrics if n == "PendingChangeAgeSeconds"] == [pytest.approx(5 * HOUR + 600)]


# ---- OpenSearch: ids, string versions, keys-only streams ---------------------------------------


def test_opensearch_document_ids_do_not_collide() -> None:
    keys = [
        {"a": {"S": "x|y"}, "b": {"S": "z"}},
        {"a": {"S": "x"}, "b": {"S": "y|z"}},
        {"a": {"S": 'x","y'}, "b": {"S": "z"}},
        {"a": {"S": "x"}, "b": {"S": '","y", "z'}},
    ]
    assert len({document_id(k) for k in keys}) == len(keys)
    assert document_id({"pk": {"S": "u-1"}}) == "u-1"
    assert document_id({"pk": {"B": "AAE="}}) == "AAE="


def test_opensearch_versions_stored_as_strings_compare_numerically() -> None:
    assert numeric("10") == 10 and numeric("9") < numeric("10")  # type: ignore[operator]
    assert numeric("1.5") == 1.5 and numeric("x") is None and numeric(True) is None


class _Response:
    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def read(self) -> bytes:
        return json.dumps(self.payload).encode()


class _SourceTable:
    def __init__(self, version: str | None) -> None:
        self.version = version
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        (table,) = RequestItems
        item = {"pk": {"S": "u-1"}} | ({"version": {"N": self.version}} if self.version else {})
        return {"Responses": {table: [item]}, "UnprocessedKeys": {}}


def keys_only_change() -> Change:
    return Change(
        id="m", key={"pk": {"S": "u-1"}}, key_text="", sequence="1", version=None, event_name="MODIFY", event_time=0
    )


@pytest.mark.parametrize(("document_version", "status"), [(2, "not_yet"), ("3", "synced"), (3, "synced")])
def test_keys_only_streams_read_the_source_version_for_opensearch(document_version: Any, status: str) -> None:
    source = _SourceTable("3")
    doc = {"_id": "u-1", "found": True, "_source": {"version": document_version}}
    target = OpenSearchTarget(
        endpoint="http://127.0.0.1:1",
        index="users",
        version_field="version",
        opener=lambda request, timeout: _Response({"docs": [doc]}),
        dynamodb=source,
        source_table_name="users",
        version_attribute="version",
    )
    assert target.check([keys_only_change()])["m"].status == status
    (request,) = source.requests
    assert request["users"]["ProjectionExpression"] == "#a0, #a1"
    assert request["users"]["ExpressionAttributeNames"] == {"#a0": "pk", "#a1": "version"}


def test_opensearch_without_a_numeric_source_version_dead_letters_naming_the_attribute() -> None:
    doc = {"_id": "u-1", "found": True, "_source": {"version": 3}}
    target = OpenSearchTarget(
        endpoint="http://127.0.0.1:1",
        index="users",
        version_field="version",
        opener=lambda request, timeout: _Response({"docs": [doc]}),
        dynamodb=_SourceTable(None),
        source_table_name="users",
        version_attribute="version",
    )
    outcome = target.check([keys_only_change()])["m"]
    assert outcome.status == "failed" and "'version' attribute" in outcome.reason
