"""Events shaped exactly as AWS delivers them to the sync handlers, and a harness on moto server.

Shapes, from AWS's documentation:

- DynamoDB stream records as Lambda delivers them: the sample event of "Using AWS Lambda with
  Amazon DynamoDB" (Lambda Developer Guide) - ``eventID``, ``eventName``, ``eventVersion`` "1.1",
  ``eventSource`` "aws:dynamodb", ``awsRegion``, ``dynamodb`` {``ApproximateCreationDateTime``
  (epoch seconds), ``Keys``, ``NewImage``/``OldImage`` (per ``StreamViewType``),
  ``SequenceNumber``, ``SizeBytes``, ``StreamViewType``}, ``eventSourceARN``. Binary values are
  base64 text in this JSON (DynamoDB Streams API reference, AttributeValue ``B``).
- TTL deletions: "DynamoDB Streams and Time to Live" (DynamoDB Developer Guide) - a REMOVE whose
  ``userIdentity`` is ``{"type": "Service", "principalId": "dynamodb.amazonaws.com"}``.
- SQS messages as Lambda delivers them: the sample event of "Using Lambda with Amazon SQS" -
  ``messageId``, ``receiptHandle``, ``body``, ``attributes`` {``ApproximateReceiveCount``,
  ``SentTimestamp``, ``SenderId``, ``ApproximateFirstReceiveTimestamp``},
  ``messageAttributes``, ``md5OfBody``, ``eventSource`` "aws:sqs", ``eventSourceARN``, ``awsRegion``.

moto deviations, corrected here: moto serves the stream only through GetRecords (boto3 parses
it: bytes and datetimes), so the records are built in Lambda's JSON form from the items the
harness writes to the source table; moto's SQS is read with ReceiveMessage and its messages are
wrapped as Lambda's SQS event source does (moto runs no event source mapping).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import time
from collections.abc import Mapping
from typing import Any

from tools.sim import REGION, FakeContext, handler_module, sqs_event

ACCOUNT = "123456789012"
VIEWS = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def wire(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (boto3 form: bytes for B) in the stream's JSON form (base64 text for B)."""
    handler_module("sync_forwarder")
    from genba_sync import wire_value

    value: dict[str, Any] = wire_value(dict(item))
    return value


def target_changes(*changes: tuple[str, int, str]) -> list[Any]:
    """Verification messages as a target is asked about them: one per (pk, version, event name),
    ids m1, m2... and sequence numbers 1, 2... in that order."""
    handler_module("sync_verifier")
    from rules import Change

    return [
        Change(
            id=f"m{n}",
            key={"pk": {"S": pk}},
            key_text=f"pk={pk}",
            sequence=str(n),
            version=version,
            event_name=event_name,
            event_time=0,
        )
        for n, (pk, version, event_name) in enumerate(changes, start=1)
    ]


