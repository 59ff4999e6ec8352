"""`make bench-sync`: what the sync pipeline costs per change, next to a baseline of the same run.

1. Forwarder SQS calls and verifier target reads per change, and changes per second, against
   moto server, next to one call per record (SendMessage per change, GetItem per change).
   Targets: at most 0.1 SQS calls per change (forwarder), at most 0.02 target reads (verifier).
2. AWS requests per change across every service end to end (tools/sim/sync_bench.py): the
   forwarder's sends, the event source mapping's receives and deletes, visibility changes,
   target and source reads, the stream poller's reads, metrics (EMF: log lines, no API call).
3. The handlers' own CPU ms per 1,000 changes, their AWS calls answered by in-process stubs.
4. USD per million changes at list prices (tools/reports/prices.py), with the functions'
   memory and architecture from the dev sync stack's synthesized template.

Writes the figures to docs/benchmarks.md (the section between the bench-sync markers).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from tools import ROOT
from tools.reports.prices import LAMBDA_MB_PER_VCPU, PRICES, SYNC_CHECKED
from tools.sim import LossySyncWorker, Pipeline, moto_server
from tools.sim.sync_bench import end_to_end, function_settings, handler_cpu

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


ASSUMED_CALL_MS = 10.0  # wall time of one in-region SQS or DynamoDB call, inside a Lambda invocation
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench-sync:start -->", "<!-- bench-sync:end -->"


def usd_per_million(e2e: dict[str, Any], cpu: dict[str, float], *, baseline: bool = False) -> dict[str, float]:
    """List-price USD per million changes: Lambda requests and GB-s, SQS chunks, DynamoDB reads, logs.

    Lambda duration per change = own CPU (scaled to the function's CPU share: memory / 1,769 MB of
    a vCPU) + its AWS calls x ``ASSUMED_CALL_MS``. ``baseline``: with one call per record.
    """
    functions = function_settings()
    million = 1_000_000
    calls = dict(e2e["calls"])
    sqs_billed, read_units = e2e["sqs_billed"], e2e["read_units"]
    if baseline:
        base = _baseline_requests(e2e)
        calls = {"forwarder": 1.0, "verifier": base["verifier"]}
        sqs_billed += (
            1.0
            - e2e["sends"]
            + e2e["visibility_entries"]
            - e2e["requests"].get("verifier: sqs ChangeMessageVisibilityBatch", 0.0)
        )
    gb_seconds = 0.0
    for name, key in (("Forwarder", "forwarder"), ("Verifier", "verifier")):
        settings = functions[name]
        share = min(1.0, settings["memory_mb"] / LAMBDA_MB_PER_VCPU)
        ms = cpu[key] / 1000 / share + calls[key] * ASSUMED_CALL_MS
        gb_seconds += settings["memory_mb"] / 1024 * ms / 1000
    arch = functions["Verifier"]["architecture"]
    gb_price = PRICES["lambda_gb_second_arm" if arch == "arm64" else "lambda_gb_second_x86"].usd
    invocations = e2e["invocations"].get("forwarder", 0) + e2e["invocations"].get("verifier", 0)
    parts = {
        "Lambda requests": invocations * million * PRICES["lambda_request"].usd,
        "Lambda GB-s": gb_seconds * million * gb_price,
        "SQS requests (64 KB chunks)": sqs_billed * million * PRICES["sqs_request"].usd,
        "DynamoDB reads": read_units * million * PRICES["dynamodb_read"].usd,
        "CloudWatch (logs and EMF)": cpu["log_bytes_per_change"] * million / 1e9 * PRICES["logs_ingestion"].usd,
    }
    parts["total"] = sum(parts.values())
    return parts


def _baseline_requests(e2e: dict[str, Any]) -> dict[str, float]:
    """The same run's work with one call per record: a SendMessage per change, a GetItem per key read
    (target and source), a ChangeMessageVisibility per message kept; the mapping's calls unchanged."""
    verifier = e2e["target_keys"] + e2e["source_keys"] + e2e["visibility_entries"]
    verifier += e2e["calls"]["verifier"] - sum(
        v for k, v in e2e["requests"].items() if k.startswith("verifier:") and ("Batch" in k)
    )
    others = e2e["total"] - e2e["calls"]["forwarder"] - e2e["calls"]["verifier"]
    return {"forwarder": 1.0, "verifier": verifier, "total": 1.0 + verifier + others}


