"""The verifier's pure core: check a batch of verification messages against the sync target.

``verify()`` takes its SQS client, target, settings and clock (a ``VerifierRuntime``) and a logger and returns
what it decided (messages to keep, counts, the metric values to publish, the outcome of each
message); the handler publishes and answers Lambda, the local simulator counts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from genba_sync import (
    CONTRACT,
    ENV,
    MESSAGE_FIELDS,
    METRICS,
    MalformedRecord,
    correlation_id,
    describe_error,
    json_summary,
    send_to_dlq,
    typed_key,
)
from targets import FAILED, NOT_YET, SYNCED, Change, Outcome
from visibility import (
    BACKOFF_FLOOR_SECONDS,
    PendingRegistry,
    VisibilityRequest,
    backoff_seconds,
    grantable_seconds,
    hold,
)

MAX_VISIBILITY = int(CONTRACT["max_visibility_timeout_seconds"])
DEFAULT_MAX_SYNC_LAG = 24 * 3600
# With no grace period the backoff still grows (1, 2, 4... s, visibility.BACKOFF_FLOOR_SECONDS) instead
# of spinning; the local simulator (tools/sim/pipeline.py) sets the floor to 0 to re-check at once.


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
    version_attribute: str = "version"
    backoff_floor_seconds: int = BACKOFF_FLOOR_SECONDS
    _receive_limit: list[int | None] = field(default_factory=list, compare=False, repr=False)

    def max_receive_count(self, sqs: Any) -> int | None:
        """The queue's redrive maxReceiveCount (read once, only when a visibility change was refused)."""
        if not self._receive_limit:
            limit: int | None = None
            try:
                attributes = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
                policy = json.loads(attributes.get("Attributes", {}).get("RedrivePolicy", "{}"))
                limit = int(policy["maxReceiveCount"]) if "maxReceiveCount" in policy else None
            except Exception:  # unknown: the message is kept, the refusal is logged and counted  # noqa: S110
                pass
            self._receive_limit.append(limit)
        return self._receive_limit[0]

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
            version_attribute=environ.get(ENV["version_attribute"], "version"),
            backoff_floor_seconds=backoff_floor_seconds,
        )


@dataclass
class Verification:
    """What ``verify()`` decided for one batch."""

    # message id -> visibility timeout before the next look (batch item failures)
    keep: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("verified", "not_yet", "failed", "expired", "malformed", "visibility_rejected", "dlq_unreachable"), 0
        )
    )
    # message id -> "verified", "not_yet" or "dead_lettered": what the local simulator counts
    outcomes: dict[str, str] = field(default_factory=dict)
    metrics: list[tuple[str, MetricUnit, float]] = field(default_factory=list)


@dataclass(frozen=True)
class VerifierRuntime:
    """What an invocation works with: the deployed client, target and settings, or the simulator's.

    ``observe`` sees each batch's decisions (the local simulator counts them); Lambda has none.
    ``pending`` is this execution environment's memory of the changes it left on the queue.
    """

    sqs: Any
    target: Target
    settings: VerifierSettings
    clock: Callable[[], float] = time.time
    observe: Callable[[Verification], None] | None = None
    pending: PendingRegistry = field(default_factory=PendingRegistry)


