"""docs/alarms.md, generated from the alarm specs every environment's AlarmFactory recorded.

The reference app is built from cdk.json's context (as the tests build it, no synth needed):
each environment's factory (``EnvironmentStage.notifications.alarm_factory``) holds an
``AlarmRecord`` per alarm with the spec it was made from, so the page lists exactly the
alarms the templates hold, with the thresholds of each environment.

    make docs      # rewrite docs/alarms.md (and docs/configuration.md)
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tools import ROOT
from tools.reports import page, write_page

ALARMS = ROOT / "docs" / "alarms.md"
RUNBOOKS = ROOT / "docs" / "runbooks.md"

_MIN_NAME = 8  # shorter config strings ("dev", "version") are words more often than names
_TOKEN = re.compile(r"\$\{Token\[[^\]]*\]\}")
_SECTION = re.compile(r'^### <a id="([a-z0-9-]+)"></a>', re.MULTILINE)
_COMPARISONS = {
    "GREATER_THAN_OR_EQUAL_TO_THRESHOLD": ">=",
    "GREATER_THAN_THRESHOLD": ">",
    "LESS_THAN_THRESHOLD": "<",
    "LESS_THAN_OR_EQUAL_TO_THRESHOLD": "<=",
}


@dataclass(frozen=True)
class Alarm:
    """One alarm as the page shows it, free of deploy-time tokens."""

    environment: str
    pattern: str  # the name with the environment left open: genba-<env>-app-logs-log-errors
    runbook: str
    severity: str
    threshold: float
    summary: str
    first_check: str
    metric: str
    periods: str  # "3 of 3 x 10 min": breaching periods of evaluated periods, times the period
    comparison: str
    missing_data: str


def _text(value: str) -> str:
    # Resource names resolved at deploy time (a log group's name) read as <name>.
    return _TOKEN.sub("<name>", value)


def _metric(metric: Any) -> tuple[str, int | None]:
    """The metric's ``namespace name`` (or its math expression) and period in seconds."""
    period = getattr(metric, "period", None)
    seconds = int(period.to_seconds()) if period is not None else None
    name = getattr(metric, "metric_name", None)
    if name is not None:
        return f"{getattr(metric, 'namespace', '')} {name}".strip(), seconds
    expression = getattr(metric, "expression", None)
    return (f"math: {expression}" if expression else type(metric).__name__), seconds


@functools.cache
def _stages() -> tuple[tuple[Any, tuple[Any, ...]], ...]:
    """(EnvironmentConfig, AlarmRecords of its factory) per environment of the reference app, built once."""
    from app import build_app, cdk_json_context
    from stacks.environment_stage import EnvironmentStage

    app = build_app(cdk_json_context())
    return tuple(
        (stage.config, tuple(stage.notifications.alarm_factory.records))
        for stage in app.node.children
        if isinstance(stage, EnvironmentStage)
    )


def environment_records() -> Mapping[str, tuple[Any, ...]]:
    """environment name -> the AlarmRecords of its factory (every alarm the app made there)."""
    return {config.name: records for config, records in _stages()}


def _config_names(config: Any, path: str = "") -> list[tuple[str, str]]:
    """(value, ``<key path>``) of every name-like string in an environment's config, longest first.

    Alarm texts name resources after config values (an Auto Scaling group's name); writing the
    key instead of the value makes the text of one kind of alarm the same in every environment.
    """
    found: list[tuple[str, str]] = []
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        for f in dataclasses.fields(config):
            found.extend(_config_names(getattr(config, f.name), f"{path}.{f.name}" if path else f.name))
    elif isinstance(config, str) and len(config) >= _MIN_NAME and not config.startswith("https://"):
        found.append((config, f"<{path}>"))
    return sorted(found, key=lambda pair: -len(pair[0]))


