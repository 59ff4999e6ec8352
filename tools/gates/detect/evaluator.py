"""CloudWatch alarm evaluation, offline: every alarm of a cloud assembly over modelled metric samples.

What is modelled, from the CloudWatch User Guide ("Alarm evaluation", alarm-evaluation.html;
"Configuring how CloudWatch alarms treat missing data", alarms-and-missing-data.html):

* a data point per period (periods aligned to the epoch) from the raw samples of that period,
  with the alarm's statistic: Sum, Average, Minimum, Maximum, SampleCount or a percentile
  (``p99``: nearest rank);
* a sample counts only once it is *available* (its timestamp plus the delay the service
  publishes with, given per sample): detection times include the metric delay;
* the alarm is evaluated every minute over complete periods only - CloudWatch may also look at
  the current partial period; leaving it out can only make detection later (conservative);
* EvaluationPeriods (N) and DatapointsToAlarm (M): ALARM when at least M of the N evaluated
  points breach, else OK;
* the evaluation range: CloudWatch retrieves more points than N. AWS states the range for its
  worked example only (N=3 -> the 5 most recent periods) and says the exact number depends on
  the period and resolution; genba uses N + 2 (``EXTRA_PERIODS``). With a wider range a
  heartbeat alarm keeps reading stale real points longer, so a scenario can pass here and fire
  later in AWS: goals are checked with a margin for this (see docs/detection.md);
* missing data, as documented: if the range holds at least N real points, the N most recent
  real points are evaluated and TreatMissingData is ignored; if it holds none, ``missing`` ->
  INSUFFICIENT_DATA, ``ignore`` -> state kept, ``breaching`` -> ALARM, ``notBreaching`` -> OK;
  if it holds some but fewer than N, ``breaching``/``notBreaching`` fill the missing periods as
  few times as needed (the most recent first) and every real point is evaluated; ``missing`` and
  ``ignore`` evaluate the real points alone: ALARM when M of them breach, OK when M can no longer
  be reached, else the state is kept (AWS's table does not spell this case out fully);
* metric math (tools.gates.detect.metric_math) over MetricStat queries, ReturnData picking the series;
* ``INSIGHT_RULE_METRIC('rule', 'Metric')`` (Contributor Insights, ContributorInsights-GraphReportData.html)
  reads the rule's figure per period: the expression is read as a query of its own on the key
  ``INSIGHT_RULE_METRIC <Metric> [RuleName=rule]``, one sample per period (Maximum), which the
  scenario model publishes as the rule would report it (``UniqueContributors``: the distinct
  contributors of that minute). A period without matching events has no data point, as for
  every other metric.

Dimension values that are CloudFormation intrinsics are resolved to readable stand-ins
(``<LogicalId>``, a resource's own name property where the template sets it), so that a
scenario can address the metric an alarm reads.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from tools.gates.detect.metric_math import Context, MathError, Series, evaluate

EXTRA_PERIODS = 2
ACCOUNT = "123456789012"
INSIGHT_RULE_NAMESPACE = "INSIGHT_RULE_METRIC"
_INSIGHT_RULE_METRIC = re.compile(r"INSIGHT_RULE_METRIC\(\s*'([^']+)'\s*,\s*'([A-Za-z]+)'\s*\)", re.IGNORECASE)

# A resource's own name property, where a Ref to it would resolve to that name.
_NAME_PROPERTIES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::OpenSearchService::Domain": "DomainName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::CloudWatch::InsightRule": "RuleName",
}


class State(Enum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class MetricKey:
    """A metric as CloudWatch identifies it: namespace, name and the full set of dimensions."""

    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]] = frozenset()

    @staticmethod
    def of(namespace: str, name: str, **dimensions: str) -> MetricKey:
        return MetricKey(namespace, name, frozenset(dimensions.items()))

    def __str__(self) -> str:
        dims = ",".join(f"{k}={v}" for k, v in sorted(self.dimensions))
        return f"{self.namespace} {self.name} [{dims}]"


@dataclass
class MetricStore:
    """Raw samples per metric: (timestamp, value, available_at), in seconds, kept in time order."""

    samples: dict[MetricKey, list[tuple[float, float, float]]] = field(default_factory=lambda: defaultdict(list))
    max_delay: float = 0.0

    def put(self, key: MetricKey, timestamp: float, value: float, *, delay: float = 60.0) -> None:
        """One sample at ``timestamp``, readable by alarms ``delay`` seconds later."""
        series = self.samples[key]
        series.append((timestamp, value, timestamp + delay))
        if len(series) > 1 and series[-2][0] > timestamp:
            series.sort()
        self.max_delay = max(self.max_delay, delay)

    def values(self, key: MetricKey, start: float, end: float, now: float) -> list[float]:
        series = self.samples.get(key)
        if not series:
            return []
        low = bisect_left(series, (start, -math.inf, -math.inf))
        high = bisect_left(series, (end, -math.inf, -math.inf))
        return [v for _, v, available in series[low:high] if available <= now]


def statistic(values: Sequence[float], stat: str) -> float | None:
    """One period's data point from its samples (None: no data point)."""
    if not values:
        return None
    if stat == "Sum":
        return float(sum(values))
    if stat == "Average":
        return float(sum(values)) / len(values)
    if stat == "Minimum":
        return float(min(values))
    if stat == "Maximum":
        return float(max(values))
    if stat == "SampleCount":
        return float(len(values))
    if stat.startswith("p"):
        ordered = sorted(values)
        rank = max(1, math.ceil(float(stat[1:]) / 100 * len(ordered)))
        return float(ordered[rank - 1])
    raise ValueError(f"statistic {stat!r} is not modelled")


