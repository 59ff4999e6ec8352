"""The sync-verification pipeline's shared handler code: the message shape and the forwarding step.

Used by the forwarder (stream -> verification queue) and by the replay function (on-failure
range -> stream -> verification queue), so both send exactly the same verification message::

    {"v": 1, "key": {"pk": {"S": "u-1"}}, "key_text": "pk=u-1", "sequence": "4000...01",
     "version": 7, "event_name": "MODIFY", "event_time": 1795000000.0, "forwarded_at": 1795000001.5,
     "canary": false}

``version`` is the number in the configured version attribute of the new image (the old image
for REMOVE), or null when the stream carries keys only (the verifier then reads the source).
The names of environment variables, metrics and DLQ attributes are in
``genba_sync_contract.json``, which the CDK construct reads too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

CONTRACT: dict[str, Any] = json.loads((Path(__file__).resolve().parent / "genba_sync_contract.json").read_text())
ENV: dict[str, str] = CONTRACT["environment"]
METRICS: dict[str, str] = CONTRACT["metrics"]
NAMESPACE: str = CONTRACT["metrics_namespace"]
REASON_ATTRIBUTE: str = CONTRACT["dlq_reason_attribute"]
SOURCE_ATTRIBUTE: str = CONTRACT["dlq_source_attribute"]
MAX_DELAY_SECONDS: int = CONTRACT["max_delay_seconds"]
MESSAGE_VERSION = 1
SQS_BATCH = 10
SEND_ATTEMPTS = 3
EVENT_NAMES = frozenset({"INSERT", "MODIFY", "REMOVE"})


class MalformedRecord(ValueError):
    """A stream record (or verification message) that cannot be understood; goes to the DLQ with this reason."""


def key_text(key: Mapping[str, Mapping[str, Any]]) -> str:
    """``pk=u-1,sk=profile``: a key as people read it (and as the correlation id starts)."""
    return ",".join(f"{name}={next(iter(key[name].values()))}" for name in sorted(key))


def correlation_id(key: Mapping[str, Mapping[str, Any]], sequence: str) -> str:
    return f"{key_text(key)}@{sequence}"


def number(value: Any) -> int | float | None:
    """The number in a DynamoDB ``{"N": "7"}`` attribute value, or None."""
    if not isinstance(value, Mapping) or "N" not in value:
        return None
    try:
        parsed = Decimal(str(value["N"]))
    except ArithmeticError:
        return None
    return int(parsed) if parsed == parsed.to_integral_value() else float(parsed)


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    raise MalformedRecord(f"ApproximateCreationDateTime {value!r} is not a time")


def verification_message(
    record: Mapping[str, Any],
    *,
    version_attribute: str,
    canary_key: Mapping[str, Mapping[str, Any]] | None,
    now: float,
) -> dict[str, Any]:
    """The verification message for one DynamoDB stream record (Lambda event shape)."""
    if not isinstance(record, Mapping):
        raise MalformedRecord("record is not an object")
    event_name = record.get("eventName")
    if event_name not in EVENT_NAMES:
        raise MalformedRecord(f"eventName {event_name!r} is not INSERT, MODIFY or REMOVE")
    change = record.get("dynamodb")
    if not isinstance(change, Mapping):
        raise MalformedRecord("record has no 'dynamodb' object")
    key = change.get("Keys")
    if not isinstance(key, Mapping) or not key or not all(isinstance(v, Mapping) and len(v) == 1 for v in key.values()):
        raise MalformedRecord("record has no usable Keys")
    sequence = change.get("SequenceNumber")
    if not isinstance(sequence, str) or not sequence.isdigit():
        raise MalformedRecord(f"SequenceNumber {sequence!r} is not a stream sequence number")
    image = change.get("OldImage" if event_name == "REMOVE" else "NewImage")
    version = number(image.get(version_attribute)) if isinstance(image, Mapping) else None
    return {
        "v": MESSAGE_VERSION,
        "key": dict(key),
        "key_text": key_text(key),
        "sequence": sequence,
        "version": version,
        "event_name": event_name,
        "event_time": _epoch(change.get("ApproximateCreationDateTime", now)),
        "forwarded_at": now,
        "canary": canary_key is not None and dict(key) == dict(canary_key),
    }


@dataclass
class ForwardResult:
    """What one forwarding step did; ``failed`` holds the sequence numbers to report as batch item failures."""

    sent: int = 0
    #: of ``sent``, the changes that are not the canary's (real changes of the source table).
    changes: int = 0
    malformed: int = 0
    sqs_calls: int = 0
    failed: set[str] = field(default_factory=set)


def _send_batch(
    sqs: Any,
    queue_url: str,
    entries: list[dict[str, Any]],
    result: ForwardResult,
    sleep: Callable[[float], None],
) -> list[dict[str, Any]]:
    """SendMessageBatch with retries of the entries that failed for a retryable reason; returns the rest."""
    pending = entries
    for attempt in range(SEND_ATTEMPTS):
        if attempt:
            sleep(0.05 * 2**attempt)
        try:
            result.sqs_calls += 1
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=pending)
        except Exception:  # throttling, network, 5xx: retry the whole batch  # noqa: S112
            continue
        by_id = {entry["Id"]: entry for entry in pending}
        failed = response.get("Failed") or []
        pending = [by_id[f["Id"]] for f in failed if f["Id"] in by_id]
        if not pending:
            return []
        if all(f.get("SenderFault") for f in failed):
            return pending  # retrying the same request cannot help
    return pending


def send_to_dlq(
    sqs: Any,
    dlq_url: str,
    items: Sequence[tuple[str, str, str]],
    *,
    source: str,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[set[str], int]:
    """Send (item id, body, reason) triples to the DLQ with the reason attribute; returns (ids not sent, calls)."""
    result = ForwardResult()
    not_sent: set[str] = set()
    for start in range(0, len(items), SQS_BATCH):
        chunk = items[start : start + SQS_BATCH]
        entries = [
            {
                "Id": str(index),
                "MessageBody": body[:200_000],
                "MessageAttributes": {
                    REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:1000] or "unknown"},
                    SOURCE_ATTRIBUTE: {"DataType": "String", "StringValue": source},
                },
            }
            for index, (_, body, reason) in enumerate(chunk)
        ]
        for entry in _send_batch(sqs, dlq_url, entries, result, sleep):
            not_sent.add(chunk[int(entry["Id"])][0])
    return not_sent, result.sqs_calls


@dataclass(frozen=True)
class ForwardSettings:
    """What ``forward()`` needs from the function's environment (the construct sets it; names in the contract)."""

    queue_url: str
    dlq_url: str
    delay_seconds: int = 0
    version_attribute: str = "version"
    canary_key: Mapping[str, Mapping[str, Any]] | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ForwardSettings:
        canary = environ.get(ENV["canary_key"])
        return cls(
            queue_url=environ[ENV["verification_queue_url"]],
            dlq_url=environ[ENV["verification_dlq_url"]],
            delay_seconds=int(environ.get(ENV["grace_period_seconds"], "0")),
            version_attribute=environ.get(ENV["version_attribute"], "version"),
            canary_key=json.loads(canary) if canary else None,
        )


