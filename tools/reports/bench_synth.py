"""Benchmark genba's main job: wall time and peak memory of synthesizing every environment with
every gate, cold (empty cfn-lint cache) and warm (a re-run with nothing changed), next to the
synth of an empty CDK app measured in the same run (jsii's start-up floor).

Run with `make bench`. Each case runs in a fresh process, as `make synth` does, REPEAT times;
the best (least disturbed) wall time and the peak memory of the process tree are reported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from tools import ROOT

REPEAT = int(os.environ.get("GENBA_BENCH_REPEAT", "3"))

# Two floors: an empty CDK app as `cdk init` makes it (CDK's built-in CloudFormation
# validation on), and with genba's App settings (that validation off: cfn-lint runs instead).
EMPTY_APP = """
import sys
from aws_cdk import App, Stack
from aws_cdk import aws_sns as sns
app = App(outdir=sys.argv[1], builtin_cloud_formation_validation={validation})
sns.Topic(Stack(app, "Empty"), "OneResource")  # a stack must hold a resource to synthesize
app.synth()
"""

# genba's main job as `make synth` runs it: every environment, cdk-nag and cfn-lint inside
# synth, the summary. Cold: cfn-lint's cache empty; warm: a re-run with nothing changed.
MAIN_JOB = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tools.gates.synth_all import main
sys.exit(main(Path(sys.argv[1]) / "cdk.out"))
"""


def _tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (python + the jsii node process)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def measure(code: str, env: dict[str, str] | None = None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", code, outdir],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
        )
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss_bytes(process.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"benchmark case failed with exit code {process.returncode}")
    return elapsed, peak


def main() -> None:
    main_job = MAIN_JOB.format(root=str(ROOT))
    results = {}
    with tempfile.TemporaryDirectory() as warm_cache:
        cases: dict[str, tuple[str, Callable[[], dict[str, str]]]] = {
            "empty app, CDK defaults": (EMPTY_APP.format(validation=True), dict),
            "empty app, genba settings": (EMPTY_APP.format(validation=False), dict),
            # A fresh, empty lint cache for every run.
            "main job, cold": (main_job, lambda: {"GENBA_CFN_LINT_CACHE": tempfile.mkdtemp()}),
            "main job, warm": (main_job, lambda: {"GENBA_CFN_LINT_CACHE": warm_cache}),
        }
        measure(main_job, {"GENBA_CFN_LINT_CACHE": warm_cache})  # fills the warm cache
        for name, (code, env) in cases.items():
            runs = [measure(code, env()) for _ in range(REPEAT)]
            results[name] = (min(r[0] for r in runs), max(r[1] for r in runs))
    defaults = results["empty app, CDK defaults"][0]
    same_settings = results["empty app, genba settings"][0]
    print(f"synth benchmark, best of {REPEAT} runs each, {os.cpu_count()} cores")
    print(f"{'case':<28}{'wall s':>8}{'peak MiB':>10}{'/ defaults':>12}{'/ same settings':>17}")
    for name, (seconds, peak) in results.items():
        print(
            f"{name:<28}{seconds:>8.2f}{peak / 2**20:>10.0f}{seconds / defaults:>12.2f}{seconds / same_settings:>17.2f}"
        )


if __name__ == "__main__":
    main()
