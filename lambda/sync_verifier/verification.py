"""The verifier's pure core: check a batch of verification messages against the sync target.

``verify()`` takes its SQS client, target, settings, logger and clock as arguments and returns
what it decided (messages to keep, counts, the metric values to publish, the outcome of each
message); the handler publishes and answers Lambda, the local simulator counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from genba_sync import CONTRACT, ENV, METRICS, MalformedRecord, correlation_id, send_to_dlq
from targets import FAILED, NOT_YET, SYNCED, Change, Outcome

MAX_VISIBILITY = int(CONTRACT["max_visibility_timeout_seconds"])
DEFAULT_MAX_SYNC_LAG = 24 * 3600
# With no grace period the backoff still grows (1, 2, 4... s) instead of spinning; the local
# simulator (tools/sync_sim.py) sets it to 0 to re-check at once.
BACKOFF_FLOOR_SECONDS = 1


class Target(Protocol):
    """A sync target (targets.py): answers synced / not_yet / failed per change id."""

    def check(self, changes: Sequence[Change]) -> dict[str, Outcome]: ...


@dataclass(frozen=True)
class VerifierSettings:
    """What the verifier needs from its environment (the construct sets it; names in the contract)."""

    queue_url: str
    dlq_url: str
    grace_seconds: int = 0
    max_sync_lag_seconds: int = DEFAULT_MAX_SYNC_LAG
    target_kind: str = "dynamodb"
    target_config: Mapping[str, Any] = field(default_factory=dict)
    source_table_name: str | None = None
    backoff_floor_seconds: int = BACKOFF_FLOOR_SECONDS

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, backoff_floor_seconds: int = BACKOFF_FLOOR_SECONDS
    ) -> VerifierSettings:
        return cls(
            queue_url=environ[ENV["verification_queue_url"]],
            dlq_url=environ[ENV["verification_dlq_url"]],
            grace_seconds=int(environ.get(ENV["grace_period_seconds"], "0")),
            max_sync_lag_seconds=int(environ.get(ENV["max_sync_lag_seconds"], str(DEFAULT_MAX_SYNC_LAG))),
            target_kind=environ.get(ENV["target_kind"], "dynamodb"),
            target_config=json.loads(environ.get(ENV["target_config"], "{}")),
            source_table_name=environ.get(ENV["source_table_name"]) or None,
            backoff_floor_seconds=backoff_floor_seconds,
        )


@dataclass
class Verification:
    """What ``verify()`` decided for one batch."""

    # message id -> visibility timeout before the next look (batch item failures)
    keep: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(
        default_factory=lambda: {"verified": 0, "not_yet": 0, "failed": 0, "expired": 0, "malformed": 0}
    )
    # message id -> "verified", "not_yet" or "dead_lettered": what the local simulator counts
    outcomes: dict[str, str] = field(default_factory=dict)
    metrics: list[tuple[str, MetricUnit, float]] = field(default_factory=list)


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


def backoff_seconds(receive_count: int, *, grace: int, seconds_left: float, floor: int = BACKOFF_FLOOR_SECONDS) -> int:
    """Visibility before the next look: grace x 2^(receives-1) (grace at least ``floor`` s), at most 12 h,
    never past the deadline."""
    growing = max(grace, floor) * 2 ** max(0, min(receive_count - 1, 20))
    return int(max(0, min(growing, MAX_VISIBILITY, max(seconds_left, 0) + 1)))


def verify(
    messages: Sequence[Mapping[str, Any]],
    *,
    sqs: Any,
    target: Target,
    settings: VerifierSettings,
    logger: Logger,
    clock: Callable[[], float],
) -> Verification:
    """Check a batch of SQS records: keep what is not synced yet, dead-letter what failed or expired."""
    now = clock()
    grace, max_lag = settings.grace_seconds, settings.max_sync_lag_seconds
    result = Verification()
    counts = result.counts
    by_id = {record["messageId"]: record for record in messages}
    changes: list[Change] = []
    to_dlq: list[tuple[str, str, str]] = []
    for record in messages:
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
            outcomes = target.check(changes)
        except Exception as error:  # an unreachable target means "look again later"
            logger.warning("sync target unavailable", extra={"error": repr(error)[:500]})
            outcomes = {c.id: Outcome(NOT_YET, f"target unavailable: {error!r}"[:500]) for c in changes}

    keep = result.keep
    for change in changes:
        outcome = outcomes.get(change.id, Outcome(NOT_YET, "target gave no answer"))
        cid = correlation_id(change.key, change.sequence)
        age = max(0.0, now - change.event_time)
        if outcome.status == SYNCED:
            counts["verified"] += 1
            result.metrics.append((METRICS["sync_lag"], MetricUnit.Seconds, round(age, 3)))
            if change.canary:
                result.metrics.append((METRICS["canary_verified"], MetricUnit.Count, 1))
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
            result.metrics.append((METRICS["pending_age"], MetricUnit.Seconds, round(age, 3)))
            receives = int(by_id[change.id].get("attributes", {}).get("ApproximateReceiveCount", "1"))
            keep[change.id] = backoff_seconds(
                receives, grace=grace, seconds_left=max_lag - age, floor=settings.backoff_floor_seconds
            )
            logger.info("change not synced yet", extra={"correlation_id": cid, "reason": outcome.reason})

    not_sent: set[str] = set()
    if to_dlq:
        not_sent, _ = send_to_dlq(sqs, settings.dlq_url, to_dlq, source="verifier")
        for message_id in not_sent:  # stays on the queue; it is looked at again after the visibility timeout
            keep.setdefault(message_id, -1)
    dead = {message_id for message_id, _, _ in to_dlq} - not_sent
    for message_id in by_id:
        result.outcomes[message_id] = (
            "dead_lettered" if message_id in dead else "not_yet" if message_id in keep else "verified"
        )
    _change_visibility(sqs, settings.queue_url, {mid: s for mid, s in keep.items() if s >= 0}, by_id, logger)

    result.metrics += [
        (METRICS["verified"], MetricUnit.Count, counts["verified"]),
        (METRICS["not_yet"], MetricUnit.Count, counts["not_yet"]),
        (METRICS["failed"], MetricUnit.Count, counts["failed"] + counts["expired"] + counts["malformed"]),
    ]
    return result


def _change_visibility(
    sqs: Any,
    queue_url: str,
    visibility: dict[str, int],
    by_id: Mapping[str, Mapping[str, Any]],
    logger: Logger,
) -> None:
    items = list(visibility.items())
    for start in range(0, len(items), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": by_id[mid]["receiptHandle"], "VisibilityTimeout": seconds}
            for i, (mid, seconds) in enumerate(items[start : start + 10])
        ]
        try:
            sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as error:  # the queue's own visibility timeout applies instead
            logger.warning("visibility backoff not set", extra={"error": repr(error)[:300]})
