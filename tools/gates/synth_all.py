"""genba's main job: synthesize every stack of every environment, offline, then check and summarise.

Run through `make synth`. Exit codes: 0 clean; 1 cdk-nag or cfn-lint findings; 2 bad configuration.
A re-run whose inputs are all unchanged reuses the last clean synth (tools/gates/synth_reuse.py;
``GENBA_SYNTH_CACHE=off`` always synthesizes).
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools import ROOT
from tools.assembly import SynthesizedStack, cfn_lint_findings, nag_counts, nag_report, stacks_in
from tools.gates.synth_reuse import SynthReuse, cache_root, input_digest

sys.path.insert(0, str(ROOT))


def _say_findings(outdir: Path) -> None:
    print("\ngenba: the synth gates found problems:", file=sys.stderr)
    for plugin in nag_report(outdir)["pluginReports"]:
        for violation in plugin.get("violations", []):
            for construct in violation["violatingConstructs"]:
                print(
                    f"  {plugin['pluginName']} {violation['ruleName']}: {construct['constructPath']}", file=sys.stderr
                )


def _synthesize(outdir: Path) -> tuple[int, dict[str, Any]]:
    """Synthesize the app with its gates into ``outdir``: the exit code and cfn-lint's run."""
    # Imported here, not with this module: a reused synth needs neither jsii nor aws-cdk-lib.
    from app import cdk_json_context, synth_with_gates
    from genba_constructs.cfn_lint import IGNORED_RULES, CfnLintChecks

    shutil.rmtree(outdir, ignore_errors=True)
    # cdk-nag's packs and cfn-lint run inside synth as validation plugins (add_nag_packs), the
    # same gates as `cdk synth` and `cdk deploy`.
    code = synth_with_gates(cdk_json_context(), outdir=str(outdir), on_findings=lambda: _say_findings(outdir))
    run = CfnLintChecks.runs[-1] if CfnLintChecks.runs else {"linted": 0, "cached": 0}
    return code, {"linted": run["linted"], "cached": run["cached"], "ignored": list(IGNORED_RULES)}


def _keep(reuse: SynthReuse, outdir: Path, lint_run: dict[str, Any]) -> None:
    """Keep the clean synth for a re-run, if its inputs are still those the digest was made of."""
    # An input edited while the synth ran (an editor's save, a `git checkout`) may or may not be
    # what the synth read: kept under the digest of before, a later run with the edit undone
    # would reuse a synth of the edited file.
    if input_digest(outdir) != reuse.key:
        print("genba: an input changed during the synth; not kept for reuse", file=sys.stderr)
        return
    try:
        reuse.store(outdir, lint_run)
    except OSError as error:  # a full disk or an unwritable cache folder is no finding of the synth
        print(f"genba: the clean synth was not kept for reuse: {error}", file=sys.stderr)


@contextlib.contextmanager
def _one_at_a_time(kept: Path | None) -> Iterator[None]:
    """Hold the cache folder's lock: one main job at a time keeps and reuses synths there.

    Two at once into one folder (`make synth` again in another terminal after an edit) write
    over each other's assembly; the one that ends last would keep the mix as the synth of its
    inputs. The second now waits, then reuses or synthesizes on its own.
    """
    if kept is None:
        yield
        return
    try:
        kept.mkdir(parents=True, exist_ok=True)
        lock = (kept / ".lock").open("a")
    except OSError:  # an unwritable cache folder: nothing will be kept there either
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(outdir: Path = ROOT / "cdk.out") -> int:
    kept = cache_root()
    with _one_at_a_time(kept):
        return _main(outdir, kept)


def _main(outdir: Path, kept: Path | None) -> int:
    started = time.monotonic()
    reuse = SynthReuse(kept, input_digest(outdir)) if kept is not None else None
    reused = reuse.restore(outdir) if reuse is not None else None
    if reused is not None:
        lint_run = reused.lint
    else:
        code, lint_run = _synthesize(outdir)
        if code:
            return code
    elapsed = time.monotonic() - started

    stacks = stacks_in(outdir)
    lint_problems = cfn_lint_findings(outdir)
    violations, acknowledged = nag_counts(outdir)

    by_env: dict[str, list[SynthesizedStack]] = defaultdict(list)
    for stack in stacks:
        by_env[stack.environment].append(stack)
    shown = outdir.relative_to(ROOT) if outdir.is_relative_to(ROOT) else outdir
    print(f"genba synth: {len(stacks)} stacks in {len(by_env)} environments -> {shown}/")
    print(f"{'environment':<12}{'stack':<32}{'resources':>10}{'alarms':>8}  protected")
    for env, env_stacks in by_env.items():
        for stack in env_stacks:
            resources = stack.template.get("Resources", {})
            alarms = sum(1 for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm")
            protected = "yes" if stack.termination_protection else "no"
            print(f"{env:<12}{stack.stack_name:<32}{len(resources):>10}{alarms:>8}  {protected}")
    print(
        f"cdk-nag (AwsSolutions, Serverless, NIST 800-53 R5): {violations} unacknowledged, "
        f"{acknowledged} acknowledged with reasons (see `make nag-report`)"
    )
    ignored = f" (ignoring {', '.join(lint_run['ignored'])})" if lint_run["ignored"] else ""
    print(
        f"cfn-lint: {len(lint_problems)} findings in {len(stacks)} templates{ignored} "
        f"({'by the kept synth: ' if reused is not None else ''}"
        f"{lint_run['linted']} linted, {lint_run['cached']} unchanged since their last lint)"
    )
    for line in lint_problems:
        print(f"  {line}")
    clean = not (lint_problems or violations)
    if reused is not None:
        print(
            f"reused the clean synth of {reused.made}: no input changed since (digest {reused.key[:12]}; "
            f"GENBA_SYNTH_CACHE=off synthesizes anyway) - took {elapsed:.1f} s"
        )
    else:
        print(f"synth with every gate took {elapsed:.1f} s")
        if clean and reuse is not None:
            _keep(reuse, outdir, lint_run)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
