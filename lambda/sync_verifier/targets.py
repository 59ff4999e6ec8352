"""Pluggable sync targets: did each change reach the system the source table is synced to?

Every target answers, per change: ``synced``, ``not_yet`` (look again later) or ``failed``
(it never will; goes to the DLQ with the reason), and counts the calls it made (``reads``).
A target that cannot be reached answers ``not_yet`` for the whole batch: unavailability is
retried until the maximum sync lag, never lost.

Targets, by ``GENBA_SYNC_TARGET_KIND`` (config in ``GENBA_SYNC_TARGET_CONFIG``, JSON):

- ``dynamodb``: ``{"table_name", "version_attribute"}``; BatchGetItem, up to 100 keys a call.
- ``opensearch``: ``{"endpoint", "index", "version_field", "service"}``; one signed ``_mget``.
- ``http``: ``{"url", "timeout_seconds"}``; POST ``{"changes": [...]}``, answer
  ``{"results": {"<id>": {"status": "synced|not_yet|failed", "reason": "..."}}}``.
- ``lambda``: ``{"function_name"}``; invoked with the same payload, same answer.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SYNCED = "synced"
NOT_YET = "not_yet"
FAILED = "failed"
STATUSES = frozenset({SYNCED, NOT_YET, FAILED})
BATCH_GET_LIMIT = 100


@dataclass(frozen=True)
class Change:
    id: str
    key: dict[str, dict[str, Any]]
    key_text: str
    sequence: str
    version: int | float | None
    event_name: str
    event_time: float
    canary: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "sequence": self.sequence,
            "version": self.version,
            "event_name": self.event_name,
            "event_time": self.event_time,
        }


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str = ""


def _number(value: Any) -> int | float | None:
    if isinstance(value, Mapping) and "N" in value:
        text = str(value["N"])
        try:
            return int(text)
        except ValueError:
            return float(text)
    return None


def _key_id(key: Mapping[str, Any]) -> str:
    return json.dumps(key, sort_keys=True)


def compare(change: Change, replica: Mapping[str, Any] | None, version_attribute: str, source_version: Any) -> Outcome:
    """Is the replica item (None: absent) at least as new as the change?

    ``source_version`` is used when the change carries no version (keys-only streams):
    ``...`` means "not read", None means "the source item is gone".
    """
    replica_version = _number(replica.get(version_attribute)) if replica is not None else None
    wanted = change.version
    if wanted is None and source_version is not ...:
        if source_version is None:  # deleted at the source: the replica must not have it
            return (
                Outcome(SYNCED) if replica is None else Outcome(NOT_YET, "deleted at the source, still in the target")
            )
        wanted = source_version
        if replica is None:
            return Outcome(NOT_YET, f"missing in the target (source version {wanted})")
        if replica_version is None or replica_version < wanted:
            return Outcome(NOT_YET, f"target has version {replica_version}, source has {wanted}")
        return Outcome(SYNCED)
    if change.event_name == "REMOVE":
        if replica is None:
            return Outcome(SYNCED)
        if wanted is not None and replica_version is not None and replica_version > wanted:
            return Outcome(SYNCED)  # a newer write superseded the removal
        return Outcome(NOT_YET, f"removed at the source, still in the target (version {replica_version})")
    if replica is None:
        return Outcome(NOT_YET, f"missing in the target (version {wanted})")
    if wanted is None:
        return Outcome(SYNCED)  # no version to compare: existence is all that can be checked
    if replica_version is None or replica_version < wanted:
        return Outcome(NOT_YET, f"target has version {replica_version}, change has {wanted}")
    return Outcome(SYNCED)


class DynamoDbTarget:
    """A replica table: BatchGetItem of up to 100 distinct keys a call (reads the source too for keys-only)."""

    def __init__(
        self,
        *,
        dynamodb: Any,
        table_name: str,
        version_attribute: str,
        source_table_name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.version_attribute = version_attribute
        self.source_table_name = source_table_name
        self.sleep = sleep
        self.reads = 0

    def _batch_get(self, requests: dict[str, list[dict[str, Any]]]) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """Items found per (table, key id); key ids whose read was still unprocessed after retries."""
        found: dict[str, dict[str, Any]] = {}
        pending: dict[str, Any] = {
            table: {"Keys": keys, "ConsistentRead": True} for table, keys in requests.items() if keys
        }
        for attempt in range(4):
            if not pending:
                break
            if attempt:
                self.sleep(0.05 * 2**attempt)
            self.reads += 1
            response = self.dynamodb.batch_get_item(RequestItems=pending)
            for table, items in (response.get("Responses") or {}).items():
                for item in items:
                    found[table + "|" + _key_id({k: item[k] for k in self._key_names(requests[table][0])})] = item
            pending = response.get("UnprocessedKeys") or {}
        unprocessed = {table + "|" + _key_id(key) for table, request in pending.items() for key in request["Keys"]}
        return found, unprocessed

    @staticmethod
    def _key_names(sample_key: Mapping[str, Any]) -> list[str]:
        return list(sample_key)

    def check(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        distinct: dict[str, dict[str, Any]] = {}
        for change in changes:
            distinct.setdefault(_key_id(change.key), change.key)
        keys_only = self.source_table_name is not None and any(c.version is None for c in changes)
        per_call = BATCH_GET_LIMIT // 2 if keys_only else BATCH_GET_LIMIT
        ids = list(distinct)
        found: dict[str, dict[str, Any]] = {}
        unprocessed: set[str] = set()
        for start in range(0, len(ids), per_call):
            keys = [distinct[i] for i in ids[start : start + per_call]]
            requests = {self.table_name: keys}
            if keys_only and self.source_table_name:
                requests[self.source_table_name] = keys
            got, left = self._batch_get(requests)
            found.update(got)
            unprocessed |= left
        for change in changes:
            key_id = _key_id(change.key)
            replica_id = f"{self.table_name}|{key_id}"
            source_id = f"{self.source_table_name}|{key_id}"
            if replica_id in unprocessed or (keys_only and change.version is None and source_id in unprocessed):
                outcomes[change.id] = Outcome(NOT_YET, "target read throttled (unprocessed keys)")
                continue
            source_version: Any = ...
            if keys_only and change.version is None:
                source = found.get(source_id)
                source_version = None if source is None else _number(source.get(self.version_attribute))
            outcomes[change.id] = compare(change, found.get(replica_id), self.version_attribute, source_version)
        self._superseded(changes, outcomes)
        return outcomes

    def _superseded(self, changes: Sequence[Change], outcomes: dict[str, Outcome]) -> None:
        """A change not in the target yet may have been overtaken at the source (deleted, rewritten):
        the newer change is verified on its own, so this one is done. One more read, only for those."""
        if not self.source_table_name:
            return
        pending = [c for c in changes if outcomes[c.id].status == NOT_YET and c.version is not None]
        distinct = {_key_id(c.key): c.key for c in pending}
        ids = list(distinct)
        found: dict[str, dict[str, Any]] = {}
        unprocessed: set[str] = set()
        for start in range(0, len(ids), BATCH_GET_LIMIT):
            got, left = self._batch_get(
                {self.source_table_name: [distinct[i] for i in ids[start : start + BATCH_GET_LIMIT]]}
            )
            found.update(got)
            unprocessed |= left
        for change in pending:
            source_id = f"{self.source_table_name}|{_key_id(change.key)}"
            if source_id in unprocessed:
                continue
            source = found.get(source_id)
            version = _number(source.get(self.version_attribute)) if source is not None else None
            if change.event_name == "REMOVE":
                if source is not None:
                    outcomes[change.id] = Outcome(SYNCED, "superseded: the item was written again at the source")
            elif source is None:
                outcomes[change.id] = Outcome(SYNCED, "superseded: the item was removed at the source")
            elif version is not None and change.version is not None and version > change.version:
                outcomes[change.id] = Outcome(SYNCED, f"superseded: the source is at version {version}")


def _document_id(key: Mapping[str, Mapping[str, Any]]) -> str:
    return "|".join(str(next(iter(key[name].values()))) for name in sorted(key))


class OpenSearchTarget:
    """An OpenSearch index whose document ids are the key values joined by ``|``; one signed ``_mget``."""

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
    ) -> None:
        self.url = f"{endpoint.rstrip('/')}/{index}/_mget"
        if not self.url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            self.url = "https://" + self.url
        self.version_field = version_field
        self.service = service
        self.region = region
        self.credentials = credentials
        self.opener = opener or (lambda request, timeout: urllib.request.urlopen(request, timeout=timeout))  # noqa: S310
        self.reads = 0

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
        ids = sorted({_document_id(change.key) for change in changes})
        self.reads += 1
        try:
            with self.opener(self._request(json.dumps({"ids": ids}).encode()), 10) as response:
                docs = json.loads(response.read())["docs"]
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            return {c.id: Outcome(NOT_YET, f"target unavailable: {error}") for c in changes}
        by_id = {doc.get("_id"): doc for doc in docs if isinstance(doc, Mapping)}
        outcomes = {}
        for change in changes:
            doc = by_id.get(_document_id(change.key))
            if doc is not None and doc.get("error"):
                outcomes[change.id] = Outcome(NOT_YET, f"target error: {doc['error']}")
                continue
            item = None
            if doc is not None and doc.get("found"):
                source = doc.get("_source") or {}
                value = source.get(self.version_field)
                item = {self.version_field: {"N": str(value)}} if isinstance(value, int | float) else {}
            outcomes[change.id] = compare(change, item, self.version_field, ...)
        return outcomes


def _answers(changes: Sequence[Change], answer: Any) -> dict[str, Outcome]:
    results = answer.get("results") if isinstance(answer, Mapping) else None
    if not isinstance(results, Mapping):
        return {c.id: Outcome(NOT_YET, "target answered without 'results'") for c in changes}
    outcomes = {}
    for change in changes:
        result = results.get(change.id)
        if isinstance(result, Mapping) and result.get("status") in STATUSES:
            outcomes[change.id] = Outcome(str(result["status"]), str(result.get("reason", "")))
        else:
            outcomes[change.id] = Outcome(NOT_YET, "target gave no answer for this change")
    return outcomes


class HttpTarget:
    """An HTTP endpoint that answers for a batch of changes (one POST per batch)."""

    def __init__(
        self,
        *,
        url: str,
        timeout_seconds: float = 10,
        opener: Callable[[urllib.request.Request, float], Any] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout_seconds
        self.opener = opener or (lambda request, timeout: urllib.request.urlopen(request, timeout=timeout))  # noqa: S310
        self.reads = 0

    def check(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        self.reads += 1
        body = json.dumps({"changes": [c.payload() for c in changes]}).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's configuration
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with self.opener(request, self.timeout) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as error:
            return {c.id: Outcome(NOT_YET, f"target unavailable: {error}") for c in changes}
        return _answers(changes, answer)


class LambdaTarget:
    """A user-supplied Lambda function that answers for a batch of changes (one invoke per batch)."""

    def __init__(self, *, lambda_client: Any, function_name: str) -> None:
        self.client = lambda_client
        self.function_name = function_name
        self.reads = 0

    def check(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        self.reads += 1
        try:
            response = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps({"changes": [c.payload() for c in changes]}).encode(),
            )
            payload = response["Payload"].read()
            if response.get("FunctionError"):
                raise RuntimeError(f"function error: {payload[:300]!r}")
            answer = json.loads(payload)
        except Exception as error:  # any failure to ask means "ask again later"
            return {c.id: Outcome(NOT_YET, f"target unavailable: {error}") for c in changes}
        return _answers(changes, answer)