@dataclass(frozen=True)
class Query:
    id: str
    key: MetricKey | None
    stat: str | None
    period: int
    expression: str | None
    return_data: bool


def _uses(expression: str) -> set[str]:
    """The ids an expression names (words not followed by "(", other than keywords)."""
    words = re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()", expression)
    return {w for w in words if w.upper() not in {"AND", "OR", "REPEAT"}}


_COMPARE = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


@dataclass(frozen=True)
class AlarmDefinition:
    name: str
    comparison: str
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str
    period: int
    queries: tuple[Query, ...]
    stack: str = ""

    def breaches(self, value: float) -> bool:
        return bool(_COMPARE[self.comparison](value, self.threshold))

    @property
    def metrics(self) -> list[MetricKey]:
        return [q.key for q in self.queries if q.key is not None]

    def series(
        self,
        store: MetricStore,
        timestamps: Sequence[int],
        now: float,
        final: dict[tuple[str, int], float | None] | None = None,
    ) -> Series:
        """The alarm's data point per period start (absent: missing).

        :param final: a cache of data points that can no longer change (every sample that
            could fall in their period is published), kept across evaluations of one alarm.
        """
        computed: dict[str, Any] = {}
        for query in self.queries:
            if query.key is not None and query.stat is not None:
                points = {}
                for start in timestamps:
                    cached = final is not None and (query.id, start) in final
                    if cached and final is not None:
                        value = final[(query.id, start)]
                    else:
                        value = statistic(store.values(query.key, start, start + query.period, now), query.stat)
                        if final is not None and now >= start + query.period + store.max_delay:
                            final[(query.id, start)] = value
                    if value is not None:
                        points[start] = value
                computed[query.id] = points
        # An expression may use another one listed after it (CDK lists the returned one first):
        # evaluate each once every id it names is computed.
        pending = [q for q in self.queries if q.expression is not None]
        while pending:
            ready = [q for q in pending if _uses(q.expression or "") <= set(computed)]
            if not ready:
                ready = pending[:1]  # an unknown id: let evaluate() name it
            for query in ready:
                context = Context(series=computed, timestamps=timestamps, period=self.period)
                computed[query.id] = evaluate(query.expression or "", context)
                pending.remove(query)
        returned = next(q for q in self.queries if q.return_data)
        result = computed[returned.id]
        if not isinstance(result, dict):
            raise MathError(f"{self.name}: expression {returned.expression!r} gives no time series")
        return {t: v for t, v in result.items() if t in set(timestamps) and not math.isnan(v)}

    def next_state(self, series: Series, timestamps: Sequence[int], current: State) -> State:
        """The state after one evaluation over the range ``timestamps`` (oldest first)."""
        n, m = self.evaluation_periods, self.datapoints_to_alarm
        real = [(t, series[t]) for t in timestamps if t in series]
        if len(real) >= n:
            evaluated = [v for _, v in real[-n:]]
            return State.ALARM if sum(map(self.breaches, evaluated)) >= m else State.OK
        mode = self.treat_missing_data
        if not real:
            return {
                "missing": State.INSUFFICIENT_DATA,
                "ignore": current,
                "breaching": State.ALARM,
                "notBreaching": State.OK,
            }[mode]
        breaching = sum(self.breaches(v) for _, v in real)
        if mode in ("breaching", "notBreaching"):
            filled = n - len(real)
            breaching += filled if mode == "breaching" else 0
            return State.ALARM if breaching >= m else State.OK
        if breaching >= m:
            return State.ALARM
        if len(real) - breaching > n - m:
            return State.OK
        return current