def parse(record: Mapping[str, Any]) -> Change:
    """One SQS record's verification message; MalformedRecord (with the reason) when it is not one."""
    try:
        body = json.loads(record["body"])
        if not isinstance(body, dict):
            raise MalformedRecord("message body is not a JSON object")
        key = typed_key(body.get("key"))
        version = body.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int | float)):
            raise MalformedRecord(f"version {version!r} is not a number")
        if body.get("event_name") not in {"INSERT", "MODIFY", "REMOVE"}:
            raise MalformedRecord(f"event_name {body.get('event_name')!r} is unknown")
        sequence = str(body["sequence"])
        if not sequence.isdigit():
            raise MalformedRecord(f"sequence {sequence!r} is not a stream sequence number")
        image_hash = body.get("image_hash")
        problem = body.get("version_problem")
        return Change(
            id=record["messageId"],
            key=key,
            key_text=str(body.get("key_text", "")),
            sequence=sequence,
            version=version,
            event_name=body["event_name"],
            event_time=float(body["event_time"]),
            canary=bool(body.get("canary", False)),
            image_hash=image_hash if isinstance(image_hash, str) else None,
            version_problem=problem if isinstance(problem, str) and version is None else None,
        )
    except MalformedRecord:
        raise
    except KeyError as error:
        raise MalformedRecord(f"malformed verification message: no {error} field") from None
    except (TypeError, ValueError) as error:  # the error's text would repeat the value: only its type
        raise MalformedRecord(
            f"malformed verification message: a field of the wrong type ({type(error).__name__})"
        ) from None


def _dlq_body(record: Mapping[str, Any]) -> str:
    """What of a message goes to the DLQ: a verification message's own fields (key, sequence, version,
    hash: none holds an image), never anything else a body may carry (personal data)."""
    return json_summary(record.get("body", ""), MESSAGE_FIELDS)