def _rows(
    forwarder: dict[str, float], verifier: dict[str, float], e2e: dict[str, Any], cpu: dict[str, float]
) -> list[str]:
    base = _baseline_requests(e2e)
    usd, usd_base = usd_per_million(e2e, cpu), usd_per_million(e2e, cpu, baseline=True)
    f, v = forwarder, verifier
    rows = [
        "| figure | genba | baseline (one call per record) | ratio |",
        "|---|---|---|---|",
        _row(f"forwarder SQS calls per change (target <= {FORWARDER_TARGET})", f["calls"], f["baseline_calls"], 3),
        _row(
            f"verifier DynamoDB target reads per change (target <= {VERIFIER_TARGET})",
            v["calls"],
            v["baseline_calls"],
            4,
        ),
        _row("forwarder changes per second (moto)", f["rate"], f["baseline_rate"], 0),
        _row("verifier changes per second (moto)", v["rate"], v["baseline_rate"], 0),
        _row("AWS requests per change, all services end to end", e2e["total"], base["total"], 3),
    ]
    for name, value in e2e["requests"].items():
        rows.append(f"| - {name} | {value:.4f} | | |")
    rows += [
        f"| forwarder CPU ms per 1,000 changes (AWS stubbed) | {cpu['forwarder']:.1f} | n/a | |",
        f"| verifier CPU ms per 1,000 changes (AWS stubbed) | {cpu['verifier']:.1f} | n/a | |",
        f"| bytes logged per change (INFO, EMF included) | {cpu['log_bytes_per_change']:.0f} | | |",
        _row("USD per million changes (list prices)", usd["total"], usd_base["total"], 3),
    ]
    for name in usd:
        if name != "total":
            rows.append(f"| - {name} | {usd[name]:.4f} | {usd_base[name]:.4f} | |")
    return rows


def _row(name: str, value: float, baseline: float, digits: int) -> str:
    return f"| {name} | {value:,.{digits}f} | {baseline:,.{digits}f} | {value / baseline:.3g} |"


def write_doc(rows: list[str], header: str) -> None:
    text = DOC.read_text()
    section = "\n".join([START, header, "", *rows, END])
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n## Sync pipeline: `make bench-sync`\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md")
    args = parser.parse_args()
    batches = function_settings()
    with moto_server():
        pipeline = Pipeline(name="bench")
        # Long enough that no message comes back while its batch is being measured.
        pipeline.sqs.set_queue_attributes(QueueUrl=pipeline.queue_url, Attributes={"VisibilityTimeout": "600"})
        for i in range(args.changes):
            pipeline.write(f"user-{i:06d}", 1)
        records = pipeline.read_stream()
        LossySyncWorker(pipeline).apply(records)  # every change reaches the replica

        forwarder = bench_forwarder(pipeline, records, batches["Forwarder"]["batch_size"])
        verifier = bench_verifier(pipeline, records, batches["Verifier"]["batch_size"])
        cpu = handler_cpu(pipeline, records, batch=batches["Verifier"]["batch_size"])
        e2e = end_to_end(args.changes)
    header = (
        f"Measured by `make bench-sync` on {time.strftime('%Y-%m-%d')}: {len(records)} changes, moto server "
        f"on a shared 2-core machine; USD at us-east-1 list prices ({SYNC_CHECKED}), the functions' memory "
        f"and architecture from the dev sync stack's template, Lambda duration = own CPU at the function's CPU share + "
        f"{ASSUMED_CALL_MS:g} ms per AWS call (an assumption). End to end: a sync that delays 10% of the changes, "
        "so that some are looked at twice; the stream poller's GetRecords are free for Lambda triggers."
    )
    rows = _rows(forwarder, verifier, e2e, cpu)
    print(header)
    print("\n".join(rows))
    if not args.no_doc:
        write_doc(rows, header)
        print(f"written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