@dataclass(frozen=True)
class Transition:
    at: int
    alarm: str
    state: State


def evaluate_alarms(
    alarms: Iterable[AlarmDefinition], store: MetricStore, start: int, end: int, *, step: int = 60
) -> list[Transition]:
    """Every state change of ``alarms`` between ``start`` and ``end`` (epoch seconds), evaluated each ``step``."""
    transitions: list[Transition] = []
    for alarm in alarms:
        state = State.INSUFFICIENT_DATA
        span = alarm.evaluation_periods + EXTRA_PERIODS
        final: dict[tuple[str, int], float | None] = {}
        for now in range(start, end + 1, step):
            latest = (now // alarm.period) * alarm.period - alarm.period  # the last complete period
            timestamps = [latest - i * alarm.period for i in reversed(range(span))]
            new = alarm.next_state(alarm.series(store, timestamps, now, final), timestamps, state)
            if new is not state:
                transitions.append(Transition(now, alarm.name, new))
                state = new
    return transitions


def first_alarm(transitions: Iterable[Transition], after: int) -> Transition | None:
    """The first transition into ALARM at or after ``after``."""
    found = [t for t in transitions if t.state is State.ALARM and t.at >= after]
    return min(found, key=lambda t: t.at) if found else None


# ---------------------------------------------------------------------------- templates


class _Resolver:
    def __init__(self, template: Mapping[str, Any], region: str) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.region = region

    def __call__(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                # A name attribute resolves like a Ref to a resource whose Ref is its name.
                if attribute.endswith("Name") or attribute == "Name":
                    return self._ref(logical_id)
                return f"<{logical_id}.{attribute}>"
            if function == "Fn::Join":
                separator, parts = argument
                return str(separator).join(self(part) for part in parts)
            if function == "Fn::Select":
                index, items = argument
                resolved = items if isinstance(items, list) else [self(items)]
                return self(resolved[int(index)])
            if function == "Fn::ImportValue":
                return f"<import:{self(argument)}>"
            if function == "Fn::GetStackOutput":
                return f"<output:{argument.get('OutputName')}>"
            if function == "Fn::Sub":
                return str(argument) if isinstance(argument, str) else str(argument[0])
        return json.dumps(value, sort_keys=True)

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": self.region, "AWS::Partition": "aws"}
        if name in pseudo:
            return pseudo[name]
        resource = self.resources.get(name, {})
        prop = _NAME_PROPERTIES.get(resource.get("Type", ""))
        own = resource.get("Properties", {}).get(prop) if prop else None
        return self(own) if own is not None else f"<{name}>"


def _dimensions(raw: Iterable[Mapping[str, Any]], resolve: _Resolver) -> frozenset[tuple[str, str]]:
    return frozenset((d["Name"], resolve(d["Value"])) for d in raw)


def insight_rule_key(rule: str, metric: str = "UniqueContributors") -> MetricKey:
    """The key a Contributor Insights rule's figure is read from (see the module docstring)."""
    return MetricKey.of(INSIGHT_RULE_NAMESPACE, metric, RuleName=rule)


def _insight_rule_queries(expression: str, period: int) -> tuple[str, list[Query]]:
    """``expression`` with each INSIGHT_RULE_METRIC(...) replaced by the id of a query reading it."""
    queries: list[Query] = []

    def replace(match: re.Match[str]) -> str:
        query_id = f"insight_rule_{len(queries)}"
        queries.append(Query(query_id, insight_rule_key(match[1], match[2]), "Maximum", period, None, False))
        return query_id

    return _INSIGHT_RULE_METRIC.sub(replace, expression), queries


def alarm_from_template(
    properties: Mapping[str, Any], template: Mapping[str, Any], *, region: str, stack: str = ""
) -> AlarmDefinition:
    """An alarm's definition from its ``AWS::CloudWatch::Alarm`` properties."""
    resolve = _Resolver(template, region)
    name = resolve(properties.get("AlarmName", "?"))
    if "Metrics" in properties:
        queries = []
        for query in properties["Metrics"]:
            stat = query.get("MetricStat")
            key = None
            if stat:
                metric = stat["Metric"]
                key = MetricKey(
                    metric["Namespace"], metric["MetricName"], _dimensions(metric.get("Dimensions", ()), resolve)
                )
            queries.append(
                Query(
                    id=query["Id"],
                    key=key,
                    stat=stat["Stat"] if stat else None,
                    period=int(stat["Period"]) if stat else 0,
                    expression=resolve(query["Expression"]) if "Expression" in query else None,
                    return_data=bool(query.get("ReturnData", True)),
                )
            )
        periods = [q.period for q in queries if q.period] or [int(properties.get("Period", 60))]
        period = int(properties.get("Period") or max(periods))
        for index, query in enumerate(list(queries)):
            if query.expression and _INSIGHT_RULE_METRIC.search(query.expression):
                expression, reads = _insight_rule_queries(query.expression, period)
                queries[index] = Query(query.id, None, None, 0, expression, query.return_data)
                queries.extend(reads)
    else:
        period = int(properties["Period"])
        key = MetricKey(
            properties["Namespace"], properties["MetricName"], _dimensions(properties.get("Dimensions", ()), resolve)
        )
        stat = properties.get("ExtendedStatistic") or properties["Statistic"]
        queries = [Query("m", key, stat, period, None, True)]
    n = int(properties["EvaluationPeriods"])
    return AlarmDefinition(
        name=name,
        comparison=properties["ComparisonOperator"],
        threshold=float(properties["Threshold"]),
        evaluation_periods=n,
        datapoints_to_alarm=int(properties.get("DatapointsToAlarm", n)),
        treat_missing_data=properties.get("TreatMissingData", "missing"),
        period=period,
        queries=tuple(queries),
        stack=stack,
    )


def alarms_in_assembly(outdir: Path) -> list[AlarmDefinition]:
    """Every alarm of every stack of a synthesized cloud assembly (nested stage assemblies included)."""
    found: list[AlarmDefinition] = []
    for manifest in sorted(outdir.rglob("manifest.json")):
        artifacts = json.loads(manifest.read_text()).get("artifacts", {})
        for artifact_id, artifact in artifacts.items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            template = json.loads((manifest.parent / artifact["properties"]["templateFile"]).read_text())
            region = str(artifact.get("environment", "")).rsplit("/", 1)[-1] or "us-east-1"
            stack = artifact.get("properties", {}).get("stackName", artifact_id)
            for resource in template.get("Resources", {}).values():
                if resource.get("Type") == "AWS::CloudWatch::Alarm":
                    found.append(alarm_from_template(resource["Properties"], template, region=region, stack=stack))
    return found
