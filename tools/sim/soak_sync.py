"""`make soak-sync`: the fault scenario of the test suite at soak size (default 10,000 changes).

SQS throttling, partial failures and outages (stream batches replayed from the stream), an
unavailable target, malformed records, a sync that delays and loses changes. Prints the counts:
every change must end verified or in the DLQ with its reason; exits 1 if one is lost.

The changes run through ONE pipeline (tables, stream and queues) on moto: the scenario drains
each chunk and fast-forwards the changes backing off (tools/sim/sync_faults.py), so the queue holds
only what is really not synced yet. (moto's ReceiveMessage recounts the whole queue for every
message it returns; before, every backing-off change waited on one queue until the final drain
and a 10,000-change run did not finish.) ``--slice`` still splits a run into fresh pipelines.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from tools.sim import Pipeline, moto_server, run_fault_scenario

SUMMED = ("changes", "verified", "dead_lettered", "delayed_by_replica", "malformed_injected", "malformed_in_dlq")


def _report(done: int, started: float) -> None:
    if done % 1000 == 0:
        print(f"  {done} changes ({time.time() - started:.0f} s)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--slice", type=int, default=0, help="changes per fresh pipeline (0: one pipeline)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    started = time.time()
    totals: dict[str, Any] = dict.fromkeys(SUMMED, 0)
    totals |= {"lost": 0, "both": 0, "missed_by_replica": 0, "wrongly_dead_lettered": 0}
    reasons: dict[str, int] = {}
    faults: dict[str, int] = {}
    examples: list[dict[str, Any]] = []
    with moto_server():
        done, index = 0, 0
        while done < args.changes:
            size = min(args.slice or args.changes, args.changes - done)
            pipeline = Pipeline(name=f"soak{index}", realistic_backoff=True)
            result = run_fault_scenario(
                pipeline,
                changes=size,
                seed=args.seed + index,
                progress=lambda n: _report(n, started),
            )
            for key in SUMMED:
                totals[key] += result[key]
            for key in ("lost", "both", "missed_by_replica", "wrongly_dead_lettered"):
                totals[key] += len(result[key])
            for reason, count in result["dead_letter_reasons"].items():
                reasons[reason] = reasons.get(reason, 0) + count
            for fault, count in result["injected_faults"].items():
                faults[fault] = faults.get(fault, 0) + count
            examples += result["dead_examples"][: 5 - len(examples)]
            print(
                f"slice {index}: {result['changes']} changes, {result['verified']} verified, "
                f"{result['dead_lettered']} dead-lettered, {len(result['lost'])} lost "
                f"({time.time() - started:.0f} s)",
                flush=True,
            )
            done, index = done + size, index + 1
    print(
        f"sync soak: {totals['changes']} changes with injected faults in {index} slices, {time.time() - started:.0f} s"
    )
    print(json.dumps({**totals, "dead_letter_reasons": reasons, "injected_faults": faults}, indent=2))
    print("dead-letter examples:")
    for example in examples:
        print(f"  {example['key']} version {example['version']}: {example['reason']}")
    ok = totals["lost"] == 0 and totals["verified"] + totals["dead_lettered"] == totals["changes"]
    ok = ok and totals["wrongly_dead_lettered"] == 0
    verdict = "OK: every change verified or dead-lettered with its reason" if ok else "FAILED"
    print(f"lost: {totals['lost']}  ->  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
