"""The simulator's stand-in for the Lambda service: it imports the handlers and calls them in-process.

``handler_module`` loads lambda/<function>/index.py with the shared layer on the import path,
``invoke`` calls a handler as Lambda would and captures what it printed, ``Emitted`` reads that
output as CloudWatch would (EMF metrics, log lines); ``CountingClient`` counts (and can fail) the
AWS calls a handler makes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

from tools import ROOT

LAMBDA = ROOT / "lambda"
REGION = "ap-northeast-1"


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


# What Lambda's stream event records say whatever the GetRecords record said (moto's: eventVersion
# 1.0 and awsRegion us-east-1 in any region).
STREAM_RECORD_CONSTANTS = {"eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": REGION}


def stream_event_record(record: dict[str, Any], *, stream_arn: str, offset: float) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it (epoch seconds, binary values as base64 text, event
    source ARN); ``offset``: how far simulated time was ahead of real time when it was written."""
    from genba_sync import wire_value

    change = wire_value(dict(record["dynamodb"]))
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):  # written at simulated time: real time + the offset then
        change["ApproximateCreationDateTime"] = created.timestamp() + offset
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record["eventName"],
        **STREAM_RECORD_CONSTANTS,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


def sequence_number(event: dict[str, Any]) -> int:
    """A stream event's sequence number, or -1 when it has none (a malformed record)."""
    change = event.get("dynamodb")
    sequence = change.get("SequenceNumber") if isinstance(change, dict) else None
    return int(sequence) if isinstance(sequence, str) and sequence.isdigit() else -1


def on_failure_record(
    sequences: list[int], *, batch_size: int, shard: str, stream_arn: str, attempts: int
) -> dict[str, Any]:
    """What a stream mapping's on-failure destination receives when a batch exhausted ``attempts``:
    the shard and the range of its ``sequences``, never the records."""
    return {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": str(min(sequences)),
            "endSequenceNumber": str(max(sequences)),
            "approximateArrivalOfFirstRecord": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "approximateArrivalOfLastRecord": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "batchSize": batch_size,
            "streamArn": stream_arn,
        },
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """ReceiveMessage's messages as Lambda's SQS event source delivers them."""
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
