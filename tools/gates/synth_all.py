"""genba's main job: synthesize every stack of every environment, offline, then check and summarise.

Run through `make synth`. Exit codes: 0 clean; 1 cdk-nag or cfn-lint findings; 2 bad configuration.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

from tools import ROOT

sys.path.insert(0, str(ROOT))

from app import cdk_json_context, synth_with_gates
from genba_constructs.cfn_lint import IGNORED_RULES, CfnLintChecks
from tools.assembly import SynthesizedStack, cfn_lint_findings, nag_counts, nag_report, stacks_in


def _say_findings(outdir: Path) -> None:
    print("\ngenba: the synth gates found problems:", file=sys.stderr)
    for plugin in nag_report(outdir)["pluginReports"]:
        for violation in plugin.get("violations", []):
            for construct in violation["violatingConstructs"]:
                print(
                    f"  {plugin['pluginName']} {violation['ruleName']}: {construct['constructPath']}", file=sys.stderr
                )


def main(outdir: Path = ROOT / "cdk.out") -> int:
    started = time.monotonic()
    shutil.rmtree(outdir, ignore_errors=True)
    # cdk-nag's packs and cfn-lint run inside synth as validation plugins (add_nag_packs), the
    # same gates as `cdk synth` and `cdk deploy`.
    code = synth_with_gates(cdk_json_context(), outdir=str(outdir), on_findings=lambda: _say_findings(outdir))
    if code:
        return code
    elapsed = time.monotonic() - started

    stacks = stacks_in(outdir)
    lint_problems = cfn_lint_findings(outdir)
    lint_run = CfnLintChecks.runs[-1] if CfnLintChecks.runs else {"linted": 0, "cached": 0}
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
    ignored = f" (ignoring {', '.join(IGNORED_RULES)})" if IGNORED_RULES else ""
    print(
        f"cfn-lint: {len(lint_problems)} findings in {len(stacks)} templates{ignored} "
        f"({lint_run['linted']} linted, {lint_run['cached']} unchanged since their last lint)"
    )
    for line in lint_problems:
        print(f"  {line}")
    print(f"synth with every gate took {elapsed:.1f} s")
    return 1 if lint_problems or violations else 0


if __name__ == "__main__":
    sys.exit(main())
