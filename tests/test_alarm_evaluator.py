"""The offline alarm evaluator against CloudWatch's documented semantics.

Pages: "Alarm evaluation" and "Configuring how CloudWatch alarms treat missing data"
(CloudWatch User Guide, alarm-evaluation.html, alarms-and-missing-data.html) and "Metric math
syntax and functions" (using-metric-math.html).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.gates.detect.evaluator import (
    AlarmDefinition,
    MetricKey,
    MetricStore,
    Query,
    State,
    evaluate_alarms,
    first_alarm,
    statistic,
)
from tools.gates.detect.metric_math import Context, MathError, evaluate
from tools.gates.detect.templates import alarm_from_template, alarms_in_assembly, insight_rule_key

KEY = MetricKey.of("AWS/Test", "Heartbeat", Name="x")


def alarm(**overrides: object) -> AlarmDefinition:
    props: dict[str, object] = {
        "name": "test",
        "comparison": "GreaterThanOrEqualToThreshold",
        "threshold": 1.0,
        "evaluation_periods": 3,
        "datapoints_to_alarm": 3,
        "treat_missing_data": "missing",
        "period": 60,
        "queries": (Query("m", KEY, "Sum", 60, None, True),),
        **overrides,
    }
    return AlarmDefinition(**props)  # type: ignore[arg-type]


# The documented table (Evaluation Periods and Datapoints to Alarm both 3, an evaluation range
# of 5): X breaching, 0 not breaching, - missing; oldest first.
DOCUMENTED = [
    ("0 - X - X", {"missing": "OK", "ignore": "OK", "breaching": "OK", "notBreaching": "OK"}),
    ("- - - - 0", {"missing": "OK", "ignore": "OK", "breaching": "OK", "notBreaching": "OK"}),
    ("- - - - -", {"missing": "INSUFFICIENT_DATA", "ignore": "kept", "breaching": "ALARM", "notBreaching": "OK"}),
    ("0 X X - X", {"missing": "ALARM", "ignore": "ALARM", "breaching": "ALARM", "notBreaching": "ALARM"}),
    ("- - X - -", {"breaching": "ALARM", "notBreaching": "OK"}),
]


@pytest.mark.parametrize(("points", "expected"), DOCUMENTED, ids=[row[0] for row in DOCUMENTED])
def test_missing_data_as_documented(points: str, expected: dict[str, str]) -> None:
    timestamps = [i * 60 for i in range(5)]
    series = {t: {"X": 5.0, "0": 0.0}[p] for t, p in zip(timestamps, points.split(), strict=True) if p != "-"}
    for mode, want in expected.items():
        for current in (State.OK, State.ALARM):
            got = alarm(treat_missing_data=mode).next_state(series, timestamps, current)
            assert got is (current if want == "kept" else State[want]), (points, mode, current)


def test_with_enough_real_points_the_missing_data_setting_is_ignored() -> None:
    """'CloudWatch evaluates the alarm state based on the most recent real data points ...'"""
    timestamps = [i * 60 for i in range(5)]
    series = {0: 0.0, 60: 0.0, 180: 0.0}  # three real non-breaching, the two latest missing
    assert alarm(treat_missing_data="breaching").next_state(series, timestamps, State.OK) is State.OK


def test_m_of_n_fires_on_m_breaching_points() -> None:
    timestamps = [i * 60 for i in range(5)]
    series = {0: 0.0, 60: 0.0, 120: 5.0, 180: 0.0, 240: 5.0}
    assert alarm(datapoints_to_alarm=2).next_state(series, timestamps, State.OK) is State.ALARM
    assert alarm(datapoints_to_alarm=3).next_state(series, timestamps, State.ALARM) is State.OK


@pytest.mark.parametrize(
    ("stat", "expected"),
    [("Sum", 10.0), ("Average", 2.5), ("Minimum", 1.0), ("Maximum", 4.0), ("SampleCount", 4.0), ("p50", 2.0)],
)
def test_statistics_of_a_period(stat: str, expected: float) -> None:
    assert statistic([4.0, 1.0, 3.0, 2.0], stat) == expected


def test_a_sample_counts_only_once_it_is_published() -> None:
    store = MetricStore()
    store.put(KEY, 0, 1.0, delay=180)
    assert store.values(KEY, 0, 60, now=120) == []
    assert store.values(KEY, 0, 60, now=180) == [1.0]


def _heartbeat_store(stops_at: int, period: int) -> MetricStore:
    store = MetricStore()
    for t in range(0, stops_at, period):
        store.put(KEY, t + 1, 1.0, delay=60)
    return store


def _heartbeat_alarm(*, period: int, periods: int, queries: tuple[Query, ...]) -> AlarmDefinition:
    """A "nothing arrived" alarm: below the threshold (missing data breaching) in ``periods`` of ``periods``."""
    return alarm(
        comparison="LessThanThreshold",
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        treat_missing_data="breaching",
        period=period,
        queries=queries,
    )


def test_a_one_period_breaching_heartbeat_fires_periods_late() -> None:
    """The known trap: with missing = breaching the last real point stays in the wider range."""
    period = 900
    store = _heartbeat_store(stops_at=7200, period=period)
    late = _heartbeat_alarm(period=period, periods=1, queries=(Query("m", KEY, "Sum", period, None, True),))
    fired = first_alarm(evaluate_alarms([late], store, 0, 20_000), after=7200)
    assert fired is not None and fired.at - 7200 >= 3 * period  # three periods: the whole range


FIVE_MINUTES = 300
HEARTBEAT_QUERIES = {
    # FILL makes every period a data point, so the heartbeat fires within its periods.
    "fill": (Query("m", KEY, "Sum", FIVE_MINUTES, None, False), Query("e", None, None, 0, "FILL(m, 0)", True)),
    # CDK lists the returned expression first and the nested ones it names after it.
    "nested, listed after its user": (
        Query("top", None, None, 0, "MAX([filled, 0])", True),
        Query("filled", None, None, 0, "FILL(m, 0)", False),
        Query("m", KEY, "Sum", FIVE_MINUTES, None, False),
    ),
}


@pytest.mark.parametrize("queries", list(HEARTBEAT_QUERIES.values()), ids=list(HEARTBEAT_QUERIES))
def test_a_filled_heartbeat_fires_within_its_periods(queries: tuple[Query, ...]) -> None:
    store = _heartbeat_store(stops_at=7200, period=60)
    filled = _heartbeat_alarm(period=FIVE_MINUTES, periods=2, queries=queries)
    fired = first_alarm(evaluate_alarms([filled], store, 0, 20_000), after=7200)
    assert fired is not None and fired.at - 7200 <= 3 * FIVE_MINUTES


def test_insight_rule_metric_is_read_from_the_rules_own_series() -> None:
    """``INSIGHT_RULE_METRIC(ruleName, metricName)`` in an alarm's metric math ("Graphing metrics
    generated by rules", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-GraphReportData.html):
    ``UniqueContributors`` is the number of unique contributors of each data point; a minute with no
    matching event has none, which FILL makes 0."""
    in_service = MetricKey.of("AWS/AutoScaling", "GroupInServiceInstances", AutoScalingGroupName="g")
    properties = {
        "AlarmName": "streams",
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 5,
        "Threshold": 1,
        "TreatMissingData": "notBreaching",
        "Metrics": [
            {"Id": "e", "Expression": "in_service - FILL(INSIGHT_RULE_METRIC('r-1', 'UniqueContributors'), 0)"},
            {
                "Id": "in_service",
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {
                        "Namespace": in_service.namespace,
                        "MetricName": in_service.name,
                        "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "g"}],
                    },
                    "Period": 60,
                    "Stat": "Minimum",
                },
            },
        ],
    }
    definition = alarm_from_template(properties, {}, region="ap-northeast-1")
    assert insight_rule_key("r-1") in definition.metrics
    store = MetricStore()
    for t in range(0, 3600, 60):
        store.put(in_service, t + 30, 3.0, delay=60)
        store.put(insight_rule_key("r-1"), t + 30, 3.0 if t < 1800 else 2.0, delay=60)  # one host stops at 30 min
    fired = first_alarm(evaluate_alarms([definition], store, 0, 3600), after=1800)
    # 5 one-minute periods without the host, the last complete one published 60 s after its sample.
    assert fired is not None and fired.at - 1800 == 6 * 60


def _context(**series: dict[int, float]) -> Context:
    return Context(series=series, timestamps=[0, 60, 120, 180], period=60)


def test_metric_math_arithmetic_keeps_timestamps_both_series_have() -> None:
    context = _context(a={0: 10.0, 60: 20.0, 120: 30.0}, b={60: 2.0, 120: 3.0})
    assert evaluate("100 * a / b", context) == {60: 1000.0, 120: 1000.0}


def test_metric_math_fill_rate_if_min_max() -> None:
    context = _context(used={0: 50.0, 60: 56.0, 180: 62.0}, errors={60: 3.0}, requests={0: 5.0, 60: 200.0})
    assert evaluate("FILL(errors, 0)", context) == {0: 0.0, 60: 3.0, 120: 0.0, 180: 0.0}
    assert evaluate("FILL(used, REPEAT)", context) == {0: 50.0, 60: 56.0, 120: 56.0, 180: 62.0}
    assert evaluate("RATE(used)", context) == {60: 0.1, 180: 0.05}
    assert evaluate("used + RATE(used) * 3600", context) == {60: 416.0, 180: 242.0}
    rate = evaluate("IF(requests >= 100, 100 * FILL(errors, 0) / requests, 0)", context)
    assert rate == {0: 0.0, 60: 1.5}
    assert evaluate("MAX([errors, requests])", context) == {0: 5.0, 60: 200.0}
    assert evaluate("MIN(used)", context) == 50.0


def test_fails_metric_math_it_does_not_model_with_a_clear_error() -> None:
    with pytest.raises(MathError, match="ANOMALY_DETECTION_BAND is not modelled"):
        evaluate("ANOMALY_DETECTION_BAND(m)", _context(m={}))
    with pytest.raises(MathError, match="unknown id 'n'"):
        evaluate("n + 1", _context(m={}))


def test_reads_every_alarm_of_the_genba_assembly(assembly_dir: Path) -> None:
    import json

    alarms = alarms_in_assembly(assembly_dir)
    templates = list(assembly_dir.rglob("*.template.json"))
    expected = sum(
        1
        for path in templates
        for r in json.loads(path.read_text()).get("Resources", {}).values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    )
    assert len(alarms) == expected > 100
    assert all(alarm.metrics for alarm in alarms)
    # Log group names that the templates set resolve to the names themselves.
    silence = next(a for a in alarms if a.name == "genba-prod-app-logs-log-silence-critical")
    assert {dict(k.dimensions)["LogGroupName"] for k in silence.metrics} == {"/genba/prod/application"}
