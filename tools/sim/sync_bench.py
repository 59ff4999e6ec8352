"""Measurements for `make bench-sync`: AWS requests end to end, and the handlers' own CPU.

``end_to_end()`` runs changes through the pipeline on moto (a sync that delays 10% of them, so
that some changes are looked at twice: visibility changes and source reads appear) and counts
every AWS request by who makes it: the forwarder, the verifier, the SQS event source mapping
(receives and deletes on the verification queue) and the stream poller. ``handler_cpu()`` times
the forwarder and the verifier with ``time.process_time`` on real stream records, their AWS
calls answered by in-process stubs (tools/sim/accounting.py), at the deployed log level.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

from tools import ROOT
from tools.sim.accounting import RequestCounter, StubDynamoDb, StubSqs
from tools.sim.lambda_standin import invoke
from tools.sim.pipeline import Pipeline
from tools.sim.sync_worker import LossySyncWorker

TEMPLATE = ROOT / "snapshots" / "dev" / "genba-dev-sync.json"
FUNCTIONS = ("Forwarder", "Verifier", "Replay")


def function_settings(template_path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    """Memory (MB), architecture and event source batch size of the sync functions, from the template."""
    resources = json.loads(template_path.read_text())["Resources"]
    found: dict[str, dict[str, Any]] = {}
    for logical_id, resource in resources.items():
        match = re.fullmatch(r"UserTableSync(Forwarder|Verifier|Replay)[0-9A-F]{8}", logical_id)
        if match and resource["Type"] == "AWS::Lambda::Function":
            props = resource["Properties"]
            found[match.group(1)] = {
                "logical_id": logical_id,
                "memory_mb": int(props.get("MemorySize", 128)),
                "architecture": (props.get("Architectures") or ["x86_64"])[0],
            }
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            ref = resource["Properties"]["FunctionName"].get("Ref")
            for settings in found.values():
                if settings["logical_id"] == ref:
                    settings["batch_size"] = int(resource["Properties"].get("BatchSize", 10))
    return found


def end_to_end(changes: int, *, seed: int = 5) -> dict[str, Any]:
    """Requests per change by role, service and operation; billed units; invocations; bytes logged."""
    pipeline = Pipeline(name="bench-e2e", realistic_backoff=True)
    counter = RequestCounter()
    counter.watch(pipeline.base_clients["forwarder_sqs"]._real, "forwarder")
    counter.watch(pipeline.base_clients["verifier_sqs"]._real, "verifier")
    counter.watch(pipeline.base_clients["verifier_dynamodb"]._real, "verifier")
    # The sim plays the event source mapping with pipeline.sqs: its receives and deletes on the
    # verification queue (the replay's mapping polls an empty queue: a cost per hour, not per change).
    counter.watch(pipeline.sqs, "event source mapping", {"ReceiveMessage", "DeleteMessageBatch"}, pipeline.queue_url)
    counter.watch(pipeline.streams, "stream poller", {"GetRecords", "GetShardIterator", "DescribeStream"})
    worker = LossySyncWorker(pipeline, delay=0.1, seed=seed)
    users = max(1, changes * 8 // 10)
    versions: dict[str, int] = {}
    for start in range(0, changes, 100):
        for i in range(start, min(changes, start + 100)):
            user = f"user-{i % users:06d}"
            versions[user] = versions.get(user, 0) + 1
            pipeline.write(user, versions[user], plan="pro")
        records = pipeline.read_stream()
        worker.apply(records)
        pipeline.run_forwarder(records)
        pipeline.drain(wait_seconds=0)
        worker.catch_up()
        pipeline.fast_forward(60)
        pipeline.drain(wait_seconds=0)
    for _ in range(3):
        pipeline.fast_forward(60)
        pipeline.drain(wait_seconds=0)
    verified = len(set(pipeline.verified_sequences))
    assert verified == changes, (verified, changes)
    return {
        "changes": changes,
        "requests": {f"{r}: {s} {o}": n / changes for (r, s, o), n in sorted(counter.requests.items())},
        "total": counter.total() / changes,
        "by_role": {role: counter.total(role=role) / changes for role in {r for r, _, _ in counter.requests}},
        "sqs_billed": counter.billed_total("sqs") / changes,
        "read_units": counter.billed_total("dynamodb") / changes,
        "entries": {f"{o} {res}": n / changes for (o, res), n in counter.entries.items()},
        "target_keys": counter.entry_total("BatchGetItem", pipeline.replica_table) / changes,
        "source_keys": counter.entry_total("BatchGetItem", pipeline.source_table) / changes,
        "visibility_entries": counter.entry_total("ChangeMessageVisibilityBatch") / changes,
        "sends": counter.total(role="forwarder", operation="SendMessageBatch") / changes,
        "invocations": {name.rsplit("_", 1)[-1]: n / changes for name, n in pipeline.invocations.items()},
        "calls": {
            "forwarder": counter.total(role="forwarder") / changes,
            "verifier": counter.total(role="verifier") / changes,
        },
    }


def _sqs_event(bodies: list[str], now: float) -> dict[str, Any]:
    stamp = str(int(now * 1000))
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": stamp,
                    "ApproximateFirstReceiveTimestamp": stamp,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:ap-northeast-1:123456789012:bench",
                "awsRegion": "ap-northeast-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def handler_cpu(
    pipeline: Pipeline, records: list[dict[str, Any]], *, batch: int = 100, rounds: int = 3
) -> dict[str, float]:
    """CPU ms per 1,000 changes of the forwarder and the verifier (median of ``rounds``), and bytes
    logged per change at the deployed log level (INFO), with stub AWS clients."""
    from genba_sync import ForwardSettings
    from verification import VerifierSettings
    from visibility import PendingRegistry

    events = [pipeline.lambda_stream_record(r) for r in records]
    replica = StubDynamoDb(items={}, key_names=("pk",))
    for record in records:
        replica.hold(record["dynamodb"]["NewImage"])
    levels = {m: m.logger.log_level for m in (pipeline.forwarder, pipeline.verifier)}
    for module in levels:
        module.logger.setLevel("INFO")  # as deployed (the simulator runs at WARNING)
    forwarder_ms: list[float] = []
    verifier_ms: list[float] = []
    logged = 0
    try:
        for _ in range(rounds):
            sqs = StubSqs()
            runtime = pipeline.forwarder.Runtime(
                sqs=sqs, settings=ForwardSettings.from_environ(pipeline.environ), sleep=lambda s: None
            )
            used, logged = 0.0, 0
            for start in range(0, len(events), batch):
                began = time.process_time()
                _, output = invoke(pipeline.forwarder, {"Records": events[start : start + batch]}, runtime)
                used += time.process_time() - began
                logged += len(output.encode())
            forwarder_ms.append(used * 1000 / len(events) * 1000)
            bodies = [entry["MessageBody"] for entry in sqs.sent]
            settings = VerifierSettings.from_environ(pipeline.environ)
            target = pipeline.verifier.make_target(settings, lambda name: replica)
            verify = pipeline.verifier.Runtime(
                sqs=StubSqs(), target=target, settings=settings, pending=PendingRegistry()
            )
            used = 0.0
            for start in range(0, len(bodies), batch):
                event = _sqs_event(bodies[start : start + batch], time.time())
                began = time.process_time()
                response, output = invoke(pipeline.verifier, event, verify)
                used += time.process_time() - began
                logged += len(output.encode())
                assert response["batchItemFailures"] == []
            verifier_ms.append(used * 1000 / len(bodies) * 1000)
    finally:
        for module, level in levels.items():
            module.logger.setLevel(level)
    return {
        "forwarder": statistics.median(forwarder_ms),
        "verifier": statistics.median(verifier_ms),
        "log_bytes_per_change": logged / len(events),
    }