class Harness:
    """A source table, a replica, the verification queue and DLQ on moto, and the two handlers."""

    def __init__(
        self,
        name: str,
        *,
        keys: list[tuple[str, str]] = [("pk", "S")],  # noqa: B006 - read only
        view: str = "NEW_AND_OLD_IMAGES",
        target: Any = None,
    ) -> None:
        import boto3

        self.forwarder = handler_module("sync_forwarder")
        self.verifier = handler_module("sync_verifier")
        from genba_sync import ENV
        from visibility import PendingRegistry

        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.key_names = [k for k, _ in keys]
        self.view = view
        schema = {
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in keys],
            "KeySchema": [
                {"AttributeName": k, "KeyType": "HASH" if i == 0 else "RANGE"} for i, (k, _) in enumerate(keys)
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }
        self.source = f"{name}-source"
        self.replica = f"{name}-replica"
        self.dynamodb.create_table(
            TableName=self.source, StreamSpecification={"StreamEnabled": True, "StreamViewType": view}, **schema
        )
        self.dynamodb.create_table(TableName=self.replica, **schema)
        self.dlq_url = self.sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        self.queue_url = self.sqs.create_queue(QueueName=f"{name}-q", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
        self.stream_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.source}/stream/2026-12-01T00:00:00.000"
        self.environ = {
            ENV["verification_queue_url"]: self.queue_url,
            ENV["verification_dlq_url"]: self.dlq_url,
            ENV["grace_period_seconds"]: "0",
            ENV["max_sync_lag_seconds"]: str(24 * 3600),
            ENV["version_attribute"]: "version",
            ENV["canary_key"]: json.dumps({"pk": {"S": "genba-sync-canary"}}),
            ENV["source_table_name"]: self.source,
            ENV["target_kind"]: "dynamodb",
            ENV["target_config"]: json.dumps({"table_name": self.replica, "version_attribute": "version"}),
        }
        self.target = target
        self.pending = PendingRegistry()
        self.sequence = 100_000_000_000_000_000_000
        self.confirmed: dict[str, str] = {}  # sequence -> how the target showed it
        self.dead: list[dict[str, Any]] = []
        self.metrics: dict[str, list[float]] = {}
        self.logs: list[str] = []

    # ---- the source and its stream, in Lambda's event shape ---------------------------
    def key_of(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.key_names}

    def record(
        self,
        event_name: str,
        *,
        new: Mapping[str, Any] | None = None,
        old: Mapping[str, Any] | None = None,
        identity: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One stream record as Lambda delivers it, with the images the table's view type carries."""
        self.sequence += 1
        item = new if new is not None else old
        assert item is not None
        change: dict[str, Any] = {
            "ApproximateCreationDateTime": float(int(time.time())),
            "Keys": wire(self.key_of(item)),
            "SequenceNumber": str(self.sequence),
            "SizeBytes": len(json.dumps(wire(item))),
            "StreamViewType": self.view,
        }
        if new is not None and self.view in {"NEW_IMAGE", "NEW_AND_OLD_IMAGES"}:
            change["NewImage"] = wire(new)
        if old is not None and self.view in {"OLD_IMAGE", "NEW_AND_OLD_IMAGES"}:
            change["OldImage"] = wire(old)
        record = {
            "eventID": f"{self.sequence:x}",
            "eventName": event_name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": change,
            "eventSourceARN": self.stream_arn,
        }
        if identity is not None:
            record["userIdentity"] = dict(identity)
        return record

    def put(self, item: Mapping[str, Any], *, old: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write ``item`` to the source; its stream record (INSERT, or MODIFY of ``old``)."""
        self.dynamodb.put_item(TableName=self.source, Item=dict(item))
        return self.record("MODIFY" if old is not None else "INSERT", new=item, old=old)

    def remove(self, item: Mapping[str, Any], *, ttl: bool = False) -> dict[str, Any]:
        self.dynamodb.delete_item(TableName=self.source, Key=self.key_of(item))
        return self.record("REMOVE", old=item, identity=TTL_IDENTITY if ttl else None)

    def replicate(self, item: Mapping[str, Any]) -> None:
        self.dynamodb.put_item(TableName=self.replica, Item=dict(item))

    def unreplicate(self, item: Mapping[str, Any]) -> None:
        self.dynamodb.delete_item(TableName=self.replica, Key=self.key_of(item))

    # ---- the handlers ------------------------------------------------------------------
    def _quiet(self, module: Any, event: dict[str, Any], runtime: Any) -> dict[str, Any]:
        buffer = io.StringIO()
        handler = module.logger.registered_handler
        previous = handler.setStream(buffer)
        try:
            with contextlib.redirect_stdout(buffer):
                response: dict[str, Any] = module.handler(event, FakeContext(), runtime=runtime)
        finally:
            handler.setStream(previous)
        for line in buffer.getvalue().splitlines():
            self.logs.append(line)
            with contextlib.suppress(ValueError):
                document = json.loads(line)
                for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
                    for metric in directive["Metrics"]:
                        value = document[metric["Name"]]
                        self.metrics.setdefault(metric["Name"], []).extend(
                            float(v) for v in (value if isinstance(value, list) else [value])
                        )
        return response

    def forward(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        from genba_sync import ForwardSettings

        runtime = self.forwarder.Runtime(sqs=self.sqs, settings=ForwardSettings.from_environ(self.environ))
        return self._quiet(self.forwarder, {"Records": records}, runtime)

    def send_raw(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def sqs_records(self, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` messages, received and wrapped as Lambda's SQS event source does."""
        records: list[dict[str, Any]] = []
        while len(records) < limit:
            got = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, limit - len(records)),
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                break
            queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.queue_url.rsplit('/', 1)[-1]}"
            records += sqs_event(got, queue_arn)["Records"]
        return records

    def verify(self, *, batch: int = 100, rounds: int = 50) -> None:
        """Verifier invocations until the queue shows nothing more; confirmed changes are deleted."""
        from verification import VerifierSettings

        for _ in range(rounds):
            records = self.sqs_records(batch)
            if not records:
                return
            settings = VerifierSettings.from_environ(self.environ, backoff_floor_seconds=0)
            target = self.target or self.verifier.make_target(settings)
            seen: list[Any] = []
            runtime = self.verifier.Runtime(
                sqs=self.sqs,
                target=target,
                settings=settings,
                observe=seen.append,
                pending=self.pending,
            )
            response = self._quiet(self.verifier, {"Records": records}, runtime)
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            outcomes = seen[-1].outcomes
            done = [r for r in records if r["messageId"] not in failed]
            for record in done:
                if outcomes[record["messageId"]] == "verified":
                    self.confirmed[json.loads(record["body"])["sequence"]] = record["messageId"]
            for start in range(0, len(done), 10):
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": r["receiptHandle"]}
                        for i, r in enumerate(done[start : start + 10])
                    ],
                )
            if len(done) == 0:
                return

    def dlq(self) -> list[dict[str, Any]]:
        from genba_sync import REASON_ATTRIBUTE

        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return self.dead
            for m in got:
                reason = m.get("MessageAttributes", {}).get(REASON_ATTRIBUTE, {}).get("StringValue")
                self.dead.append({"body": m["Body"], "reason": reason})
            self.sqs.delete_message_batch(
                QueueUrl=self.dlq_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
            )

    def pending_sequences(self) -> set[str]:
        """Changes still on the queue (made visible again first: the backoff is a test's time)."""
        found: set[str] = set()
        for record in self.sqs_records(10_000):
            found.add(json.loads(record["body"])["sequence"])
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )
        return found


def seq(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
