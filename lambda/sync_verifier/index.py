"""Verifier: checks each change on the verification queue against the sync target.

Per change, one of:

- synced: the message is deleted (a successful batch item); ``ChangesVerified`` and the sync
  lag (``SyncLagSeconds``, seconds from the change to its verification) are published, and
  ``CanaryVerified`` for the canary item;
- not yet: the message stays (a batch item failure) and becomes visible again after a backoff
  that doubles with each receive (grace period x 2^(receives-1), at most 12 h, never past the
  change's deadline); ``PendingChangeAgeSeconds`` is published;
- failed, malformed, or not synced within the maximum sync lag: sent to the verification DLQ
  explicitly, with the reason in a message attribute, then deleted.

Idempotent: checking a change twice gives the same answer; the target is only read.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from genba_logging import get_logger
from genba_sync import CONTRACT, ENV, METRICS, NAMESPACE, MalformedRecord, correlation_id, send_to_dlq
from targets import FAILED, NOT_YET, SYNCED, Change, DynamoDbTarget, HttpTarget, LambdaTarget, OpenSearchTarget, Outcome

logger = get_logger()
metrics = Metrics(namespace=NAMESPACE)
clients: dict[str, Any] = {}
clock: Callable[[], float] = time.time
# Outcome per message id of the last batch ("verified", "not_yet", "dead_lettered"): what the
# local pipeline (tools/sync_sim.py) counts; Lambda ignores it.
last_results: dict[str, str] = {}
MAX_VISIBILITY = int(CONTRACT["max_visibility_timeout_seconds"])
DEFAULT_MAX_SYNC_LAG = 24 * 3600
# With no grace period the backoff still grows (1, 2, 4... s) instead of spinning; the local
# simulator (tools/sync_sim.py) sets it to 0 to re-check at once.
BACKOFF_FLOOR_SECONDS = 1


def client(name: str) -> Any:
    if name not in clients:
        clients[name] = boto3.client(name)
    return clients[name]


def make_target(environ: Mapping[str, str]) -> Any:
    kind = environ.get(ENV["target_kind"], "dynamodb")
    config = json.loads(environ.get(ENV["target_config"], "{}"))
    if kind == "dynamodb":
        return DynamoDbTarget(
            dynamodb=client("dynamodb"),
            table_name=config["table_name"],
            version_attribute=config.get("version_attribute", "version"),
            source_table_name=environ.get(ENV["source_table_name"]) or None,
        )
    if kind == "opensearch":
        session = boto3.session.Session()
        return OpenSearchTarget(
            endpoint=config["endpoint"],
            index=config["index"],
            version_field=config.get("version_field", "version"),
            service=config.get("service", "es"),
            region=session.region_name,
            credentials=session.get_credentials(),
        )
    if kind == "http":
        return HttpTarget(url=config["url"], timeout_seconds=float(config.get("timeout_seconds", 10)))
    if kind == "lambda":
        return LambdaTarget(lambda_client=client("lambda"), function_name=config["function_name"])
    raise ValueError(f"unknown sync target kind {kind!r}")


targets: dict[str, Any] = {}


def target() -> Any:
    if "target" not in targets:
        targets["target"] = make_target(os.environ)
    return targets["target"]


def parse(record: Mapping[str, Any]) -> Change:
    try:
        body = json.loads(record["body"])
        key = body["key"]
        if not isinstance(key, dict) or not key:
            raise MalformedRecord("message has no key")
        version = body.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int | float)):
            raise MalformedRecord(f"version {version!r} is not a number")
        if body.get("event_name") not in {"INSERT", "MODIFY", "REMOVE"}:
            raise MalformedRecord(f"event_name {body.get('event_name')!r} is unknown")
        return Change(
            id=record["messageId"],
            key=key,
            key_text=str(body.get("key_text", "")),
            sequence=str(body["sequence"]),
            version=version,
            event_name=body["event_name"],
            event_time=float(body["event_time"]),
            canary=bool(body.get("canary", False)),
        )
    except MalformedRecord:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedRecord(f"malformed verification message: {error!r}") from None


def backoff_seconds(receive_count: int, *, grace: int, seconds_left: float) -> int:
    """Visibility before the next look: grace x 2^(receives-1) (grace at least 1 s), at most 12 h,
    never past the deadline."""
    growing = max(grace, BACKOFF_FLOOR_SECONDS) * 2 ** max(0, min(receive_count - 1, 20))
    return int(max(0, min(growing, MAX_VISIBILITY, max(seconds_left, 0) + 1)))


def verify(records: list[dict[str, Any]]) -> tuple[set[str], dict[str, int]]:
    """Check a batch; returns the message ids to keep (batch item failures) and counts by outcome."""
    now = clock()
    grace = int(os.environ.get(ENV["grace_period_seconds"], "0"))
    max_lag = int(os.environ.get(ENV["max_sync_lag_seconds"], str(DEFAULT_MAX_SYNC_LAG)))
    queue_url = os.environ[ENV["verification_queue_url"]]
    dlq_url = os.environ[ENV["verification_dlq_url"]]
    counts = {"verified": 0, "not_yet": 0, "failed": 0, "expired": 0, "malformed": 0}
    by_id = {record["messageId"]: record for record in records}
    changes: list[Change] = []
    to_dlq: list[tuple[str, str, str]] = []
    for record in records:
        try:
            changes.append(parse(record))
        except MalformedRecord as problem:
            counts["malformed"] += 1
            to_dlq.append(
                (record["messageId"], str(record.get("body", "")), f"malformed verification message: {problem}")
            )
            logger.error("malformed verification message", extra={"correlation_id": record["messageId"]})

    outcomes: dict[str, Outcome] = {}
    if changes:
        try:
            outcomes = target().check(changes)
        except Exception as error:  # an unreachable target means "look again later"
            logger.warning("sync target unavailable", extra={"error": repr(error)[:500]})
            outcomes = {c.id: Outcome(NOT_YET, f"target unavailable: {error!r}"[:500]) for c in changes}

    keep: dict[str, int] = {}
    for change in changes:
        outcome = outcomes.get(change.id, Outcome(NOT_YET, "target gave no answer"))
        cid = correlation_id(change.key, change.sequence)
        age = max(0.0, now - change.event_time)
        if outcome.status == SYNCED:
            counts["verified"] += 1
            metrics.add_metric(name=METRICS["sync_lag"], unit=MetricUnit.Seconds, value=round(age, 3))
            if change.canary:
                metrics.add_metric(name=METRICS["canary_verified"], unit=MetricUnit.Count, value=1)
            logger.debug("change verified", extra={"correlation_id": cid, "lag_seconds": round(age, 3)})
        elif outcome.status == FAILED:
            counts["failed"] += 1
            to_dlq.append((change.id, by_id[change.id]["body"], f"sync failed: {outcome.reason}"))
            logger.error("change failed to sync", extra={"correlation_id": cid, "reason": outcome.reason})
        elif age >= max_lag:
            counts["expired"] += 1
            reason = f"not synced within {max_lag / 3600:g} h (max sync lag): {outcome.reason}"
            to_dlq.append((change.id, by_id[change.id]["body"], reason))
            logger.error(
                "change not synced within the maximum sync lag", extra={"correlation_id": cid, "reason": reason}
            )
        else:
            counts["not_yet"] += 1
            metrics.add_metric(name=METRICS["pending_age"], unit=MetricUnit.Seconds, value=round(age, 3))
            receives = int(by_id[change.id].get("attributes", {}).get("ApproximateReceiveCount", "1"))
            keep[change.id] = backoff_seconds(receives, grace=grace, seconds_left=max_lag - age)
            logger.info("change not synced yet", extra={"correlation_id": cid, "reason": outcome.reason})

    not_sent: set[str] = set()
    if to_dlq:
        not_sent, _ = send_to_dlq(client("sqs"), dlq_url, to_dlq, source="verifier")
        for message_id in not_sent:  # stays on the queue; it is looked at again after the visibility timeout
            keep.setdefault(message_id, -1)
    last_results.clear()
    dead = {message_id for message_id, _, _ in to_dlq} - not_sent
    for message_id in by_id:
        last_results[message_id] = (
            "dead_lettered" if message_id in dead else "not_yet" if message_id in keep else "verified"
        )
    _change_visibility(queue_url, {mid: s for mid, s in keep.items() if s >= 0}, by_id)

    metrics.add_metric(name=METRICS["verified"], unit=MetricUnit.Count, value=counts["verified"])
    metrics.add_metric(name=METRICS["not_yet"], unit=MetricUnit.Count, value=counts["not_yet"])
    metrics.add_metric(
        name=METRICS["failed"], unit=MetricUnit.Count, value=counts["failed"] + counts["expired"] + counts["malformed"]
    )
    return set(keep), counts


def _change_visibility(queue_url: str, visibility: dict[str, int], by_id: Mapping[str, Mapping[str, Any]]) -> None:
    items = list(visibility.items())
    for start in range(0, len(items), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": by_id[mid]["receiptHandle"], "VisibilityTimeout": seconds}
            for i, (mid, seconds) in enumerate(items[start : start + 10])
        ]
        try:
            client("sqs").change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as error:  # the queue's own visibility timeout applies instead
            logger.warning("visibility backoff not set", extra={"error": repr(error)[:300]})


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    keep, counts = verify(event.get("Records") or [])
    logger.info("verification batch done", extra=counts)

    def record_handler(record: Any) -> None:
        if record.message_id in keep:
            raise RuntimeError("not synced yet")

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