def verify(
    messages: Sequence[Mapping[str, Any]], run: VerifierRuntime, *, logger: Logger, invoked_at: float | None = None
) -> Verification:
    """Check a batch of SQS records: keep what is not synced yet, dead-letter what failed or expired.

    ``invoked_at`` (the invocation's start; default: now) bounds the messages' receive time, which
    bounds the visibility SQS will grant. ``run.pending`` remembers what this environment left on the
    queue, for ``PendingChangeAgeSeconds`` (published by every invocation, 0 when nothing is owed).
    """
    sqs, target, settings, clock, pending = run.sqs, run.target, run.settings, run.clock, run.pending
    now = clock()
    started = now if invoked_at is None else invoked_at
    grace, max_lag = settings.grace_seconds, settings.max_sync_lag_seconds
    critical = max_lag / 2  # the pending-change alarm's critical threshold (the construct's rule)
    result = Verification()
    counts = result.counts
    by_id = {str(record.get("messageId")): record for record in messages}
    changes: list[Change] = []
    to_dlq: list[tuple[str, str, str]] = []
    for record in messages:
        message_id = str(record.get("messageId"))
        try:
            changes.append(parse(record))
        except MalformedRecord as problem:
            counts["malformed"] += 1
            reason = str(problem)
            if not reason.startswith("malformed verification message"):
                reason = f"malformed verification message: {reason}"
            to_dlq.append((message_id, _dlq_body(record), reason))
            logger.error("malformed verification message", extra={"correlation_id": message_id, "reason": reason})

    outcomes: dict[str, Outcome] = {}
    if changes:
        try:
            outcomes = target.check(changes)
        except Exception as error:  # an unreachable target means "look again later"
            why = describe_error(error)  # never the exception's text: it may repeat a key that was sent
            logger.warning("sync target unavailable", extra={"error": why})
            outcomes = {c.id: Outcome(NOT_YET, f"target unavailable: {why}") for c in changes}

    keep = result.keep
    waiting: dict[str, tuple[float, float]] = {}
    reasons: dict[str, str] = {}
    requests: list[VisibilityRequest] = []
    for change in changes:
        outcome = outcomes.get(change.id, Outcome(NOT_YET, "target gave no answer"))
        cid = correlation_id(change.key, change.sequence)
        age = max(0.0, now - change.event_time)
        record = by_id[change.id]
        if outcome.status == SYNCED:
            counts["verified"] += 1
            result.metrics.append((METRICS["sync_lag"], MetricUnit.Seconds, round(age, 3)))
            if change.canary:
                result.metrics.append((METRICS["canary_verified"], MetricUnit.Count, 1))
            logger.debug(
                "change verified", extra={"correlation_id": cid, "lag_seconds": round(age, 3), "how": outcome.reason}
            )
        elif outcome.status == FAILED:
            counts["failed"] += 1
            to_dlq.append((change.id, _dlq_body(record), f"sync failed: {outcome.reason}"))
            logger.error("change failed to sync", extra={"correlation_id": cid, "reason": outcome.reason})
        elif age >= max_lag:
            counts["expired"] += 1
            reason = f"not synced within {max_lag / 3600:g} h (max sync lag): {outcome.reason}"
            to_dlq.append((change.id, _dlq_body(record), reason))
            logger.error(
                "change not synced within the maximum sync lag", extra={"correlation_id": cid, "reason": reason}
            )
        else:
            counts["not_yet"] += 1
            attributes = record.get("attributes") or {}
            receives = int(attributes.get("ApproximateReceiveCount", "1"))
            seconds = backoff_seconds(
                receives,
                grace=grace,
                seconds_left=max_lag - age,
                floor=settings.backoff_floor_seconds,
                grantable=grantable_seconds(attributes, invoked_at=started, now=clock()),
                until_threshold=critical - age if age < critical else None,
            )
            keep[change.id] = seconds
            waiting[change.id] = (change.event_time, now + seconds)
            reasons[change.id] = outcome.reason
            requests.append(VisibilityRequest(change.id, str(record.get("receiptHandle", "")), seconds))
            logger.info("change not synced yet", extra={"correlation_id": cid, "reason": outcome.reason})

    refused = hold(sqs, settings.queue_url, requests) if requests else {}
    for message_id, why in refused.items():
        counts["visibility_rejected"] += 1
        attributes = by_id[message_id].get("attributes") or {}
        receives = int(attributes.get("ApproximateReceiveCount", "1"))
        limit = settings.max_receive_count(sqs)
        last = f"visibility backoff refused by SQS ({why}); last check: {reasons[message_id]}"
        if limit is not None and receives + 1 >= limit:
            # SQS would move it to the DLQ on its next receive, without a reason: do it here.
            del keep[message_id]
            waiting.pop(message_id, None)
            to_dlq.append((message_id, _dlq_body(by_id[message_id]), last))
        logger.warning("visibility backoff not set", extra={"correlation_id": message_id, "reason": last})

    not_sent: set[str] = set()
    if to_dlq:
        not_sent, _ = send_to_dlq(sqs, settings.dlq_url, to_dlq, source="verifier")
        for message_id in not_sent:  # stays on the queue; it is looked at again after the visibility timeout
            keep.setdefault(message_id, -1)
            counts["dlq_unreachable"] += 1
    dead = {message_id for message_id, _, _ in to_dlq} - not_sent
    for message_id in by_id:
        result.outcomes[message_id] = (
            "dead_lettered" if message_id in dead else "not_yet" if message_id in keep else "verified"
        )
    pending.update(now, pending=waiting, done=set(by_id) - set(waiting))
    oldest = max([now - event_time for event_time, _ in waiting.values()] + [0.0, pending.oldest_age(now)])

    result.metrics += [
        (METRICS["verified"], MetricUnit.Count, counts["verified"]),
        (METRICS["not_yet"], MetricUnit.Count, counts["not_yet"]),
        (METRICS["failed"], MetricUnit.Count, counts["failed"] + counts["expired"] + counts["malformed"]),
        # Record-level failures are part of a successful invocation: Lambda's Errors never counts them.
        # (dead-lettered changes are counted by ChangesFailed and the DLQ's own alarm).
        (METRICS["failed_records"], MetricUnit.Count, counts["dlq_unreachable"] + counts["visibility_rejected"]),
        (METRICS["visibility_rejected"], MetricUnit.Count, counts["visibility_rejected"]),
        (METRICS["pending_age"], MetricUnit.Seconds, round(oldest, 3)),
    ]
    return result
