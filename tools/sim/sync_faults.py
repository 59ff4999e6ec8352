"""The fault scenario of the sync-verification pipeline: every change ends verified or in the DLQ.

Injected faults: SQS throttling and partial SendMessageBatch failures (and a stretch when SQS
refuses every send, so that whole stream batches fail, reach the on-failure queue and are
replayed from the stream), an unavailable target, failing visibility changes, malformed
stream records, and a sync worker that delays some changes and loses others. Used by
tests/test_sync_handlers.py (a few hundred changes) and ``python -m tools.sim.soak_sync``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from tools.sim.sync_sim import CountingClient, LossySyncWorker, Pipeline, client_error

DAY = 24 * 3600
CHUNK = 100


class Faults:
    """Decides, per AWS call, whether to fail it (seeded, so a run can be repeated)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)  # noqa: S311 - a simulation
        self.sqs_outage_calls = 0
        self.injected: dict[str, int] = {}

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def forwarder_sqs(self, real: Any) -> Any:
        def fault(operation: str, kwargs: dict[str, Any]) -> Any:
            if operation != "send_message_batch":
                return None
            if self.sqs_outage_calls > 0:
                self.sqs_outage_calls -= 1
                self._count("sqs outage")
                raise client_error("ServiceUnavailable", "SendMessageBatch")
            roll = self.random.random()
            if roll < 0.002:  # SQS goes away for a while: whole stream batches fail
                self.sqs_outage_calls = 40
            if roll < 0.10:
                self._count("sqs throttling")
                raise client_error("ThrottlingException", "SendMessageBatch")
            if roll < 0.20 and len(kwargs["Entries"]) > 1:
                self._count("sqs partial failure")
                entries = kwargs["Entries"]
                keep, drop = entries[: len(entries) // 2], entries[len(entries) // 2 :]
                sent = real.send_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=keep)
                failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in drop]
                return {"Successful": sent.get("Successful", []), "Failed": failed}
            return None

        return fault

    def verifier_sqs(self) -> Any:
        def fault(operation: str, kwargs: dict[str, Any]) -> Any:
            if operation in {"send_message_batch", "change_message_visibility_batch"} and self.random.random() < 0.1:
                self._count(f"verifier {operation} failure")
                raise client_error("ThrottlingException", operation)
            return None

        return fault

    def target(self) -> Any:
        def fault(operation: str, kwargs: dict[str, Any]) -> Any:
            if operation == "batch_get_item" and self.random.random() < 0.2:
                self._count("target unavailable")
                raise client_error("ProvisionedThroughputExceededException", "BatchGetItem")
            return None

        return fault


