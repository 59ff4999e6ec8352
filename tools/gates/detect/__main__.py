"""`make detect`: play each failure mode against the synthesized alarms and print when it is caught.

    python -m tools.gates.detect [--env dev,stg,prod] [--assembly DIR] [--write DOC]

For every environment and failure mode (tools.gates.detect.scenarios): the alarm that fires first,
the detection time from the failure's start, and whether it is within its goal; then a
healthy week with daily peaks and quiet nights, which must raise no alarm. Exit status 1 when
a failure mode goes undetected or past its goal, or the healthy week pages; 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools import ROOT

sys.path.insert(0, str(ROOT))

from tools.gates.detect.docs import NOT_MODELLED, Row, markdown, merged, parse, table, with_statements
from tools.gates.detect.evaluator import (
    EXTRA_PERIODS,
    AlarmDefinition,
    State,
    Transition,
    evaluate_alarms,
)
from tools.gates.detect.scenarios import (
    T0,
    Model,
    Scenario,
    Service,
    environment_alarms,
    healthy_week,
    scenarios,
)
from tools.gates.detect.templates import alarms_in_assembly

# The model's hosts per environment: one failing host among several is the case that matters.
HOSTS = 3


@dataclass(frozen=True)
class Result:
    environment: str
    scenario: str
    goal_seconds: int | None
    alarm: str | None
    detected_after: int | None
    false_pages: tuple[str, ...]

    @property
    def passed(self) -> bool:
        if self.goal_seconds is None:  # the healthy week
            return not self.false_pages
        return self.detected_after is not None and self.detected_after <= self.goal_seconds


def _minutes(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds // 60} min"


def warm_up(alarm: AlarmDefinition) -> int:
    """How long after the model starts an alarm first sees a full evaluation range of data."""
    return alarm.period * (alarm.evaluation_periods + EXTRA_PERIODS + 1) + 5 * 60


def state_at(transitions: list[Transition], alarm: str, at: int) -> State:
    state = State.INSUFFICIENT_DATA
    for transition in transitions:
        if transition.alarm == alarm and transition.at <= at:
            state = transition.state
    return state


def play(environment: str, scenario: Scenario, alarms: list[AlarmDefinition], service: Service) -> Result:
    model = Model(service=service, faults=scenario.faults, alarms=alarms)
    store = model.run(scenario.horizon)
    transitions = evaluate_alarms(alarms, store, 0, scenario.horizon)
    if scenario.goal_seconds is None:
        # The healthy service: any alarm in ALARM once it has seen a full range of data pages.
        pages = set()
        for alarm in alarms:
            start = warm_up(alarm)
            if state_at(transitions, alarm.name, start) is State.ALARM or any(
                t.alarm == alarm.name and t.state is State.ALARM and t.at > start for t in transitions
            ):
                pages.add(alarm.name)
        return Result(environment, scenario.name, None, None, None, tuple(sorted(pages)))
    # An alarm already in ALARM when the failure starts (still warming up) cannot detect it.
    already = {a.name for a in alarms if state_at(transitions, a.name, T0) is State.ALARM}
    fired = [
        t
        for t in transitions
        if t.at >= T0
        and t.state is State.ALARM
        and t.alarm not in already
        and (not scenario.expects or any(f"-{runbook}-" in t.alarm for runbook in scenario.expects))
    ]
    first = min(fired, key=lambda t: t.at) if fired else None
    return Result(
        environment,
        scenario.name,
        scenario.goal_seconds,
        first.alarm if first else None,
        first.at - T0 if first else None,
        (),
    )


def services(environments: list[str]) -> dict[str, Service]:
    from app import cdk_json_context
    from stacks.config import load_environments

    found = {}
    for config in load_environments({"genba": cdk_json_context()["genba"]}):
        if config.name not in environments:
            continue
        sync = config.sync
        found[config.name] = Service(
            environment=config.name,
            hosts=HOSTS,
            canary_interval_minutes=getattr(sync, "canary_interval_minutes", 5) if sync else 5,
            lag_slo_minutes=getattr(sync, "lag_slo_minutes", 30) if sync else 30,
            max_sync_lag_hours=getattr(sync, "max_sync_lag_hours", 24) if sync else 24,
            search_nodes=config.search.sizing.nodes,
            free_storage_mib=config.search.volume_gib * 1024.0,
        )
    return found


def synthesize(outdir: Path) -> Path:
    from app import build_app, cdk_json_context

    build_app(cdk_json_context(), outdir=str(outdir)).synth()
    return outdir


def rows(results: list[Result]) -> list[Row]:
    found = []
    for r in results:
        if r.goal_seconds is None:
            verdict = "ok" if r.passed else f"FALSE PAGES: {', '.join(r.false_pages)}"
            found.append(Row(r.environment, r.scenario, "no alarm", "-", "-", "-", verdict))
            continue
        verdict = "ok" if r.passed else ("UNDETECTED" if r.detected_after is None else "LATE")
        goal, detected = _minutes(r.goal_seconds), _minutes(r.detected_after)
        found.append(Row(r.environment, r.scenario, goal, r.alarm or "-", detected, NOT_MODELLED, verdict))
    return found


def write_docs(detection: Path, runbooks: Path, results: list[Result]) -> None:
    """docs/detection.md (other environments' rows kept) and the runbooks' measured times from it."""
    table = merged(rows(results), parse(detection.read_text()) if detection.exists() else [])
    detection.write_text(markdown(table))
    if runbooks.exists():
        runbooks.write_text(with_statements(runbooks.read_text(), table))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gates.detect", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="dev,stg,prod", help="environments, comma-separated (default: all)")
    parser.add_argument("--assembly", type=Path, help="a synthesized cloud assembly (default: synthesize now)")
    parser.add_argument("--write", type=Path, help="also write the table into this Markdown file (docs/detection.md)")
    parser.add_argument(
        "--runbooks",
        type=Path,
        default=ROOT / "docs" / "runbooks.md",
        help="with --write, the runbooks whose measured times follow the table (default: docs/runbooks.md)",
    )
    args = parser.parse_args(argv)
    environments = [e.strip() for e in args.env.split(",") if e.strip()]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        assembly = args.assembly or synthesize(Path(scratch) / "assembly")
        all_alarms = alarms_in_assembly(assembly)
    models = services(environments)
    unknown = sorted(set(environments) - set(models))
    if unknown:
        print(f"detect: unknown environment {unknown[0]!r} (configured: {', '.join(models)})", file=sys.stderr)
        return 2
    results = [r for environment, service in models.items() for r in play_all(environment, service, all_alarms)]
    code = report(results)
    print(f"detect: {time.monotonic() - started:.0f} s")
    if args.write:
        write_docs(args.write, args.runbooks, results)
    return code


def play_all(environment: str, service: Service, all_alarms: list[AlarmDefinition]) -> Iterator[Result]:
    """Every failure mode and the healthy week of one environment, each printed as it is played."""
    alarms = environment_alarms(all_alarms, environment)
    for scenario in [*scenarios(service), healthy_week(service)]:
        result = play(environment, scenario, alarms, service)
        mark = "ok" if result.passed else "FAIL"
        print(f"  [{mark:>4}] {environment}: {scenario.name}: {_minutes(result.detected_after)}", flush=True)
        yield result


def report(results: list[Result]) -> int:
    """Print the table and the count; the exit status (1: a mode undetected, late, or a healthy week paging)."""
    print(table(rows(results)), end="")
    failed = [r for r in results if not r.passed]
    print(f"detect: {len(results) - len(failed)} of {len(results)} failure modes within their goal")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
