"""Pluggable sync targets: did each change reach the system the source table is synced to?

Every target answers, per change: ``synced``, ``not_yet`` (look again later) or ``failed``
(it never will; goes to the DLQ with the reason), and counts the calls it made (``reads``).
A target that cannot be reached answers ``not_yet`` for the whole batch: unavailability is
retried until the maximum sync lag, never lost. The DynamoDB and OpenSearch targets apply the
rules in ``rules.py``: only what the target is seen to hold confirms a change.

Targets, by ``GENBA_SYNC_TARGET_KIND`` (config in ``GENBA_SYNC_TARGET_CONFIG``, JSON):

- ``dynamodb``: ``{"table_name", "version_attribute"}``; BatchGetItem, up to 100 keys a call,
  then, for the changes the replica alone does not decide, the source's key and version
  (ProjectionExpression), and the whole source item only where content must decide
  (:meth:`DynamoDbTarget._with_source`).
- ``opensearch``: ``{"endpoint", "index", "version_field", "service"}``; one signed ``_mget``
  (document ids: :func:`document_id`); the source's key and version (BatchGetItem with a
  ProjectionExpression) where the rules need them, and always for keys-only streams.
- ``http``: ``{"url", "timeout_seconds", "auth"?}``; POST ``{"changes": [...]}`` (SigV4-signed or
  with a header from Secrets Manager when ``auth`` says so: ``http_auth.py``), answer
  ``{"results": {"<id>": {"status": "synced|not_yet|failed", "reason": "..."}}}``.
- ``lambda``: ``{"function_name"}``; invoked with the same payload, same answer.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from custom_targets import HttpTarget, LambdaTarget
from genba_sync import boto_key, describe_error, item_hash, number, wire_value
from rules import ABSENT, FAILED, NOT_YET, STATUSES, SYNCED, Change, Copy, Outcome, first_look, judge

__all__ = ["FAILED", "NOT_YET", "STATUSES", "SYNCED", "Change", "HttpTarget", "LambdaTarget", "Outcome"]
BATCH_GET_LIMIT = 100
READ_ATTEMPTS = 4


def _key_id(key: Mapping[str, Any]) -> str:
    """One id per key, whatever its form (base64 text from the stream or bytes from boto3)."""
    return item_hash(key)


class SourceReader:
    """Consistent BatchGetItem reads of keys from one table (the replica, or the source), 100 a call.

    A key the table rejects (ValidationException: not its key schema) is isolated by halving the
    request and answered alone, so one bad message never fails the others.
    """

    def __init__(self, *, dynamodb: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self.dynamodb = dynamodb
        self.sleep = sleep
        self.reads = 0

    def read(
        self, table: str, keys: Sequence[Mapping[str, Any]], projection: Sequence[str] | None = None
    ) -> tuple[dict[str, dict[str, Any]], set[str], dict[str, str]]:
        """(items by key id, key ids still unprocessed after retries, key ids rejected -> reason)."""
        distinct = {_key_id(k): dict(k) for k in keys}
        found: dict[str, dict[str, Any]] = {}
        unprocessed: set[str] = set()
        rejected: dict[str, str] = {}
        ids = list(distinct)
        for start in range(0, len(ids), BATCH_GET_LIMIT):
            chunk = [distinct[i] for i in ids[start : start + BATCH_GET_LIMIT]]
            self._read(table, chunk, projection, found, unprocessed, rejected)
        return found, unprocessed, rejected

    def _read(
        self,
        table: str,
        keys: list[dict[str, Any]],
        projection: Sequence[str] | None,
        found: dict[str, dict[str, Any]],
        unprocessed: set[str],
        rejected: dict[str, str],
    ) -> None:
        names = list(keys[0])
        request: dict[str, Any] = {"Keys": [boto_key(k) for k in keys], "ConsistentRead": True}
        if projection:
            attributes = list(dict.fromkeys([*names, *projection]))
            request["ProjectionExpression"] = ", ".join(f"#a{i}" for i in range(len(attributes)))
            request["ExpressionAttributeNames"] = {f"#a{i}": name for i, name in enumerate(attributes)}
        pending: dict[str, Any] = {table: request}
        for attempt in range(READ_ATTEMPTS):
            if not pending:
                return
            if attempt:
                self.sleep(0.05 * 2**attempt)
            self.reads += 1
            try:
                response = self.dynamodb.batch_get_item(RequestItems=pending)
            except Exception as error:
                code = getattr(error, "response", {}).get("Error", {}).get("Code")
                if code != "ValidationException":
                    raise
                if len(keys) == 1:
                    rejected[_key_id(keys[0])] = f"the table rejected the key: {describe_error(error)}"
                    return
                half = len(keys) // 2
                for part in (keys[:half], keys[half:]):
                    self._read(table, part, projection, found, unprocessed, rejected)
                return
            for item in (response.get("Responses") or {}).get(table, []):
                found[_key_id({name: item[name] for name in names if name in item})] = item
            pending = response.get("UnprocessedKeys") or {}
        unprocessed |= {_key_id(k) for request in pending.values() for k in request["Keys"]}


def _unanswerable(change: Change, unprocessed: set[str], rejected: dict[str, str]) -> Outcome | None:
    key_id = _key_id(change.key)
    if key_id in rejected:
        return Outcome(FAILED, rejected[key_id])
    if key_id in unprocessed:
        return Outcome(NOT_YET, "read throttled (unprocessed keys)")
    return None


class DynamoDbTarget:
    """A replica table holding copies of the source's items: compared by content hash and version."""

    def __init__(
        self,
        *,
        dynamodb: Any,
        table_name: str,
        version_attribute: str,
        source_table_name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reader = SourceReader(dynamodb=dynamodb, sleep=sleep)
        self.table_name = table_name
        self.version_attribute = version_attribute
        self.source_table_name = source_table_name

    @property
    def reads(self) -> int:
        return self.reader.reads

    def _copy(self, item: Mapping[str, Any] | None) -> Copy:
        if item is None:
            return ABSENT
        return Copy(present=True, version=number(wire_value(item.get(self.version_attribute))), hash=item_hash(item))

    def _version(self, item: Mapping[str, Any] | None) -> Copy:
        """A source item read for its key and version only: no content to compare."""
        if item is None:
            return ABSENT
        return Copy(present=True, version=number(wire_value(item.get(self.version_attribute))))

    def check(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        replica, unprocessed, rejected = self.reader.read(self.table_name, [c.key for c in changes])
        undecided: list[Change] = []
        for change in changes:
            if (answer := _unanswerable(change, unprocessed, rejected)) is not None:
                outcomes[change.id] = answer
            elif (decided := first_look(change, self._copy(replica.get(_key_id(change.key))))) is not None:
                outcomes[change.id] = decided
            else:
                undecided.append(change)
        if not undecided:
            return outcomes
        if not self.source_table_name:
            for change in undecided:
                copy = self._copy(replica.get(_key_id(change.key)))
                outcomes[change.id] = Outcome(NOT_YET, judge(change, copy, Copy(present=True)).reason)
            return outcomes
        return outcomes | self._with_source(undecided, replica)

    def _with_source(self, changes: Sequence[Change], replica: Mapping[str, dict[str, Any]]) -> dict[str, Outcome]:
        """Rule 3 with the source read as little as decides: its key and version first.

        A ProjectionExpression (names through ExpressionAttributeNames: a version attribute may be
        a reserved word) reads no personal data, and decides every change whose replica version
        differs from the source's: ``change < replica <= source`` confirms, anything else waits.
        Only where the replica holds the source's own version (or neither has a numeric version)
        is the whole item read, because then content alone decides: a replica item of the same
        version with other content (truncated, written without a version bump) is not synced.
        """
        assert self.source_table_name is not None
        outcomes: dict[str, Outcome] = {}
        source, unprocessed, rejected = self.reader.read(
            self.source_table_name, [c.key for c in changes], projection=[self.version_attribute]
        )
        by_content: list[Change] = []
        for change in changes:
            if (answer := _unanswerable(change, unprocessed, rejected)) is not None:
                outcomes[change.id] = answer
                continue
            key_id = _key_id(change.key)
            target, current = self._copy(replica.get(key_id)), self._version(source.get(key_id))
            if target.present and current.present and target.version == current.version:
                by_content.append(change)
            else:
                outcomes[change.id] = judge(change, target, current)
        if not by_content:
            return outcomes
        items, unprocessed, rejected = self.reader.read(self.source_table_name, [c.key for c in by_content])
        for change in by_content:
            if (answer := _unanswerable(change, unprocessed, rejected)) is not None:
                outcomes[change.id] = answer
                continue
            key_id = _key_id(change.key)
            outcomes[change.id] = judge(change, self._copy(replica.get(key_id)), self._copy(items.get(key_id)))
        return outcomes


def document_id(key: Mapping[str, Mapping[str, Any]]) -> str:
    """The OpenSearch document id of a key: collision-free for every key schema.

    One key attribute: its value as text (B: the base64 text), which cannot collide because a
    table's key has one type. Composite keys: the JSON array of the values in attribute-name
    order (``["a|b","c"]``), which no two distinct keys share (unlike joining with ``|``).
    """
    values = [str(next(iter(wire_value(key[name]).values()))) for name in sorted(key)]
    if len(values) == 1:
        return values[0]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def numeric(value: Any) -> int | float | None:
    """A version from a JSON document: a number, or a string holding one (``"7"``), compared numerically."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            return None
        if parsed.is_finite():
            return int(parsed) if parsed == parsed.to_integral_value() else float(parsed)
    return None


class OpenSearchTarget:
    """An OpenSearch index with one document per item (id: :func:`document_id`); compared by version."""

    def __init__(
        self,
        *,
        endpoint: str,
        index: str,
        version_field: str,
        service: str = "es",
        region: str | None = None,
        credentials: Any = None,
        opener: Callable[[urllib.request.Request, float], Any] | None = None,
        dynamodb: Any = None,
        source_table_name: str | None = None,
        version_attribute: str | None = None,
    ) -> None:
        self.url = f"{endpoint.rstrip('/')}/{index}/_mget"
        if not self.url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            self.url = "https://" + self.url
        self.version_field = version_field
        self.service = service
        self.region = region
        self.credentials = credentials
        self.opener = opener or (lambda request, timeout: urllib.request.urlopen(request, timeout=timeout))  # noqa: S310
        self.reader = SourceReader(dynamodb=dynamodb) if dynamodb is not None else None
        self.source_table_name = source_table_name
        self.version_attribute = version_attribute or version_field
        self.searches = 0

    @property
    def reads(self) -> int:
        return self.searches + (self.reader.reads if self.reader is not None else 0)

    def _request(self, body: bytes) -> urllib.request.Request:
        headers = {"Content-Type": "application/json"}
        if self.credentials is not None:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest

            signed = AWSRequest(method="POST", url=self.url, data=body, headers=headers)
            SigV4Auth(self.credentials, self.service, self.region or "us-east-1").add_auth(signed)
            headers = dict(signed.headers.items())
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310

    def check(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        for change in changes:
            if change.version_problem is not None:  # documents are transformed: no content to compare
                outcomes[change.id] = Outcome(
                    FAILED, f"{change.version_problem}; the OpenSearch target can only compare versions"
                )
        live = [c for c in changes if c.id not in outcomes]
        if not live:
            return outcomes
        ids = sorted({document_id(change.key) for change in live})
        self.searches += 1
        try:
            with self.opener(self._request(json.dumps({"ids": ids}).encode()), 10) as response:
                docs = json.loads(response.read())["docs"]
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            return outcomes | {c.id: Outcome(NOT_YET, f"target unavailable: {error}") for c in live}
        by_id = {doc.get("_id"): doc for doc in docs if isinstance(doc, Mapping)}
        copies: dict[str, Copy] = {}
        undecided: list[Change] = []
        for change in live:
            doc = by_id.get(document_id(change.key))
            if doc is not None and doc.get("error"):
                outcomes[change.id] = Outcome(NOT_YET, f"target error: {doc['error']}")
                continue
            found = doc is not None and bool(doc.get("found"))
            source_doc = (doc or {}).get("_source") or {}
            copies[change.id] = Copy(present=found, version=numeric(source_doc.get(self.version_field)))
            if (decided := first_look(change, copies[change.id])) is not None:
                outcomes[change.id] = decided
            else:
                undecided.append(change)
        if undecided:
            outcomes |= self._with_source(undecided, copies)
        return outcomes

    def _with_source(self, changes: Sequence[Change], copies: Mapping[str, Copy]) -> dict[str, Outcome]:
        if self.reader is None or not self.source_table_name:
            return {c.id: Outcome(NOT_YET, "not decided without the source's version") for c in changes}
        items, unprocessed, rejected = self.reader.read(
            self.source_table_name, [c.key for c in changes], projection=[self.version_attribute]
        )
        outcomes: dict[str, Outcome] = {}
        for change in changes:
            if (answer := _unanswerable(change, unprocessed, rejected)) is not None:
                outcomes[change.id] = answer
                continue
            item = items.get(_key_id(change.key))
            source = ABSENT
            if item is not None:
                value = wire_value(item.get(self.version_attribute))
                version = number(value)
                if version is None:
                    problem = "no" if value is None else "a non-numeric"
                    outcomes[change.id] = Outcome(
                        FAILED,
                        f"the source item has {problem} {self.version_attribute!r} attribute; "
                        "the OpenSearch target can only compare versions",
                    )
                    continue
                source = Copy(present=True, version=version)
            outcomes[change.id] = judge(change, copies[change.id], source)
        return outcomes
