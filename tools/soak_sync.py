"""`make soak-sync`: the fault scenario of the test suite at soak size (default 10,000 changes).

SQS throttling, partial failures and outages (stream batches replayed from the stream), an
unavailable target, malformed records, a sync that delays and loses changes. Prints the counts:
every change must end verified or in the DLQ with its reason; exits 1 if one is lost.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from tools.sync_faults import run_fault_scenario
from tools.sync_sim import Pipeline, moto_server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    started = time.time()
    with moto_server():
        result = run_fault_scenario(Pipeline(name="soak", realistic_backoff=True), changes=args.changes, seed=args.seed)
    lost = result.pop("lost")
    examples = result.pop("dead_examples")
    for key in ("both", "missed_by_replica", "wrongly_dead_lettered"):
        result[key] = len(result[key])
    print(f"sync soak: {result['changes']} changes with injected faults, {time.time() - started:.0f} s")
    print(json.dumps(result, indent=2))
    print("dead-letter examples:")
    for example in examples:
        print(f"  {example['key']} version {example['version']}: {example['reason']}")
    ok = not lost and result["verified"] + result["dead_lettered"] == result["changes"]
    ok = ok and result["wrongly_dead_lettered"] == 0
    print(f"lost: {len(lost)}  ->  {'OK: every change verified or dead-lettered with its reason' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
