"""What the pipeline costs: AWS requests counted by botocore event hooks, and stub clients.

``RequestCounter`` registers on a boto3 client's own event emitter (``before-parameter-build``
and ``after-call``, botocore's documented extension points) and counts, per service and operation,
the requests made and what they are billed as: SQS bills a request per 64 KB chunk of payload
("Amazon SQS pricing", https://aws.amazon.com/sqs/pricing/), DynamoDB a strongly consistent
read of an item up to 4 KB as one read request unit, found or not ("Read request units",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).

``StubSqs`` and ``StubDynamoDb`` answer the handlers' calls in-process with correctly shaped
responses (the SQS and DynamoDB API references), so that timing a handler measures the
handler's own CPU, not moto's.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SQS_CHUNK_BYTES = 64 * 1024
READ_UNIT_BYTES = 4 * 1024


@dataclass
class RequestCounter:
    """Requests per (role, service, operation), and billed units (SQS chunks, DynamoDB read units)."""

    requests: dict[tuple[str, str, str], int] = field(default_factory=dict)
    billed: dict[tuple[str, str, str], float] = field(default_factory=dict)
    #: (operation, table or queue) -> entries of batch calls (keys read, messages sent or changed)
    entries: dict[tuple[str, str], int] = field(default_factory=dict)

    def watch(
        self, client: Any, role: str, operations: Iterable[str] | None = None, queue_url: str | None = None
    ) -> None:
        """Count ``client``'s requests under ``role`` (only ``operations``, API names, and only on
        ``queue_url``, if given)."""
        wanted = set(operations) if operations is not None else None

        def counted(model: Any, params: Mapping[str, Any]) -> bool:
            if wanted is not None and model.name not in wanted:
                return False
            return queue_url is None or params.get("QueueUrl") == queue_url

        def before(model: Any, params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
            if not counted(model, params):
                return
            context["genba_counted"] = role
            key = (role, model.service_model.service_name, model.name)
            self.requests[key] = self.requests.get(key, 0) + 1
            if model.name != "ReceiveMessage":  # billed by what it returns (after-call)
                self.billed[key] = self.billed.get(key, 0.0) + _billed(model.name, params)
            for resource, n in _entries(params):
                self.entries[(model.name, resource)] = self.entries.get((model.name, resource), 0) + n

        def after(model: Any, parsed: Mapping[str, Any], context: Mapping[str, Any], **_: Any) -> None:
            if model.name == "ReceiveMessage" and context.get("genba_counted") == role:
                key = (role, model.service_model.service_name, model.name)
                size = sum(len(m.get("Body", "").encode()) for m in parsed.get("Messages", []))
                self.billed[key] = self.billed.get(key, 0.0) + max(1, math.ceil(size / SQS_CHUNK_BYTES))

        # before-parameter-build sees the API parameters (before-call only the serialized request).
        client.meta.events.register("before-parameter-build.*.*", before)
        client.meta.events.register("after-call.*.*", after)

    def total(self, *, role: str | None = None, service: str | None = None, operation: str | None = None) -> int:
        return sum(
            n
            for (r, s, o), n in self.requests.items()
            if (role is None or r == role)
            and (service is None or s == service)
            and (operation is None or o == operation)
        )

    def entry_total(self, operation: str, resource: str | None = None) -> int:
        return sum(n for (o, r), n in self.entries.items() if o == operation and (resource is None or r == resource))

    def billed_total(self, service: str) -> float:
        return sum(n for (_, s, _), n in self.billed.items() if s == service)


def _entries(params: Mapping[str, Any]) -> list[tuple[str, int]]:
    if "RequestItems" in params:
        return [(table, len(request.get("Keys", []))) for table, request in params["RequestItems"].items()]
    if "Entries" in params:
        return [(str(params.get("QueueUrl")), len(params["Entries"]))]
    return []


def _billed(operation: str, params: Mapping[str, Any]) -> float:
    if operation in {"SendMessageBatch", "SendMessage"}:
        entries = params.get("Entries") or [params]
        size = sum(
            len(str(e.get("MessageBody", "")).encode()) + len(json.dumps(e.get("MessageAttributes", {})))
            for e in entries
        )
        return float(max(1, math.ceil(size / SQS_CHUNK_BYTES)))
    if operation == "BatchGetItem":  # one read unit per key (items here are far below 4 KB)
        return float(sum(len(request.get("Keys", [])) for request in params.get("RequestItems", {}).values()))
    if operation == "GetItem":
        return 1.0
    return 1.0


def _message_id(body: str) -> str:
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


@dataclass
class StubSqs:
    """SendMessageBatch, ChangeMessageVisibilityBatch, GetQueueAttributes: always successful."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        self.sent += Entries
        return {
            "Successful": [
                {
                    "Id": e["Id"],
                    "MessageId": _message_id(e["MessageBody"]),
                    "MD5OfMessageBody": _message_id(e["MessageBody"]),
                }
                for e in Entries
            ],
            "Failed": [],
        }

    def change_message_visibility_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"Attributes": {"RedrivePolicy": json.dumps({"maxReceiveCount": 100})}}


@dataclass
class StubDynamoDb:
    """BatchGetItem over items held in memory (boto3 form), keyed by genba_sync.item_hash of the key."""

    items: dict[str, dict[str, Any]]
    key_names: tuple[str, ...]
    calls: int = 0

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:
        from genba_sync import item_hash

        self.calls += 1
        responses: dict[str, list[dict[str, Any]]] = {}
        for table, request in RequestItems.items():
            found = [self.items[item_hash(k)] for k in request["Keys"] if item_hash(k) in self.items]
            responses[table] = found
        return {"Responses": responses, "UnprocessedKeys": {}}

    def hold(self, item: dict[str, Any]) -> None:
        from genba_sync import item_hash

        self.items[item_hash({name: item[name] for name in self.key_names})] = item
