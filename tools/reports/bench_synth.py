"""Benchmark genba's main job against an empty CDK app measured in the same run.

Run with `make bench`. Cases, each a fresh process as `make synth` is, with this interpreter
and this environment (the same Node binary from JSII_NODE, the same jsii package cache):

- empty app (the baseline): `App()` as `cdk init` makes it, CDK's defaults (its built-in
  CloudFormation validation on), one stack with one SNS topic, `app.synth()`;
- empty app, validation off: the same with genba's App setting - jsii's start-up floor, shown
  for reference;
- main job, cold: `tools.gates.synth_all` (every environment, cdk-nag's three packs and
  cfn-lint inside synth, the summary) with an empty cfn-lint cache and no kept synth;
- main job, warm: the same re-run with nothing changed, into the same folder (as `make synth`
  re-runs): the caches filled by a cold run and a first re-run, not counted. Its inputs are
  unchanged, so it reuses the kept clean synth (tools/gates/synth_reuse.py);
- main job, templates unchanged: a synth that does run (``GENBA_SYNTH_CACHE=off``, as after an
  edit that leaves every template as it was) with every template in the cfn-lint cache - for
  reference: what the synth itself costs.

The cases run in rounds (one of each per round, GENBA_BENCH_REPEAT rounds, default 3), so a
machine whose speed drifts slows every case of a round alike. Reported: the median wall time
and the largest peak memory of the process tree (Python, jsii's node, cfn-lint) per case, and
each case's ratio to the baseline of the same round, median over the rounds. Goals (issue 13):
cold <= 3x, warm <= 1.5x.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tools import ROOT

REPEAT = int(os.environ.get("GENBA_BENCH_REPEAT", "3"))

EMPTY_APP = """
import sys
from aws_cdk import App, Stack
from aws_cdk import aws_sns as sns
app = App(outdir=sys.argv[1]{settings})
sns.Topic(Stack(app, "Empty"), "OneResource")  # a stack must hold a resource to synthesize
app.synth()
"""

MAIN_JOB = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from tools.gates.synth_all import main
sys.exit(main(Path(sys.argv[1]) / "cdk.out"))
"""

BASELINE = "empty app (baseline)"
GOALS = {"main job, cold": 3.0, "main job, warm": 1.5}


def _tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (python, jsii's node, cfn-lint)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    pending.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def measure(code: str, env: dict[str, str] | None = None, outdir: str | None = None) -> tuple[float, int]:
    """Wall seconds and peak memory of one run of ``code`` in a fresh process, into ``outdir`` (or a new folder)."""
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", code, outdir or scratch],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
        )
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss_bytes(process.pid))
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"benchmark case failed with exit code {process.returncode}")
    return elapsed, peak


def main() -> None:
    main_job = MAIN_JOB.format(root=str(ROOT))
    started = time.perf_counter()
    runs: dict[str, list[tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory() as caches:
        warm = {
            "GENBA_CFN_LINT_CACHE": os.path.join(caches, "warm-lint"),
            "GENBA_SYNTH_CACHE": os.path.join(caches, "warm-synth"),
        }
        warm_out = os.path.join(caches, "warm-out")
        measure(main_job, warm, warm_out)  # cold: fills the caches
        measure(main_job, warm, warm_out)  # the first re-run
        for round_ in range(REPEAT):
            cold = {
                "GENBA_CFN_LINT_CACHE": os.path.join(caches, f"cold-lint-{round_}"),
                "GENBA_SYNTH_CACHE": os.path.join(caches, f"cold-synth-{round_}"),
            }
            cases: dict[str, tuple[str, dict[str, str] | None, str | None]] = {
                BASELINE: (EMPTY_APP.format(settings=""), None, None),
                "empty app, validation off": (
                    EMPTY_APP.format(settings=", builtin_cloud_formation_validation=False"),
                    None,
                    None,
                ),
                "main job, cold": (main_job, cold, None),
                "main job, warm": (main_job, warm, warm_out),
                "main job, templates unchanged": (main_job, {**warm, "GENBA_SYNTH_CACHE": "off"}, None),
            }
            for name, (code, env, outdir) in cases.items():
                runs.setdefault(name, []).append(measure(code, env, outdir))
            for folder in cold.values():
                shutil.rmtree(folder, ignore_errors=True)
    baseline = [wall for wall, _ in runs[BASELINE]]
    print(f"synth benchmark: median of {REPEAT} rounds, {os.cpu_count()} cores, {time.perf_counter() - started:.0f} s")
    print(f"{'case':<32}{'wall s':>8}{'peak MiB':>10}{'x baseline':>12}{'goal':>7}")
    for name, results in runs.items():
        ratio = statistics.median(wall / base for (wall, _), base in zip(results, baseline, strict=True))
        goal = f"{GOALS[name]:.1f}" if name in GOALS else ""
        wall = statistics.median(wall for wall, _ in results)
        peak = max(peak for _, peak in results)
        print(f"{name:<32}{wall:>8.2f}{peak / 2**20:>10.0f}{ratio:>12.2f}{goal:>7}")


if __name__ == "__main__":
    main()
