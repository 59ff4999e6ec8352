"""`make soak-sync`: the fault scenario of the test suite at soak size (default 10,000 changes).

SQS throttling, partial failures and outages (stream batches replayed from the stream), an
unavailable target, malformed records, a sync that delays and loses changes and is dead for 30
minutes (only the canary writes), hot keys rewritten faster than they are verified, binary sort
keys, removals. Prints the counts and exits 1 unless: no change lost, none confirmed that the
target did not hold, every DLQ entry with its reason, none dead-lettered that the sync did not
miss, and the sync stack's canary alarm (evaluated by tools.gates.detect) fired while the worker
was dead and at no other time.

All changes run through ONE pipeline (tables, stream and queues) on moto: each chunk is one
simulated minute, drained, then the clock moves on and only the changes whose backoff ended are
looked at again (tools/sim/sync_faults.py), so the queue holds only what is really not synced.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tools.sim import moto_server
from tools.sim.sync_faults import fault_pipeline, run_fault_scenario


def verdict(result: dict[str, Any]) -> list[str]:
    """What is wrong with a run (empty: nothing)."""
    problems = []
    if result["lost"]:
        problems.append(f"{len(result['lost'])} changes lost (neither verified nor dead-lettered)")
    if result["wrongly_confirmed"]:
        problems.append(f"{len(result['wrongly_confirmed'])} changes confirmed that the target did not hold")
    if result["dlq_without_reason"]:
        problems.append(f"{result['dlq_without_reason']} DLQ entries without a reason")
    if result["wrongly_dead_lettered"]:
        problems.append(f"{len(result['wrongly_dead_lettered'])} changes dead-lettered that the sync did not miss")
    if result["both"]:
        problems.append(f"{len(result['both'])} changes both verified and dead-lettered")
    canary = result["canary_alarm"]
    if canary.get("state_when_worker_died") != "OK" or canary.get("fired_after_death_seconds") is None:
        problems.append(f"the canary alarm did not go from OK to ALARM with the worker dead: {canary}")
    if canary.get("false_alarms"):
        problems.append(f"the canary alarm fired {canary['false_alarms']} times with the worker alive")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    started = time.time()

    def report(done: int) -> None:
        if done % 1000 == 0:
            print(f"  {done} changes ({time.time() - started:.0f} s)", flush=True)

    with moto_server():
        pipeline = fault_pipeline("soak")
        result = run_fault_scenario(pipeline, changes=args.changes, seed=args.seed, progress=report)
    seconds = time.time() - started
    summary = {k: len(v) if isinstance(v, list) else v for k, v in result.items() if k != "dead_examples"}
    print(f"sync soak: {result['changes']} changes with injected faults in one pipeline, {seconds:.0f} s")
    print(json.dumps(summary, indent=2, default=str))
    print("dead-letter examples:")
    for example in result["dead_examples"]:
        print(f"  {example['key']} version {example['version']}: {example['reason']}")
    for wrong in result["wrongly_confirmed"][:10]:
        print(f"  confirmed, but the replica did not hold it: {wrong}")
    problems = verdict(result)
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print("OK: every change verified or dead-lettered with its reason; the canary alarm caught the dead worker")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
