"""`make demo`: the sync-verification pipeline on moto server, with a sync that loses changes.

Starts moto server on 127.0.0.1, creates the source table (with its stream) and the replica,
and runs a few thousand changes through the forwarder, a deliberately lossy sync worker and
the verifier. Prints what an operator would see: how many changes were verified, which were
caught as not synced and why, the sync lag percentiles, and which alarms would be in ALARM.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from typing import Any

from tools.sim import LossySyncWorker, Pipeline, moto_server, percentile

DAY = 24 * 3600
PREFIX = "genba-dev-user-sync"  # the dev stack's alarm names: <prefix>-<subject>-<runbook>-<severity>
LAG_SLO_SECONDS = 15 * 60  # cdk.json dev: sync.lag_slo_minutes


# The dev stack's alarms the demo evaluates (tests/test_sync_stack.py checks that they exist).
ALARMS = (
    "verification-dlq-dlq-not-empty-critical",
    "pending-changes-sync-lag-warning",
    "pending-changes-sync-lag-critical",
    "canary-sync-canary-silent-critical",
    "stream-failure-dlq-dlq-not-empty-critical",
    "forwarder-lambda-errors-warning",
    "verifier-lambda-errors-warning",
    "forwarder-stream-iterator-age-warning",
)


class ForgetfulSync(LossySyncWorker):
    """The sync under test, with two bugs: it sometimes drops a change, and it never propagates
    removals of users whose id ends in 7."""

    def apply(self, records: list[dict[str, Any]]) -> None:
        kept = []
        for record in records:
            user = record["dynamodb"]["Keys"]["pk"]["S"]
            if record["eventName"] == "REMOVE" and user.endswith("7"):
                self.lost[record["dynamodb"]["SequenceNumber"]] = user
                continue
            kept.append(record)
        super().apply(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - a simulation
    started = time.time()
    with moto_server() as endpoint:
        print(f"moto server on {endpoint}")
        # The deployed backoff (1, 2, 4... s between looks at a change not synced yet); each round of
        # 200 changes is one simulated minute, and only what is due is looked at again.
        pipeline = Pipeline(name="genba-dev", realistic_backoff=True)
        print(f"source table {pipeline.source_table} (stream NEW_AND_OLD_IMAGES) -> replica {pipeline.replica_table}")
        worker = ForgetfulSync(pipeline, lose=0.01, delay=0.08, seed=args.seed)
        versions: dict[str, int] = {}
        canaries = 0
        written = 0
        while written < args.changes:
            for _ in range(min(199, args.changes - written)):  # + 1 canary: 2 full forwarder batches
                existing = [u for u, v in versions.items() if v > 0]
                roll = rng.random()
                if existing and roll < 0.08:
                    user = rng.choice(existing)
                    pipeline.delete(user)
                    versions[user] = -versions[user]
                else:
                    user = rng.choice(existing) if existing and roll < 0.35 else f"user-{len(versions):05d}"
                    versions[user] = abs(versions.get(user, 0)) + 1
                    pipeline.write(user, versions[user], plan=rng.choice(["free", "pro", "enterprise"]))
                written += 1
            canaries += 1
            pipeline.write("genba-sync-canary", canaries)  # the canary schedule's write
            records = pipeline.read_stream()
            worker.apply(records)
            pipeline.run_forwarder(records)
            pipeline.drain(wait_seconds=0)
            if rng.random() < 0.6:
                worker.catch_up()  # the sync catches up on what it delayed
            pipeline.fast_forward(60)  # a minute passes
            pipeline.drain(wait_seconds=0)
        worker.catch_up()
        for _ in range(5):
            pipeline.fast_forward(60)
            pipeline.drain(wait_seconds=0)
        pending_before_deadline = pipeline.queue_depth(pipeline.queue_url)
        pipeline.fast_forward(2 * 3600)  # two hours later: still pending, past the lag objective
        pipeline.drain(wait_seconds=0)
        pipeline.fast_forward(DAY)  # a day later: whatever is still not synced is past the max lag
        pipeline.drain(wait_seconds=0)
        report(pipeline, worker, pending_before_deadline, time.time() - started)


def report(pipeline: Pipeline, worker: LossySyncWorker, pending: int, seconds: float) -> None:
    changes = list(pipeline.stream_records)
    dead = pipeline.dlq_messages()
    emitted = pipeline.emitted
    verified = set(pipeline.verified_sequences)
    print(f"\nchanges written: {len(changes)} ({sum(1 for r in changes if r['eventName'] == 'REMOVE')} removals)")
    print(f"  verified in the replica:               {len(verified)}")
    print(f"  caught as not synced (DLQ, with why):  {len(dead)}")
    print(f"  still waiting before the 24 h deadline: {pending} (then dead-lettered)")
    print(f"  lost (neither):                         {len(changes) - len(verified) - len(dead)}")
    print(f"  the sync worker dropped {len(worker.lost)} changes and delayed {worker.delayed_total}")

    print("\nwhy changes were not synced (the DLQ's genba-reason attribute):")
    for reason, count in Counter(_short(d["reason"]) for d in dead).most_common():
        print(f"  {count:5d}  {reason}")
    print("examples:")
    for message in dead[:6]:
        body = json.loads(message["body"])
        print(f"  {body['key_text']:<16} version {body['version']!s:<4} {body['event_name']:<7} {message['reason']}")

    lags = emitted.metrics.get("SyncLagSeconds", [])
    print(f"\nsync lag of verified changes (SyncLagSeconds, {len(lags)} samples incl. canaries, seconds):")
    print(
        f"  p50 {percentile(lags, 50):.2f}   p90 {percentile(lags, 90):.2f}   p99 {percentile(lags, 99):.2f}   "
        f"max {max(lags or [0]):.2f}"
    )
    calls = pipeline.forwarder_sqs.total() + pipeline.replay_sqs.total()
    reads = pipeline.verifier_dynamodb.total("batch_get_item")
    print(
        f"AWS calls: forwarder {calls} SQS calls ({calls / max(1, len(changes)):.3f} per change), "
        f"verifier {reads} BatchGetItem ({reads / max(1, len(changes)):.4f} per change, with the re-checks of "
        "changes not synced yet: the demo has no grace period; see make bench-sync for the steady state)"
    )

    pending_age = max(emitted.metrics.get("PendingChangeAgeSeconds", [0]))
    canary = emitted.total("CanaryVerified")
    rules = [
        ("verification-dlq-dlq-not-empty-critical", len(dead) > 0, f"{len(dead)} messages in the verification DLQ"),
        (
            "pending-changes-sync-lag-warning",
            pending_age > LAG_SLO_SECONDS,
            f"oldest pending change {pending_age / 3600:.1f} h",
        ),
        (
            "pending-changes-sync-lag-critical",
            pending_age > DAY / 2,
            f"oldest pending change {pending_age / 3600:.1f} h",
        ),
        ("canary-sync-canary-silent-critical", canary < 1, f"{canary:g} canary changes verified"),
        (
            "stream-failure-dlq-dlq-not-empty-critical",
            pipeline.queue_depth(pipeline.on_failure_url) > 0,
            "replay backlog",
        ),
        ("forwarder-lambda-errors-warning", False, "no forwarder invocation failed"),
        ("verifier-lambda-errors-warning", False, "no verifier invocation failed"),
        ("forwarder-stream-iterator-age-warning", False, "the forwarder read each batch as it was written"),
    ]
    assert [name for name, _, _ in rules] == list(ALARMS)
    print("\nalarms (dev stack names) after the run:")
    for name, firing, why in rules:
        print(f"  {'ALARM' if firing else 'OK   '}  {PREFIX}-{name:<44} {why}")
    print(f"\n(demo took {seconds:.0f} s)")


def _short(reason: str | None) -> str:
    text = reason or "(no reason)"
    return text.replace("not synced within 24 h (max sync lag): ", "not synced in 24 h: ").split(" (version")[0]


if __name__ == "__main__":
    main()