def alarms() -> list[Alarm]:
    found = []
    for config, records in _stages():
        environment = config.name
        names = [(config.stack_prefix, "genba-<env>"), *_config_names(config)]

        def text(value: str, names: list[tuple[str, str]] = names) -> str:
            value = _text(value)
            for name, key in names:
                value = value.replace(name, key)
            return value

        for record in records:
            spec = record.spec
            metric, period = _metric(spec.metric)
            datapoints = spec.datapoints_to_alarm or spec.evaluation_periods
            found.append(
                Alarm(
                    environment=environment,
                    pattern=f"genba-<env>-{record.subject}-{spec.runbook}",
                    runbook=spec.runbook,
                    severity=record.severity.value,
                    threshold=record.threshold,
                    summary=text(spec.summary),
                    first_check=text(spec.first_check),
                    metric=metric,
                    periods=f"{datapoints} of {spec.evaluation_periods} x {_duration(period)}",
                    comparison=_COMPARISONS.get(spec.comparison.name, spec.comparison.name),
                    missing_data=spec.missing_data.name.lower().replace("_", " "),
                )
            )
    return found


def runbooks_used() -> set[str]:
    """Every runbook anchor an alarm of any environment links."""
    return {record.spec.runbook for records in environment_records().values() for record in records}


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if unit == "day" and count > 1 else "")
    return f"{seconds} s"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _texts(alarms_of_kind: list[Alarm], attribute: str, environments: list[str]) -> str:
    """One text, or each environment's where they differ."""
    by_env = {a.environment: str(getattr(a, attribute)) for a in alarms_of_kind}
    envs_of: dict[str, list[str]] = {}
    for env in environments:
        if env in by_env:
            envs_of.setdefault(by_env[env], []).append(env)
    if len(envs_of) == 1:
        return next(iter(envs_of))
    return " ".join(f"({', '.join(envs)}) {value}" for value, envs in envs_of.items())


HEADER = """\
# Alarms

<!-- Generated by tools/reports/alarm_docs.py from the alarm specs: run `make docs`, do not edit. -->

Every alarm of the reference app, one section per kind (runbook), read from the specs each
environment's `AlarmFactory` recorded when the app was built from `cdk.json`. An alarm is
named `<prefix>-<subject>-<runbook>-<severity>`; genba's stacks use the prefix `genba-<env>`.
Its description is `[SEVERITY] <what it means> First check: <first check> Runbook: <link>`,
and it sends ALARM and OK to the environment's alarm topic. A threshold column per
environment; `-` where the environment has no such alarm. "Periods" is how many breaching
periods of how many fire the alarm, times the metric's period.
"""


def render() -> str:
    found = alarms()
    environments = list(dict.fromkeys(a.environment for a in found))
    order = _SECTION.findall(RUNBOOKS.read_text())
    kinds = sorted(dict.fromkeys(a.runbook for a in found), key=lambda r: order.index(r) if r in order else len(order))
    out = [HEADER]
    for runbook in kinds:
        of_kind = [a for a in found if a.runbook == runbook]
        out.append(f"\n## {runbook}\n")
        out.append(f"Runbook: [{runbook}](runbooks.md#{runbook})\n")
        env_heads = " | ".join(environments)
        out.append(f"| alarm | severity | metric | comparison | periods | missing data | {env_heads} |")
        out.append("|---|---|---|---|---|---|" + "---|" * len(environments))
        rows = dict.fromkeys((a.pattern, a.severity) for a in of_kind)
        for pattern, severity in rows:
            same = [a for a in of_kind if (a.pattern, a.severity) == (pattern, severity)]
            thresholds = {a.environment: f"{a.comparison} {_number(a.threshold)}" for a in same}
            cells = [
                f"`{pattern}-{severity}`",
                severity,
                f"`{_texts(same, 'metric', environments)}`",
                _texts(same, "comparison", environments),
                _texts(same, "periods", environments),
                _texts(same, "missing_data", environments),
                *(thresholds.get(env, "-") for env in environments),
            ]
            out.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
        out.append("")
        for pattern in dict.fromkeys(a.pattern for a in of_kind):
            same = [a for a in of_kind if a.pattern == pattern]
            out.append(f"- `{pattern}`: {_cell(_texts(same, 'summary', environments))}")
            out.append(f"  First check: {_cell(_texts(same, 'first_check', environments))}")
    return page(out)


if __name__ == "__main__":
    raise SystemExit(write_page(ALARMS, render()))
