"""`make bench-sync`: AWS API calls per change and changes per second, forwarder and verifier.

Each is measured against moto server next to a one-call-per-record baseline in the same run:
the forwarder's SendMessageBatch (10 a call) against one SendMessage per change, and the
verifier's BatchGetItem (100 keys a call) against one GetItem per change. Only the function's
own work is timed (not the receives and deletes an event source mapping does). Targets:
at most 0.1 SQS calls per change (forwarder), at most 0.02 target reads per change (verifier).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from tools.sim import LossySyncWorker, Pipeline, moto_server

FORWARDER_TARGET = 0.1
VERIFIER_TARGET = 0.02


def _drain(pipeline: Pipeline, queue_url: str) -> None:
    while True:
        got = pipeline.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return
        pipeline.sqs.delete_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        )


def bench_forwarder(pipeline: Pipeline, records: list[dict[str, Any]], batch: int) -> dict[str, float]:
    from genba_sync import verification_message

    events = [pipeline.lambda_stream_record(r) for r in records]
    batched_seconds = baseline_seconds = 0.0
    batched_calls = baseline_calls = 0
    baseline_queue = pipeline.sqs.create_queue(QueueName=f"{pipeline.name}-baseline")["QueueUrl"]
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        before = pipeline.forwarder_sqs.total()
        began = time.perf_counter()
        response = pipeline._call(pipeline.forwarder, {"Records": chunk})
        batched_seconds += time.perf_counter() - began
        assert response["batchItemFailures"] == []
        batched_calls += pipeline.forwarder_sqs.total() - before
        _drain(pipeline, pipeline.queue_url)

        began = time.perf_counter()
        for event in chunk:  # the baseline: one SendMessage per change
            message = verification_message(event, version_attribute="version", canary_key=None, now=time.time())
            pipeline.sqs.send_message(QueueUrl=baseline_queue, MessageBody=json.dumps(message))
            baseline_calls += 1
        baseline_seconds += time.perf_counter() - began
        _drain(pipeline, baseline_queue)
    n = len(events)
    return {
        "calls": batched_calls / n,
        "baseline_calls": baseline_calls / n,
        "rate": n / batched_seconds,
        "baseline_rate": n / baseline_seconds,
    }


def bench_verifier(pipeline: Pipeline, records: list[dict[str, Any]], batch: int) -> dict[str, float]:
    batched_seconds = baseline_seconds = 0.0
    batched_reads = baseline_reads = 0
    verified = 0
    step = 500  # fill the queue in steps and drain as we go: moto's SQS slows with depth
    for start in range(0, len(records), step):
        chunk = [pipeline.lambda_stream_record(r) for r in records[start : start + step]]
        pipeline._call(pipeline.forwarder, {"Records": chunk})
        while True:
            messages = pipeline._receive(pipeline.queue_url, batch)
            if not messages:
                break
            seconds, reads, base_seconds, base_reads = _verify_once(pipeline, messages)
            batched_seconds += seconds
            batched_reads += reads
            baseline_seconds += base_seconds
            baseline_reads += base_reads
            verified += len(messages)
    assert verified == len(records), (verified, len(records))
    return {
        "calls": batched_reads / verified,
        "baseline_calls": baseline_reads / verified,
        "rate": verified / batched_seconds,
        "baseline_rate": verified / baseline_seconds,
    }


def _verify_once(pipeline: Pipeline, messages: list[dict[str, Any]]) -> tuple[float, int, float, int]:
    batched_seconds = baseline_seconds = 0.0
    batched_reads = baseline_reads = 0
    event = pipeline.sqs_event(messages, "arn:aws:sqs:ap-northeast-1:123456789012:bench")

    began = time.perf_counter()
    for message in messages:  # the baseline: one GetItem per change
        body = json.loads(message["Body"])
        item = pipeline.dynamodb.get_item(TableName=pipeline.replica_table, Key=body["key"], ConsistentRead=True)
        baseline_reads += 1
        assert int(item["Item"]["version"]["N"]) >= body["version"]
    baseline_seconds += time.perf_counter() - began

    before = pipeline.verifier_dynamodb.total()
    began = time.perf_counter()
    response = pipeline._call(pipeline.verifier, event)
    batched_seconds += time.perf_counter() - began
    batched_reads += pipeline.verifier_dynamodb.total() - before
    assert response["batchItemFailures"] == []
    for start in range(0, len(messages), 10):  # what the event source mapping does: not timed
        pipeline.sqs.delete_message_batch(
            QueueUrl=pipeline.queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages[start : start + 10])
            ],
        )
    return batched_seconds, batched_reads, baseline_seconds, baseline_reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--forwarder-batch", type=int, default=100)
    parser.add_argument("--verifier-batch", type=int, default=100)
    args = parser.parse_args()
    with moto_server():
        pipeline = Pipeline(name="bench")
        # Long enough that no message comes back while its batch is being measured.
        pipeline.sqs.set_queue_attributes(QueueUrl=pipeline.queue_url, Attributes={"VisibilityTimeout": "600"})
        for i in range(args.changes):
            pipeline.write(f"user-{i:06d}", 1)
        records = pipeline.read_stream()
        LossySyncWorker(pipeline).apply(records)  # every change reaches the replica

        forwarder = bench_forwarder(pipeline, records, args.forwarder_batch)
        verifier = bench_verifier(pipeline, records, args.verifier_batch)

    print(f"sync pipeline benchmark against moto server: {len(records)} changes")
    print(f"{'':22}| {'AWS calls per change':^36} | {'changes per second (moto)':^30}")
    print(f"{'':22}| {'genba':>8} {'1 call/record':>14} {'target':>11} | {'genba':>10} {'1 call/record':>16}")
    for name, what, result, target in (
        ("forwarder", "SQS calls", forwarder, FORWARDER_TARGET),
        ("verifier (DynamoDB)", "target reads", verifier, VERIFIER_TARGET),
    ):
        verdict = "ok" if result["calls"] <= target else "MISSED"
        print(
            f"{name:<22}| {result['calls']:>8.3f} {result['baseline_calls']:>14.3f} {'<= ' + str(target):>11} | "
            f"{result['rate']:>10.0f} {result['baseline_rate']:>16.0f}   ({what}: {verdict})"
        )


if __name__ == "__main__":
    main()
