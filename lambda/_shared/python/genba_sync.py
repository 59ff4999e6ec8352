"""The sync-verification pipeline's shared handler code: the message shape and the forwarding step.

Used by the forwarder (stream -> verification queue) and by the replay function (on-failure
range -> stream -> verification queue), so both send exactly the same verification message::

    {"v": 1, "key": {"pk": {"S": "u-1"}}, "key_text": "pk=u-1", "sequence": "4000...01",
     "version": 7, "image_hash": "9f2c...", "version_problem": null, "event_name": "MODIFY",
     "event_time": 1795000000.0, "forwarded_at": 1795000001.5, "canary": false}

``key`` is in DynamoDB's typed form exactly as the stream gives it to Lambda (binary values as
base64 text; GetRecords' bytes are turned into that text once, here), and stays so end to end:
only the boto3 call that reads a table decodes it (:func:`boto_key`).
``version`` is the number in the configured version attribute of the new image (the old image
for REMOVE), or null when the image has none: ``version_problem`` then says why (the attribute
is missing, or not a number) and the verifier compares content hashes instead. ``image_hash``
is :func:`item_hash` of that image (null when the stream carries keys only, or for the image a
view type leaves out; the verifier then reads the source). Logs never show a key: they carry
:func:`key_digest` (``python -m genba key-digest '<typed key JSON>'`` computes one).
The names of environment variables, metrics and DLQ attributes are in
``genba_sync_contract.json``, which the CDK construct reads too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from genba_keys import (
    DIGEST_LENGTH,
    KEY_TYPES,
    MalformedRecord,
    boto_key,
    correlation_id,
    item_hash,
    key_digest,
    key_text,
    number,
    typed_key,
    version_of,
    wire_value,
)

__all__ = [  # the key helpers are genba_keys'; handlers and tools import them from here
    "DIGEST_LENGTH",
    "KEY_TYPES",
    "MalformedRecord",
    "boto_key",
    "correlation_id",
    "describe_error",
    "forward",
    "item_hash",
    "json_summary",
    "key_digest",
    "key_text",
    "number",
    "record_summary",
    "send_to_dlq",
    "typed_key",
    "verification_message",
    "version_of",
    "wire_value",
]

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


# What of a stream record (Lambda's event shape; DynamoDB Streams API Reference, "Record" and
# "StreamRecord") may go to a DLQ: metadata, the keys and the sequence number. Never NewImage or
# OldImage: an item holds personal data, and the key is all an operator needs to resync it.
RECORD_FIELDS = ("eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "eventSourceARN", "userIdentity")
CHANGE_FIELDS = ("ApproximateCreationDateTime", "Keys", "SequenceNumber", "SizeBytes", "StreamViewType")
IMAGES = ("NewImage", "OldImage")
# The fields of a verification message (MESSAGE_VERSION 1): none of them holds an image.
MESSAGE_FIELDS = (
    "v",
    "key",
    "key_text",
    "sequence",
    "version",
    "image_hash",
    "version_problem",
    "event_name",
    "event_time",
    "forwarded_at",
    "canary",
)


def record_summary(record: Any) -> dict[str, Any]:
    """A stream record as a DLQ may hold it: its keys (typed, as the stream gave them), sequence
    number and metadata, and which images were left out - never an image's values."""
    if not isinstance(record, Mapping):
        return {"record_type": type(record).__name__}
    summary: dict[str, Any] = {name: record[name] for name in RECORD_FIELDS if name in record}
    change = record.get("dynamodb")
    if isinstance(change, Mapping):
        kept = {name: change[name] for name in CHANGE_FIELDS if name in change}
        left_out = [name for name in IMAGES if name in change]
        if left_out:
            kept["images_left_out"] = left_out
        summary["dynamodb"] = kept
        with contextlib.suppress(MalformedRecord):  # a malformed key has no digest; it is kept as given
            summary["key_digest"] = key_digest(typed_key(change.get("Keys")))
    return dict(wire_value(summary))


def json_summary(text: Any, fields: Sequence[str]) -> str:
    """A message body as a DLQ may hold it: the named fields of a JSON object, else a digest.

    Never the raw text of a message that is not what it should be: it may hold anything.
    """
    try:
        body = json.loads(text) if isinstance(text, str | bytes) else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        return json.dumps({name: body[name] for name in fields if name in body}, default=str)
    raw = (text if isinstance(text, str) else json.dumps(text, default=str)).encode()
    return json.dumps({"body_sha256": hashlib.sha256(raw).hexdigest(), "body_length": len(raw)})


def describe_error(error: BaseException) -> str:
    """An error as a log line or a DLQ reason may show it: the AWS error code and message, or the
    exception type. Never an exception's own text where it may repeat what was sent: botocore's
    ParamValidationError prints the rejected parameter value (a key)."""
    response = getattr(error, "response", None)
    detail = response.get("Error") if isinstance(response, Mapping) else None
    if isinstance(detail, Mapping):
        return f"{type(error).__name__}: {detail.get('Code')}: {detail.get('Message', '')}"[:500]
    if isinstance(error, OSError | TimeoutError):  # URLError, connection refused: no request values
        return f"{type(error).__name__}: {error}"[:500]
    return type(error).__name__


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
    key = typed_key(change.get("Keys"))
    sequence = change.get("SequenceNumber")
    if not isinstance(sequence, str) or not sequence.isdigit():
        raise MalformedRecord(f"SequenceNumber {sequence!r} is not a stream sequence number")
    image = change.get("OldImage" if event_name == "REMOVE" else "NewImage")
    version: int | float | None = None
    problem: str | None = None
    digest: str | None = None
    if isinstance(image, Mapping):
        version, problem = version_of(image, version_attribute)
        digest = item_hash(image)
    return {
        "v": MESSAGE_VERSION,
        "key": key,
        "key_text": key_text(key),
        "sequence": sequence,
        "version": version,
        "image_hash": digest,
        "version_problem": problem,
        "event_name": event_name,
        "event_time": _epoch(change.get("ApproximateCreationDateTime", now)),
        "forwarded_at": now,
        "canary": canary_key is not None and key == typed_key(canary_key),
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


@dataclass(frozen=True, kw_only=True)
class ForwardRuntime:
    """What a forwarding invocation works with: the deployed SQS client and settings, or the simulator's."""

    sqs: Any
    settings: ForwardSettings
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


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
            body = json.dumps(record_summary(record), default=str)
            malformed.append((item_id, body, f"malformed stream record: {problem}"))
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
