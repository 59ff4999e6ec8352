"""A local run of the sync-verification pipeline against moto server (tests, demo, benchmark, soak).

moto cannot run event source mappings (without Docker), so this module plays Lambda's part:
it reads the source table's stream with GetRecords, builds the events Lambda would build,
calls the handlers in-process (boto3 pointed at moto through ``AWS_ENDPOINT_URL``), honours
their partial batch responses (retrying a stream batch from its first failed record, then
sending its range to the on-failure queue like a stream mapping's on-failure destination;
deleting the SQS messages that succeeded), and a "sync worker" copies changes to the
replica, losing or delaying some on purpose.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import json
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from tools import ROOT

LAMBDA = ROOT / "lambda"
REGION = "ap-northeast-1"
VERSION = "version"
SERVICE = "sync-verification"
CANARY_SORT_KEY = b"\x00canary\xff"  # not UTF-8: a binary key must stay bytes end to end


def handler_module(function: str) -> ModuleType:
    """Import lambda/<function>/index.py under a unique name (every handler file is called index.py)."""
    for path in (LAMBDA / "_shared" / "python", LAMBDA / function):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    name = f"genba_handler_{function}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, LAMBDA / function / "index.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeContext:
    function_name: str = "genba-sync-local"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:genba-sync-local"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto server on 127.0.0.1 (a free port); yields its endpoint and points boto3 at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _fix_moto_receive_cost()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _fix_moto_receive_cost() -> None:
    """Make moto's ReceiveMessage cost what SQS's does: independent of the queue's depth.

    moto 5's ``receive_message`` checks each message it returns against the retention period
    through ``get_queue_attributes``, which recomputes every attribute of the queue, three of
    them (ApproximateNumberOfMessages, ...NotVisible, ...Delayed) by walking every message:
    returning k messages from a queue holding n costs O(k x n), and a run that keeps a few
    hundred changes pending (lost by the sync, waiting out the maximum lag) slows down with every
    chunk (profiled: 70% of the soak's time). Same check, reading the one attribute it needs.
    """
    from moto.core.utils import unix_time, unix_time_millis
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend, "_genba_fixed", False):
        return

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    setattr(SQSBackend, "_genba_fixed", True)  # noqa: B010 - a marker moto does not declare

    # Every SendMessage reads ``queue.attributes`` (for ContentBasedDeduplication), which counts the
    # queue's messages three times, asking the clock (utcnow) twice per message: the same counts,
    # with the clock read once per count.
    def visible(self: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def not_visible(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def delayed(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    Queue.messages = property(visible)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_not_visible = property(not_visible)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_delayed = property(delayed)  # type: ignore[assignment,method-assign]


_ENV_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_EC2_METADATA_DISABLED",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
)


def invoke(module: ModuleType, event: dict[str, Any], runtime: Any) -> tuple[dict[str, Any], str]:
    """Call a handler as Lambda would, with ``runtime``; returns its answer and what it printed."""
    buffer = io.StringIO()
    handler = module.logger.registered_handler
    previous = handler.setStream(buffer)
    try:
        with contextlib.redirect_stdout(buffer):
            response = module.handler(event, FakeContext(), runtime=runtime)
    finally:
        handler.setStream(previous)
    return response, buffer.getvalue()


def write_batch(dynamodb: Any, table: str, requests: list[dict[str, Any]]) -> None:
    """``requests`` in order, 25 per BatchWriteItem, never two on one key in a call; unprocessed items resent."""
    from genba_sync import item_hash

    batch: list[dict[str, Any]] = []
    keys: set[str] = set()

    def flush() -> None:
        pending = {table: list(batch)}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        batch.clear()
        keys.clear()

    for request in requests:
        key = request["DeleteRequest"]["Key"] if "DeleteRequest" in request else request["PutRequest"]["Item"]
        key_id = item_hash({name: key[name] for name in ("pk", "sk") if name in key})
        if key_id in keys or len(batch) == 25:
            flush()
        batch.append(request)
        keys.add(key_id)
    if batch:
        flush()


class CountingClient:
    """A boto3 client wrapper that counts calls per operation (and can inject faults)."""

    def __init__(self, real: Any, fault: Callable[[str, dict[str, Any]], Any] | None = None) -> None:
        self._real = real
        self._fault = fault
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if not callable(attribute) or name.startswith("_") or name in {"exceptions", "meta", "get_paginator"}:
            return attribute

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            if self._fault is not None:
                injected = self._fault(name, kwargs)
                if injected is not None:
                    return injected
            return attribute(**kwargs)

        return call

    def total(self, *names: str) -> int:
        return sum(self.calls.get(n, 0) for n in names) if names else sum(self.calls.values())


def client_error(code: str, operation: str) -> Exception:
    from botocore.exceptions import ClientError

    error: Exception = ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)
    return error


@dataclass
class Emitted:
    """What the handlers printed: EMF metric values by name, and log lines."""

    metrics: dict[str, list[float]] = field(default_factory=dict)
    dimensions: list[dict[str, str]] = field(default_factory=list)
    log_lines: list[dict[str, Any]] = field(default_factory=list)
    #: (simulated time, namespace, metric name, dimensions, value): what CloudWatch would store
    points: list[tuple[float, str, str, dict[str, str], float]] = field(default_factory=list)

    def feed(self, text: str, *, at: float | None = None) -> None:
        """Parse handler output; EMF values are stamped ``at`` (the simulated time of the invocation)."""
        for line in text.splitlines():
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if not isinstance(document, dict):
                continue
            if "_aws" in document:
                stamp = float(document["_aws"].get("Timestamp", 0)) / 1000 if at is None else at
                for directive in document["_aws"]["CloudWatchMetrics"]:
                    dimensions = {d: document[d] for dims in directive["Dimensions"] for d in dims}
                    self.dimensions.append(dimensions)
                    for metric in directive["Metrics"]:
                        value = document[metric["Name"]]
                        values = [float(v) for v in (value if isinstance(value, list) else [value])]
                        self.metrics.setdefault(metric["Name"], []).extend(values)
                        namespace = str(directive.get("Namespace", ""))
                        self.points += [(stamp, namespace, metric["Name"], dimensions, v) for v in values]
            else:
                self.log_lines.append(document)

    def total(self, name: str) -> float:
        return sum(self.metrics.get(name, []))


class Pipeline:
    """Source and replica tables, queues, handlers and a simulated Lambda service, on moto."""

    def __init__(
        self,
        *,
        name: str = "sync",
        grace_seconds: int = 0,
        max_sync_lag_seconds: int = 24 * 3600,
        stream_view: str = "NEW_AND_OLD_IMAGES",
        forwarder_batch: int = 100,
        verifier_batch: int = 100,
        forwarder_retries: int = 2,
        capture_output: bool = True,
        realistic_backoff: bool = False,
        binary_sort_key: bool = False,
        service_name: str = SERVICE,
    ) -> None:
        import boto3

        self.name = name
        self.forwarder_batch = forwarder_batch
        self.verifier_batch = verifier_batch
        self.forwarder_retries = forwarder_retries
        self.capture_output = capture_output
        self.emitted = Emitted()
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

        os.environ.update(
            {
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": "genba/Sync",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
        )
        self.forwarder = handler_module("sync_forwarder")
        self.verifier = handler_module("sync_verifier")
        self.replay_fn = handler_module("sync_replay")
        for module in (self.forwarder, self.verifier, self.replay_fn):
            # The modules are imported once per process: their metrics' service dimension is this pipeline's.
            module.metrics.service = service_name
        from genba_sync import ENV as CONTRACT_ENV
        from visibility import PendingRegistry

        # The verifier's memory of what it left on the queue (one execution environment).
        self.pending_registry = PendingRegistry()

        # The functions' environment as the construct sets it; the handlers get settings parsed
        # from it with each call (a test may change a value between calls).
        self.environ: dict[str, str] = {
            CONTRACT_ENV["verification_queue_url"]: self.queue_url,
            CONTRACT_ENV["verification_dlq_url"]: self.dlq_url,
            CONTRACT_ENV["grace_period_seconds"]: str(grace_seconds),
            CONTRACT_ENV["max_sync_lag_seconds"]: str(max_sync_lag_seconds),
            CONTRACT_ENV["version_attribute"]: VERSION,
            CONTRACT_ENV["canary_key"]: json.dumps(self.canary_key),
            CONTRACT_ENV["source_table_name"]: self.source_table,
            CONTRACT_ENV["target_kind"]: "dynamodb",
            CONTRACT_ENV["target_config"]: json.dumps({"table_name": self.replica_table, "version_attribute": VERSION}),
        }
        self.realistic_backoff = realistic_backoff
        # Counting clients for this pipeline (tests and fault runs swap in faulty ones, and
        # install_clients() puts these back).
        self.base_clients: dict[str, Any] = {
            "forwarder_sqs": CountingClient(boto3.client("sqs", region_name=REGION)),
            "verifier_sqs": CountingClient(boto3.client("sqs", region_name=REGION)),
            "verifier_dynamodb": CountingClient(boto3.client("dynamodb", region_name=REGION)),
            "replay_sqs": CountingClient(boto3.client("sqs", region_name=REGION)),
            "replay_streams": SimulatedTimeStreams(boto3.client("dynamodbstreams", region_name=REGION), self),
        }
        self.forwarder_sqs: Any = None
        self.verifier_sqs: Any = None
        self.verifier_dynamodb: Any = None
        self.replay_sqs: Any = None
        self.replay_streams: Any = None
        # A target in place of the replica table (None: the DynamoDB target over verifier_dynamodb).
        self.verifier_target: Any = None
        # Runtime fields a test sets for the replay function (clock, sleep, max_receives).
        self.replay_overrides: dict[str, Any] = {}
        self.install_clients()
        self.shard_iterators: dict[str, str | None] = {}
        self.stream_records: list[dict[str, Any]] = []
        self.verified_sequences: list[str] = []
        self.verified_lags: list[float] = []
        self.received: dict[str, dict[str, Any]] = {}
        self.clock_offset = 0.0
        # Simulated time (the offset) at which each stream record was written and each message first received.
        self.record_offsets: dict[str, float] = {}
        self.first_seen_offsets: dict[str, float] = {}
        self.unreplayable: list[dict[str, Any]] = []
        # message id -> (queue, latest receipt, simulated time its backoff ends)
        self.waiting: dict[str, tuple[str, str, float]] = {}
        self.last_results: dict[str, str] = {}
        self.last_keep: dict[str, int] = {}
        self.invocations: dict[str, int] = {}  # handler module -> invocations
        self.output_bytes = 0  # what the handlers printed (log lines and EMF): CloudWatch Logs ingestion
        # Called with each verified message's body, right after the verifier's invocation.
        self.on_verified: Callable[[dict[str, Any]], None] | None = None

    # ---- wiring -----------------------------------------------------------------------
    def install_clients(self) -> None:
        """The pipeline's own (counting, fault-free) clients and the replica table as the target."""
        for name, client in self.base_clients.items():
            setattr(self, name, client)
        self.verifier_target = None

    def clock(self) -> float:
        """The simulated clock of every handler: now, plus however far a run moved time on."""
        return time.time() + self.clock_offset

    def sleep(self, seconds: float) -> None:
        """A handler's pause (a retry backoff, GetRecords pacing): simulated time passes, no real wait."""
        self.clock_offset += max(0.0, seconds)

    def forwarder_runtime(self) -> Any:
        from genba_sync import ForwardSettings

        return self.forwarder.Runtime(
            sqs=self.forwarder_sqs,
            settings=ForwardSettings.from_environ(self.environ),
            clock=self.clock,
            sleep=self.sleep,
        )

    def verifier_runtime(self) -> Any:
        from verification import VerifierSettings

        # Tests re-check a change at once; long runs keep the deployed backoff (1, 2, 4... s with
        # no grace period) so that changes not synced yet stop being re-read, and fast_forward()
        # plays the passing of time.
        settings = VerifierSettings.from_environ(self.environ, backoff_floor_seconds=1 if self.realistic_backoff else 0)
        target = self.verifier_target or self.verifier.make_target(settings, lambda name: self.verifier_dynamodb)

        def observe(result: Any) -> None:
            self.last_results = dict(result.outcomes)
            self.last_keep = dict(result.keep)

        return self.verifier.Runtime(
            sqs=self.verifier_sqs,
            target=target,
            settings=settings,
            clock=self.clock,
            observe=observe,
            pending=self.pending_registry,
        )

    def replay_runtime(self) -> Any:
        from genba_sync import ForwardSettings

        overrides = {"clock": self.clock, "sleep": self.sleep} | self.replay_overrides
        return self.replay_fn.Runtime(
            streams=self.replay_streams,
            sqs=self.replay_sqs,
            settings=ForwardSettings.from_environ(self.environ),
            **overrides,
        )

    def runtime(self, module: ModuleType) -> Any:
        """The clients, target, settings and clock the pipeline passes to a handler."""
        if module is self.forwarder:
            return self.forwarder_runtime()
        if module is self.verifier:
            return self.verifier_runtime()
        return self.replay_runtime()

    def _call(self, module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
        runtime = self.runtime(module)
        at = self.clock()
        self.invocations[module.__name__] = self.invocations.get(module.__name__, 0) + 1
        if not self.capture_output:
            return module.handler(event, FakeContext(), runtime=runtime)  # type: ignore[no-any-return]
        response, output = invoke(module, event, runtime)
        self.output_bytes += len(output.encode())
        self.emitted.feed(output, at=at)
        return response

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

    def lambda_stream_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A GetRecords record as Lambda delivers it (epoch seconds, binary values as base64 text, event source ARN)."""
        from genba_sync import wire_value

        change = wire_value(dict(record["dynamodb"]))
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):  # written at simulated time: real time + the offset then
            offset = self.record_offsets.get(str(change.get("SequenceNumber")), self.clock_offset)
            change["ApproximateCreationDateTime"] = created.timestamp() + offset
        return {
            "eventID": record.get("eventID", ""),
            "eventName": record["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": change,
            "eventSourceARN": self.stream_arn,
        }

    # ---- forwarder (stream mapping) ----------------------------------------------------
    def run_forwarder(self, records: list[dict[str, Any]]) -> dict[str, int]:
        """Deliver records like a stream mapping: batches, partial-failure retries, on-failure destination."""
        stats = {"invocations": 0, "on_failure": 0}
        for start in range(0, len(records), self.forwarder_batch):
            batch = records[start : start + self.forwarder_batch]
            events = [r if "eventSourceARN" in r else self.lambda_stream_record(r) for r in batch]
            attempts = 0
            while events:
                stats["invocations"] += 1
                response = self._call(self.forwarder, {"Records": events})
                failures = [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]
                if not failures:
                    break
                # Lambda retries from the lowest failed sequence number; an identifier that is not
                # one (a malformed record) makes it retry the whole batch.
                first = min(int(f) if str(f).isdigit() else -1 for f in failures)
                remaining = [e for e in events if _sequence(e) >= first or _sequence(e) < 0]
                attempts += 1
                if attempts > self.forwarder_retries:
                    self._on_failure(remaining, batch)
                    stats["on_failure"] += 1
                    break
                events = remaining
        return stats

    def _on_failure(self, events: list[dict[str, Any]], batch: list[dict[str, Any]]) -> None:
        # The range is the stream's: records injected by a test (not from the stream) are not in it.
        sequences = [_sequence(e) for e in events if e.get("eventSource") == "aws:dynamodb" and _sequence(e) >= 0]
        if not sequences:
            return
        shard = next((r.get("_shard") for r in batch if r.get("_shard")), None)
        if shard is None:
            shard = next(iter(self.shard_iterators))
        message = {
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.forwarder_retries + 1,
            },
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": str(min(sequences)),
                "endSequenceNumber": str(max(sequences)),
                "approximateArrivalOfFirstRecord": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "approximateArrivalOfLastRecord": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "batchSize": len(events),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(message))

    # ---- SQS-fed functions (verifier, replay) ------------------------------------------
    def _receive(self, queue_url: str, limit: int) -> list[dict[str, Any]]:
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

    @staticmethod
    def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }

    def _run_sqs_function(self, module: ModuleType, queue_url: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
        messages = self._receive(queue_url, limit)
        if not messages:
            return 0, []
        response = self._call(module, self.sqs_event(messages, f"arn:aws:sqs:{REGION}:123456789012:q"))
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        keep = self.last_keep if module is self.verifier else {}
        now = self.clock()
        for message in messages:  # the latest receipt of each message left on the queue, and its next look
            if message["MessageId"] in failed:
                back = now + max(0, keep.get(message["MessageId"], 0))
                self.waiting[message["MessageId"]] = (queue_url, message["ReceiptHandle"], back)
            else:
                self.waiting.pop(message["MessageId"], None)
        for start in range(0, len(done), 10):  # what the SQS event source mapping does after success
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages), done

    def run_verifier_once(self) -> int:
        """One verifier invocation; returns how many messages it finished (verified or sent to the DLQ)."""
        _, done = self._run_sqs_function(self.verifier, self.queue_url, self.verifier_batch)
        results = self.last_results
        for message in done:
            if results.get(message["MessageId"]) != "verified":
                continue
            body = json.loads(message["Body"])
            self.received[message["MessageId"]] = body
            self.verified_sequences.append(str(body["sequence"]))
            self.verified_lags.append(self.clock() - float(body["event_time"]))
            if self.on_verified is not None:
                self.on_verified(body)
        return len(done)

    def run_replay_once(self) -> int:
        received, _ = self._run_sqs_function(self.replay_fn, self.on_failure_url, 10)
        return received

    def drain(self, *, rounds: int = 100_000, wait_seconds: float = 15.0) -> None:
        """Run replay and verifier until neither finishes anything more and nothing is in flight
        (what is left is not synced yet)."""
        waited = 0.0
        for _ in range(rounds):
            replayed = self.run_replay_once()
            finished = self.run_verifier_once()
            if replayed or finished:
                continue
            if waited < wait_seconds and self.in_flight():
                time.sleep(0.25)
                waited += 0.25
                continue
            return

    def fast_forward(self, seconds: float = 0.0) -> int:
        """``seconds`` of simulated time pass: each message whose backoff has ended by then is made
        visible again (moto's visibility runs on real time). Returns how many.

        Only those: a change the sync lost is looked at again 1, 2, 4... s after each look, as in
        AWS, not at every step of the run (which re-read every pending change per chunk).
        """
        self.clock_offset += max(0.0, seconds)
        now = self.clock()
        due = {mid: entry for mid, entry in self.waiting.items() if entry[2] <= now}
        by_queue: dict[str, list[str]] = {}
        for message_id, (queue_url, receipt, _) in due.items():
            del self.waiting[message_id]
            by_queue.setdefault(queue_url, []).append(receipt)
        for queue_url, receipts in by_queue.items():
            for start in range(0, len(receipts), 10):
                # A receipt that is stale (deleted, or received again) fails alone: nothing to do.
                with contextlib.suppress(Exception):
                    self.sqs.change_message_visibility_batch(
                        QueueUrl=queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0}
                            for i, r in enumerate(receipts[start : start + 10])
                        ],
                    )
        return len(due)

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


def fix_moto_binary_keys(record: dict[str, Any]) -> None:
    """moto 5 base64-encodes B values of a stream record's ``Keys`` once more than AWS does (its
    images are right): boto3 then hands back the base64 text as bytes. Decode that once."""
    for value in (record.get("dynamodb") or {}).get("Keys", {}).values():
        if isinstance(value, dict) and isinstance(value.get("B"), bytes | bytearray):
            with contextlib.suppress(ValueError):
                value["B"] = base64.b64decode(bytes(value["B"]), validate=True)


class SimulatedTimeStreams:
    """The replay function's DynamoDB Streams client: records stamped on the simulated clock.

    moto stamps ApproximateCreationDateTime with real time; the pipeline's changes happen at
    real time plus the offset in effect when they were written.
    """

    def __init__(self, real: Any, pipeline: Pipeline) -> None:
        self._real = real
        self._pipeline = pipeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def get_records(self, **kwargs: Any) -> Any:
        response = self._real.get_records(**kwargs)
        offsets = self._pipeline.record_offsets
        for record in response.get("Records") or []:
            fix_moto_binary_keys(record)
            change = record.get("dynamodb", {})
            created = change.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                offset = offsets.get(str(change.get("SequenceNumber")), self._pipeline.clock_offset)
                change["ApproximateCreationDateTime"] = created + timedelta(seconds=offset)
        return response


def _sequence(event: dict[str, Any]) -> int:
    """A stream event's sequence number, or -1 when it has none (a malformed record)."""
    change = event.get("dynamodb")
    sequence = change.get("SequenceNumber") if isinstance(change, dict) else None
    return int(sequence) if isinstance(sequence, str) and sequence.isdigit() else -1


class LossySyncWorker:
    """The sync under test: copies stream changes to the replica, losing and delaying some on purpose."""

    def __init__(self, pipeline: Pipeline, *, lose: float = 0.0, delay: float = 0.0, seed: int = 7) -> None:
        self.pipeline = pipeline
        self.random = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
        self.lose = lose
        self.delay = delay
        self.lost: dict[str, str] = {}  # sequence -> key text
        self.delayed: list[dict[str, Any]] = []
        self.delayed_total = 0
        # What the replica holds, per key id (genba_sync.item_hash of the key): version, or None when
        # absent. The replica's only writer is this worker, so this mirror is exact.
        self.held: dict[str, int | None] = {}
        # A dead worker copies nothing; its stream position stays, so it resumes where it stopped.
        self.stopped = False
        self.backlog: list[dict[str, Any]] = []

    def stop(self) -> None:
        self.stopped = True

    def resume(self) -> None:
        self.stopped = False
        backlog, self.backlog = self.backlog, []
        self.apply(backlog)

    def holds(self, key: dict[str, Any]) -> int | None:
        """The version the replica holds for ``key`` (None: absent)."""
        from genba_sync import item_hash

        return self.held.get(item_hash(key))

    def apply(self, records: list[dict[str, Any]]) -> None:
        if self.stopped:
            self.backlog += records
            return
        copies: list[dict[str, Any]] = []
        for record in records:
            roll = self.random.random()
            if roll < self.lose:
                self.lost[record["dynamodb"]["SequenceNumber"]] = record["dynamodb"]["Keys"]["pk"]["S"]
            elif roll < self.lose + self.delay:
                self.delayed.append(record)
                self.delayed_total += 1
            else:
                copies.append(record)
        self._copy(copies)

    def catch_up(self) -> None:
        delayed, self.delayed = self.delayed, []
        self._copy(delayed)

    def _copy(self, records: list[dict[str, Any]]) -> None:
        """Copy ``records`` in order, never going back to an older version (a late copy must not undo a
        newer one: the condition ``attribute_not_exists(pk) OR version <= :v``, decided on the exact
        mirror of the replica), written with BatchWriteItem."""
        from genba_sync import item_hash

        requests: list[dict[str, Any]] = []
        for record in records:
            change = record["dynamodb"]
            key_id = item_hash(change["Keys"])
            if record["eventName"] == "REMOVE":
                requests.append({"DeleteRequest": {"Key": change["Keys"]}})
                self.held[key_id] = None
                continue
            image = change["NewImage"]
            version = int(image[VERSION]["N"])
            held = self.held.get(key_id)
            if held is not None and held > version:
                continue
            requests.append({"PutRequest": {"Item": image}})
            self.held[key_id] = version
        write_batch(self.pipeline.dynamodb, self.pipeline.replica_table, requests)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]