def _malformed(index: int) -> dict[str, Any]:
    shapes = [
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": f"9{index:020d}"}},
        {
            "eventName": "UPSERT",
            "dynamodb": {"Keys": {"pk": {"S": f"bad-{index}"}}, "SequenceNumber": f"9{index:020d}"},
        },
        {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": f"bad-{index}"}}, "SequenceNumber": "none"}},
    ]
    return shapes[index % len(shapes)]


def _is_injected(event: dict[str, Any]) -> bool:
    return event.get("eventSource") != "aws:dynamodb"


def run_fault_scenario(
    pipeline: Pipeline,
    *,
    changes: int,
    seed: int = 11,
    lose: float = 0.04,
    delay: float = 0.1,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write ``changes`` changes through the faulty pipeline; return the counts (and what was lost).

    Each chunk is drained, then the changes backing off are fast-forwarded (made visible again)
    and drained once more: a change the sync has caught up on is verified in its chunk instead of
    waiting on the queue until the final drain. moto's ReceiveMessage recounts the whole queue
    for every message it returns, so a queue holding every backing-off change of the run is
    quadratic; settled per chunk, the queue holds only what is really not synced yet (the changes
    the sync lost, until the clock passes the maximum lag), and 10,000 changes run in ONE pipeline.
    """
    faults = Faults(seed)
    pipeline.forwarder_sqs = CountingClient(
        pipeline.forwarder_sqs._real, faults.forwarder_sqs(pipeline.forwarder_sqs._real)
    )
    pipeline.replay_sqs = CountingClient(pipeline.replay_sqs._real, faults.forwarder_sqs(pipeline.replay_sqs._real))
    pipeline.verifier_sqs = CountingClient(pipeline.verifier_sqs._real, faults.verifier_sqs())
    pipeline.verifier_dynamodb = CountingClient(pipeline.verifier_dynamodb._real, faults.target())
    worker = LossySyncWorker(pipeline, lose=lose, delay=delay, seed=seed)
    rng = random.Random(seed)  # noqa: S311 - a simulation
    written: dict[str, tuple[str, int]] = {}  # sequence -> (user, version)
    versions: dict[str, int] = {}
    malformed_injected = 0
    users = max(1, int(changes * 0.8))

    done = 0
    while done < changes:
        batch = min(CHUNK, changes - done)
        for _ in range(batch):
            user = f"u-{rng.randrange(users)}" if done > CHUNK and rng.random() < 0.2 else f"u-{done}"
            versions[user] = versions.get(user, 0) + 1
            pipeline.write(user, versions[user], note=f"change {done}")
            done += 1
        records = pipeline.read_stream()
        for record in records:
            change = record["dynamodb"]
            written[change["SequenceNumber"]] = (change["Keys"]["pk"]["S"], int(change["NewImage"]["version"]["N"]))
        worker.apply(records)
        events: list[dict[str, Any]] = [pipeline.lambda_stream_record(r) | {"_shard": r["_shard"]} for r in records]
        for position in sorted(rng.sample(range(len(events) + 1), k=min(2, len(events) + 1)), reverse=True):
            events.insert(position, _malformed(malformed_injected))
            malformed_injected += 1
        pipeline.run_forwarder(events)
        pipeline.drain(wait_seconds=0)  # drain as we go: moto's SQS slows with queue depth
        if rng.random() < 0.5:
            worker.catch_up()
        pipeline.fast_forward()  # time passes for what backs off: verified now if the sync caught up
        pipeline.drain(wait_seconds=0)
        if progress is not None:
            progress(done)

    # The sync catches up on what it delayed, the faults stop, and the clock passes the maximum lag.
    worker.catch_up()
    pipeline.fast_forward()
    pipeline.drain()
    pipeline.install_clients()
    pipeline.fast_forward()
    pipeline.drain()
    pipeline.clock_offset = DAY + 1
    pipeline.fast_forward()
    pipeline.drain()

    dead = pipeline.dlq_messages()
    dead_sequences: dict[str, str] = {}
    malformed_bodies: set[str] = set()  # delivered at least once: a retried batch may send one twice
    for message in dead:
        reason = message["reason"] or ""
        if reason.startswith("malformed"):
            malformed_bodies.add(message["body"])
            continue
        dead_sequences[str(json.loads(message["body"])["sequence"])] = reason
    verified = set(pipeline.verified_sequences)
    missed = set()
    for sequence in worker.lost:
        user, version = written[sequence]
        item = pipeline.dynamodb.get_item(TableName=pipeline.replica_table, Key={"pk": {"S": user}}).get("Item")
        if item is None or int(item["version"]["N"]) < version:
            missed.add(sequence)
    lost = sorted(set(written) - verified - set(dead_sequences))
    reasons: dict[str, int] = {}
    for reason in dead_sequences.values():
        short = reason.split(" (")[0] + (": " + reason.split(": ", 1)[1].split(" (")[0] if ": " in reason else "")
        reasons[short] = reasons.get(short, 0) + 1
    return {
        "changes": len(written),
        "verified": len(verified & set(written)),
        "dead_lettered": len(set(dead_sequences) & set(written)),
        "both": sorted(verified & set(dead_sequences)),
        "lost": lost,
        "missed_by_replica": sorted(missed),
        "wrongly_dead_lettered": sorted(set(dead_sequences) - missed),
        "delayed_by_replica": worker.delayed_total,
        "malformed_injected": malformed_injected,
        "malformed_in_dlq": len(malformed_bodies),
        "malformed_unreplayable": sum(1 for e in pipeline.unreplayable if _is_injected(e)),
        "dead_letter_reasons": reasons,
        "injected_faults": dict(faults.injected),
        "dead_examples": [
            {"key": written[s][0], "version": written[s][1], "reason": r} for s, r in list(dead_sequences.items())[:5]
        ],
    }
