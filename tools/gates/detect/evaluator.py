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
* metric math (tools.gates.detect.metric_math) over MetricStat queries, ReturnData picking the series
  (Contributor Insights' ``INSIGHT_RULE_METRIC`` as a query of its own: see tools.gates.detect.templates).

Reading the alarms from templates: tools.gates.detect.templates.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tools.gates.detect.metric_math import Context, MathError, Series, evaluate

EXTRA_PERIODS = 2

# A resource's own name property, where a Ref to it would resolve to that name.


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
