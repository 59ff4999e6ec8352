"""The pipeline's AWS resources on moto: what a run writes to and reads from directly.

The source table (with its stream), the replica, the verification queue, its DLQ and the stream
failure queue; the source's writes, its stream as GetRecords returns it, the queues' depths and
the DLQ's contents. ``Pipeline`` (tools/sim/pipeline.py) adds the handlers and Lambda's part.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from tools.sim.lambda_standin import REGION
from tools.sim.moto_fixes import fix_moto_binary_keys
from tools.sim.sync_worker import VERSION, write_batch

CANARY_SORT_KEY = b"\x00canary\xff"  # not UTF-8: a binary key must stay bytes end to end


class SyncResources:
    """Source and replica tables and the queues, on moto, with a simulated clock."""

    def __init__(self, *, name: str, stream_view: str, binary_sort_key: bool) -> None:
        import boto3

        self.name = name
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.streams = boto3.client("dynamodbstreams", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        # With binary_sort_key, items are keyed by pk (S) and sk (B): binary keys end to end.
        self.binary_sort_key = binary_sort_key
        attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
        schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
        if binary_sort_key:
            attributes.append({"AttributeName": "sk", "AttributeType": "B"})
            schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        key = {"AttributeDefinitions": attributes, "KeySchema": schema, "BillingMode": "PAY_PER_REQUEST"}
        self.source_table = f"{name}-users"
        self.replica_table = f"{name}-users-replica"
        table = self.dynamodb.create_table(
            TableName=self.source_table,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": stream_view},
            **key,
        )
        self.stream_arn = table["TableDescription"]["LatestStreamArn"]
        self.dynamodb.create_table(TableName=self.replica_table, **key)
        self.dlq_url = self.sqs.create_queue(QueueName=f"{name}-verification-dlq")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.queue_url = self.sqs.create_queue(
            QueueName=f"{name}-verification",
            Attributes={
                # Short, so that a message whose visibility change failed comes back quickly here
                # (deployed: 6 x the verifier's timeout).
                "VisibilityTimeout": "2",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "100000"}),
            },
        )["QueueUrl"]
        self.on_failure_url = self.sqs.create_queue(
            QueueName=f"{name}-stream-on-failure", Attributes={"VisibilityTimeout": "2"}
        )["QueueUrl"]
        self.canary_key: dict[str, dict[str, Any]] = {"pk": {"S": "genba-sync-canary"}}
        if binary_sort_key:
            self.canary_key["sk"] = {"B": base64.b64encode(CANARY_SORT_KEY).decode()}

        self.shard_iterators: dict[str, str | None] = {}
        self.stream_records: list[dict[str, Any]] = []
        self.clock_offset = 0.0
        # Simulated time (the offset) at which each stream record was written and each message first received.
        self.record_offsets: dict[str, float] = {}
        self.first_seen_offsets: dict[str, float] = {}

    def clock(self) -> float:
        """The simulated clock of every handler: now, plus however far a run moved time on."""
        return time.time() + self.clock_offset

    def sleep(self, seconds: float) -> None:
        """A handler's pause (a retry backoff, GetRecords pacing): simulated time passes, no real wait."""
        self.clock_offset += max(0.0, seconds)

    # ---- the source and its stream ----------------------------------------------------
    def key(self, user: str, sort: bytes | None = None) -> dict[str, dict[str, Any]]:
        """An item's key in boto3's form (with a binary sort key: ``sort``, default ``b"profile"``)."""
        from genba_sync import boto_key

        if user == "genba-sync-canary":
            canary: dict[str, dict[str, Any]] = boto_key(self.canary_key)
            return canary
        if not self.binary_sort_key:
            return {"pk": {"S": user}}
        return {"pk": {"S": user}, "sk": {"B": b"profile" if sort is None else sort}}

    def write(self, user: str, version: int, *, sort: bytes | None = None, **attributes: str) -> None:
        item = self.key(user, sort) | {VERSION: {"N": str(version)}} | {k: {"S": v} for k, v in attributes.items()}
        self.dynamodb.put_item(TableName=self.source_table, Item=item)

    def delete(self, user: str, *, sort: bytes | None = None) -> None:
        self.dynamodb.delete_item(TableName=self.source_table, Key=self.key(user, sort))

    def item(self, user: str, version: int, *, sort: bytes | None = None, **attributes: str) -> dict[str, Any]:
        return self.key(user, sort) | {VERSION: {"N": str(version)}} | {k: {"S": v} for k, v in attributes.items()}

    def write_batch(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem requests (``{"PutRequest": ...}`` / ``{"DeleteRequest": ...}``) on the source, in
        order: 25 a call, and a new call before a key repeats (BatchWriteItem rejects two on one key)."""
        write_batch(self.dynamodb, self.source_table, requests)

    def read_stream(self) -> list[dict[str, Any]]:
        """New stream records since the last read (GetRecords on every shard, from TRIM_HORIZON)."""
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        new: list[dict[str, Any]] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self.shard_iterators:
                self.shard_iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            while self.shard_iterators[shard_id]:
                response = self.streams.get_records(ShardIterator=self.shard_iterators[shard_id], Limit=1000)
                self.shard_iterators[shard_id] = response.get("NextShardIterator")
                records = response.get("Records") or []
                for record in records:
                    record["_shard"] = shard_id
                    fix_moto_binary_keys(record)
                    self.record_offsets.setdefault(record["dynamodb"]["SequenceNumber"], self.clock_offset)
                new += records
                if not records:
                    break
        self.stream_records += new
        return new

    # ---- the queues ------------------------------------------------------------------
    def _receive(self, queue_url: str, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` messages, as Lambda's SQS poller receives them, stamped on the simulated clock."""
        messages: list[dict[str, Any]] = []
        while len(messages) < limit:
            got = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(10, limit - len(messages)),
                MessageSystemAttributeNames=[
                    "ApproximateReceiveCount",
                    "SentTimestamp",
                    "ApproximateFirstReceiveTimestamp",
                ],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                break
            for message in got:  # SQS's timestamps on the simulated clock (moto stamps real time)
                offset = self.first_seen_offsets.setdefault(message["MessageId"], self.clock_offset)
                attributes = message.get("Attributes", {})
                for name in ("SentTimestamp", "ApproximateFirstReceiveTimestamp"):
                    if name in attributes:
                        attributes[name] = str(int(attributes[name]) + int(offset * 1000))
            messages += got
        return messages

    def in_flight(self) -> int:
        """Messages received but neither deleted nor visible again (their visibility timeout runs)."""
        total = 0
        for url in (self.queue_url, self.on_failure_url):
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            total += int(attributes["ApproximateNumberOfMessagesNotVisible"])
        return total

    def dlq_messages(self) -> list[dict[str, Any]]:
        """Drain the verification DLQ: [{"body": ..., "reason": ..., "source": ...}]."""
        from genba_sync import REASON_ATTRIBUTE, SOURCE_ATTRIBUTE

        found: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return found
            for message in got:
                attributes = message.get("MessageAttributes", {})
                found.append(
                    {
                        "body": message["Body"],
                        "reason": attributes.get(REASON_ATTRIBUTE, {}).get("StringValue"),
                        "source": attributes.get(SOURCE_ATTRIBUTE, {}).get("StringValue"),
                    }
                )
            self.sqs.delete_message_batch(
                QueueUrl=self.dlq_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
            )

    def queue_depth(self, queue_url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())