def forward(
    records: Iterable[Mapping[str, Any]],
    *,
    sqs: Any,
    settings: ForwardSettings,
    source: str,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str, Mapping[str, Any]], None] = lambda message, extra: None,
) -> ForwardResult:
    """Send one verification message per change, 10 per SendMessageBatch, each delayed by the grace period.

    Malformed records go to the DLQ with their reason and never block the rest of the batch.
    Idempotent: forwarding a record twice only makes the verifier check it twice.
    """
    result = ForwardResult()
    messages: list[tuple[str, dict[str, Any]]] = []
    malformed: list[tuple[str, str, str]] = []
    stamp = clock()
    for index, record in enumerate(records):
        dynamodb = record.get("dynamodb") if isinstance(record, Mapping) else None
        sequence = dynamodb.get("SequenceNumber") if isinstance(dynamodb, Mapping) else None
        item_id = sequence if isinstance(sequence, str) else f"record-{index}"
        try:
            message = verification_message(
                record, version_attribute=settings.version_attribute, canary_key=settings.canary_key, now=stamp
            )
            messages.append((item_id, message))
        except MalformedRecord as problem:
            malformed.append((item_id, json.dumps(record, default=str), f"malformed stream record: {problem}"))
            log("malformed stream record sent to the DLQ", {"correlation_id": item_id, "reason": str(problem)})

    delay = max(0, min(int(settings.delay_seconds), MAX_DELAY_SECONDS))
    for start in range(0, len(messages), SQS_BATCH):
        chunk = messages[start : start + SQS_BATCH]
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(message), "DelaySeconds": delay}
            for i, (_, message) in enumerate(chunk)
        ]
        unsent = _send_batch(sqs, settings.queue_url, entries, result, sleep)
        for entry in unsent:
            item_id, message = chunk[int(entry["Id"])]
            result.failed.add(item_id)
            log(
                "verification message not sent; the stream will deliver the change again",
                {"correlation_id": correlation_id(message["key"], message["sequence"])},
            )
        result.sent += len(chunk) - len(unsent)
        not_sent_ids = {entry["Id"] for entry in unsent}
        result.changes += sum(
            1 for i, (_, message) in enumerate(chunk) if not message["canary"] and str(i) not in not_sent_ids
        )

    if malformed:
        not_sent, calls = send_to_dlq(sqs, settings.dlq_url, malformed, source=source, sleep=sleep)
        result.sqs_calls += calls
        result.failed |= {item_id for item_id in not_sent if not item_id.startswith("record-")}
        result.malformed = len(malformed) - len(not_sent)
    return result
