"""DynamoDB keys and values in the stream's typed form: checked, hashed, digested, read as numbers.

Part of the sync-verification handlers' shared code (``genba_sync`` re-exports every name):
keys stay in DynamoDB's typed form end to end (binary values as the stream's base64 text), and
only :func:`boto_key` decodes them, for the boto3 call that reads a table. Logs never show a
key: they carry :func:`key_digest`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


class MalformedRecord(ValueError):
    """A stream record (or verification message) that cannot be understood; goes to the DLQ with this reason."""


KEY_TYPES = frozenset({"S", "N", "B"})
DIGEST_LENGTH = 16


def wire_value(value: Any) -> Any:
    """A typed attribute value in the stream's JSON form: bytes (boto3's B, BS) become base64 text."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): wire_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [wire_value(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def typed_key(key: Any) -> dict[str, dict[str, str]]:
    """``key`` checked to be a DynamoDB key in typed form (``{"pk": {"S": "u-1"}}``), in the stream's JSON form."""
    if not isinstance(key, Mapping) or not key:
        raise MalformedRecord("key is missing or empty")
    checked: dict[str, dict[str, str]] = {}
    for name, value in key.items():
        wire = wire_value(value)
        if not isinstance(wire, Mapping) or len(wire) != 1:
            raise MalformedRecord(f"key attribute {name!r} is not a typed DynamoDB value (one of S, N, B)")
        ((kind, text),) = wire.items()
        if kind not in KEY_TYPES or not isinstance(text, str):
            raise MalformedRecord(f"key attribute {name!r} has type {kind!r}; keys are S, N or B")
        if kind == "B":
            try:
                base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise MalformedRecord(f"key attribute {name!r} is B but not base64") from None
        if kind == "N" and number(wire) is None:
            raise MalformedRecord(f"key attribute {name!r} is N but not a number")
        checked[str(name)] = {kind: text}
    return checked


def boto_key(key: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, Any]]:
    """A typed key for a boto3 call: base64 text of B values decoded to bytes (once, here only)."""
    return {name: {"B": base64.b64decode(value["B"])} if "B" in value else dict(value) for name, value in key.items()}


def _canonical(value: Any) -> Any:
    """A typed value with every representation choice removed (set order, number spelling, bytes vs base64)."""
    wire = wire_value(value)
    if not isinstance(wire, Mapping):
        return wire
    out: dict[str, Any] = {}
    for kind, inner in wire.items():
        if kind == "N":
            out[kind] = _number_text(inner)
        elif kind == "NS":
            out[kind] = sorted(_number_text(v) for v in inner)
        elif kind in {"SS", "BS"}:
            out[kind] = sorted(inner)
        elif kind == "L":
            out[kind] = [_canonical(v) for v in inner]
        elif kind == "M":
            out[kind] = {k: _canonical(v) for k, v in inner.items()}
        else:
            out[kind] = inner
    return out


def _number_text(text: Any) -> str:
    try:
        parsed = Decimal(str(text))
    except ArithmeticError:
        return str(text)
    return "0" if parsed == 0 else format(parsed.normalize(), "f")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def item_hash(item: Mapping[str, Any]) -> str:
    """SHA-256 of an item's content, the same for the stream's JSON image and boto3's item."""
    return _digest({name: _canonical(value) for name, value in item.items()})


def key_digest(key: Mapping[str, Mapping[str, Any]]) -> str:
    """A key's stable digest for logs (16 hex digits of SHA-256 of the typed key): no key value in clear."""
    return _digest({name: _canonical(value) for name, value in key.items()})[:DIGEST_LENGTH]


def key_text(key: Mapping[str, Mapping[str, Any]]) -> str:
    """``pk=u-1,sk=profile``: a key as people read it (in the DLQ message, never in a log line)."""
    return ",".join(f"{name}={next(iter(wire_value(key[name]).values()))}" for name in sorted(key))


def correlation_id(key: Mapping[str, Mapping[str, Any]], sequence: str) -> str:
    """``<key digest>@<sequence>``: the request id of every log line about one change."""
    return f"{key_digest(key)}@{sequence}"


def number(value: Any) -> int | float | None:
    """The number in a DynamoDB ``{"N": "7"}`` attribute value, or None."""
    if not isinstance(value, Mapping) or "N" not in value:
        return None
    try:
        parsed = Decimal(str(value["N"]))
    except ArithmeticError:
        return None
    if not parsed.is_finite():
        return None
    return int(parsed) if parsed == parsed.to_integral_value() else float(parsed)


def version_of(image: Mapping[str, Any], attribute: str) -> tuple[int | float | None, str | None]:
    """The image's numeric version, or None with the reason it has none (naming the attribute)."""
    value = image.get(attribute)
    if value is None:
        return None, f"the item has no {attribute!r} attribute"
    parsed = number(value)
    if parsed is None:
        kind = next(iter(value), "?") if isinstance(value, Mapping) else type(value).__name__
        return None, f"the item's {attribute!r} attribute is not a number (type {kind})"
    return parsed, None
