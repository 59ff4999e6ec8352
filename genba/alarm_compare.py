"""An alarm of the templates against the alarm in the account: what differs, field by field.

Compared: namespace, metric name, statistic (or extended statistic), period, dimensions, the
metric math queries (id, expression, return data, and each metric stat's metric, period and
stat), threshold, comparison, evaluation periods, datapoints to alarm, missing-data treatment,
actions enabled, alarm and OK actions. A dimension value or action the templates cannot give
offline (a name only CloudFormation knows, with the stack not readable) counts as "?" and is
compared by name / by count only. Descriptions, labels and tags are not compared.
"""

from __future__ import annotations

from typing import Any

from genba.assembly import Resolver, SynthesizedStack

UNRESOLVED = "?"

_SCALARS = (
    ("Namespace", None),
    ("MetricName", None),
    ("Statistic", None),
    ("ExtendedStatistic", None),
    ("Period", None),
    ("ComparisonOperator", None),
    ("EvaluationPeriods", None),
    ("DatapointsToAlarm", None),
    ("TreatMissingData", "missing"),
    ("ThresholdMetricId", None),
)


def _dimensions(raw: list[dict[str, Any]], resolve: Any) -> list[tuple[str, str]]:
    return sorted((d["Name"], resolve(d["Value"])) for d in raw or [])


def _same_dimensions(expected: list[tuple[str, str]], actual: list[tuple[str, str]]) -> bool:
    if [n for n, _ in expected] != [n for n, _ in actual]:
        return False
    return all(e in (UNRESOLVED, a) for (_, e), (_, a) in zip(expected, actual, strict=True))


def _show(dimensions: list[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{n}={v}" for n, v in dimensions) + "}"


def _queries(raw: list[dict[str, Any]], resolve: Any) -> dict[str, dict[str, Any]]:
    queries: dict[str, dict[str, Any]] = {}
    for query in raw or []:
        shape: dict[str, Any] = {
            "Expression": query.get("Expression"),
            "ReturnData": query.get("ReturnData", True),
        }
        stat = query.get("MetricStat")
        if stat:
            metric = stat["Metric"]
            shape["Metric"] = (metric.get("Namespace"), metric.get("MetricName"))
            shape["Dimensions"] = _dimensions(metric.get("Dimensions", []), resolve)
            shape["Period"] = stat.get("Period")
            shape["Stat"] = stat.get("Stat")
        queries[query["Id"]] = shape
    return queries


def differences(
    template: dict[str, Any], actual: dict[str, Any], *, stack: SynthesizedStack, resolver: Resolver
) -> list[str]:
    """One line per field where the account's alarm differs from the template's."""

    def from_template(value: Any) -> str:
        return resolver.resolve(value, stack) or UNRESOLVED

    def as_is(value: Any) -> str:
        return str(value)

    found: list[str] = []
    for key, default in _SCALARS:
        want, have = template.get(key, default), actual.get(key, default)
        if want != have:
            found.append(f"{key} {have} in the account, {want} in the template")
    if "Threshold" in template and float(template["Threshold"]) != float(actual.get("Threshold", "nan")):
        found.append(f"Threshold {actual.get('Threshold')} in the account, {template['Threshold']} in the template")
    if template.get("ActionsEnabled", True) != actual.get("ActionsEnabled", True):
        found.append(f"ActionsEnabled {actual.get('ActionsEnabled')} in the account")
    want_dims = _dimensions(template.get("Dimensions", []), from_template)
    have_dims = _dimensions(actual.get("Dimensions", []), as_is)
    if not _same_dimensions(want_dims, have_dims):
        found.append(f"Dimensions {_show(have_dims)} in the account, {_show(want_dims)} in the template")
    want_q, have_q = _queries(template.get("Metrics", []), from_template), _queries(actual.get("Metrics", []), as_is)
    if sorted(want_q) != sorted(have_q):
        found.append(f"metric math ids {sorted(have_q)} in the account, {sorted(want_q)} in the template")
    else:
        for query_id, want in want_q.items():
            have = have_q[query_id]
            for key in want:
                same = (
                    _same_dimensions(want[key], have.get(key, []))
                    if key == "Dimensions"
                    else want[key] == have.get(key)
                )
                if not same:
                    found.append(f"metric {query_id} {key} {have.get(key)} in the account, {want[key]} in the template")
    for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        want_actions = sorted(from_template(a) for a in template.get(key, []))
        have_actions = sorted(actual.get(key, []))
        if len(want_actions) != len(have_actions):
            found.append(f"{key} {have_actions} in the account, {len(want_actions)} action(s) in the template")
            continue
        resolved = [a for a in want_actions if a != UNRESOLVED]
        missing = [a for a in resolved if a not in have_actions]
        if missing:
            found.append(f"{key} {have_actions} in the account, {missing} missing (template)")
    return found


def periods_seconds(alarm: dict[str, Any]) -> int:
    """The alarm's period: its own, or the longest period among its metric math stats."""
    periods = [int(alarm["Period"])] if alarm.get("Period") else []
    periods += [int(q["MetricStat"]["Period"]) for q in alarm.get("Metrics", []) if q.get("MetricStat")]
    return max(periods) if periods else 60


def metrics_of(alarm: dict[str, Any]) -> list[str]:
    """The metrics an alarm reads, as `namespace/name{dimensions}`."""
    if alarm.get("MetricName"):
        stats = [
            {
                "Namespace": alarm.get("Namespace"),
                "MetricName": alarm["MetricName"],
                "Dimensions": alarm.get("Dimensions", []),
            }
        ]
    else:
        stats = [q["MetricStat"]["Metric"] for q in alarm.get("Metrics", []) if q.get("MetricStat")]
    return [
        f"{m.get('Namespace')}/{m.get('MetricName')}"
        + _show(sorted((d["Name"], str(d["Value"])) for d in m.get("Dimensions", [])))
        for m in stats
    ]
