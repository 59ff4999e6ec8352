"""The sync stack's canary alarm, evaluated over what the simulated verifier published.

The definition is read from the synthesized template of the dev sync stack (``snapshots/``,
kept equal to ``cdk synth`` by tests/test_snapshots.py): the alarm whose metric math reads
``CanaryVerified``. The data points are the EMF values the handlers printed, stamped with the
simulated time of their invocation (``Emitted.points``). CloudWatch's semantics come from the
project's own evaluator (``tools.gates.detect.evaluator``): nothing here decides a state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tools import ROOT
from tools.gates.detect.evaluator import (
    AlarmDefinition,
    MetricKey,
    MetricStore,
    State,
    Transition,
    evaluate_alarms,
)
from tools.gates.detect.templates import alarm_from_template

TEMPLATE = ROOT / "snapshots" / "dev" / "genba-dev-sync.json"
REGION = "ap-northeast-1"
# EMF values reach CloudWatch metrics within about a minute of the log line.
EMF_DELAY_SECONDS = 60.0


def canary_alarm(template_path: Path = TEMPLATE) -> AlarmDefinition:
    """The canary-silent alarm of the sync stack, as the template defines it."""
    template = json.loads(template_path.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        properties = resource["Properties"]
        if "CanaryVerified" in json.dumps(properties.get("Metrics", properties.get("MetricName", ""))):
            return alarm_from_template(properties, template, region=REGION)
    raise LookupError(f"no alarm on CanaryVerified in {template_path}")


def service_name(alarm: AlarmDefinition) -> str:
    """The ``service`` dimension the alarm reads (the verifier's POWERTOOLS_SERVICE_NAME)."""
    (key,) = alarm.metrics
    return dict(key.dimensions)["service"]


def metric_store(points: Iterable[tuple[float, str, str, dict[str, str], float]]) -> MetricStore:
    """CloudWatch's view of the EMF values: one sample per value, under its full dimension set."""
    store = MetricStore()
    for at, namespace, name, dimensions, value in points:
        store.put(MetricKey(namespace, name, frozenset(dimensions.items())), at, value, delay=EMF_DELAY_SECONDS)
    return store


def evaluate(alarm: AlarmDefinition, points: Iterable[Any], start: float, end: float) -> list[Transition]:
    """The alarm's state changes between ``start`` and ``end`` (simulated epoch seconds)."""
    return evaluate_alarms([alarm], metric_store(points), int(start), int(end))


def state_at(transitions: list[Transition], at: float) -> State:
    state = State.INSUFFICIENT_DATA
    for transition in transitions:
        if transition.at <= at:
            state = transition.state
    return state
