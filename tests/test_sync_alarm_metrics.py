"""The forwarder's alarms read exactly the metric the forwarder publishes.

An alarm on a metric nobody publishes never sees data and stays OK through the very failure it
is for (CloudWatch matches a metric by namespace, name and the full set of dimensions: "Amazon
CloudWatch concepts - Dimensions", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension).
So the test synthesizes the construct, runs the forwarder handler with the environment the
template gives the function, reads the embedded metric format it prints (the EMF specification,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
and compares namespace, metric name and dimensions with the synthesized alarms.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
from typing import Any

import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Template

from tests.sync_events import Harness
from tools.sim import FakeContext, handler_module
from tools.sim.sync_sim import LAMBDA

PK = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from genba_constructs.sync_targets import DynamoDbReplicaTarget
    from genba_constructs.sync_verification import SyncVerification
    from tests.conftest import new_stack

    stack = new_stack()
    replica = dynamodb.Table.from_table_name(stack, "Replica", "users-replica")
    SyncVerification(stack, "Sync", partition_key=PK, target=DynamoDbReplicaTarget(table=replica))
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def _of(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def alarm_metrics(props: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, dimensions) of every metric an alarm reads (plain or metric math)."""
    stats = (
        [props] if "MetricName" in props else [m["MetricStat"]["Metric"] for m in props["Metrics"] if "MetricStat" in m]
    )
    return [(s["Namespace"], s["MetricName"], {d["Name"]: d["Value"] for d in s.get("Dimensions", [])}) for s in stats]


def forwarder_environment(template: dict[str, Any]) -> dict[str, str]:
    (function,) = [
        r["Properties"]
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and logical_id.startswith("SyncForwarder")
    ]
    variables: dict[str, str] = function["Environment"]["Variables"]
    return variables


class FailingSqs:
    """SendMessageBatch answering every entry as failed (SQS's retryable ``Failed`` entries)."""

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Successful": [],
            "Failed": [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in Entries],
        }


def published(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, dimensions) of every metric the forwarder prints for a failed send."""
    for name, value in environ.items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    handler_module("sync_forwarder")  # the shared layer on sys.path
    spec = importlib.util.spec_from_file_location("genba_forwarder_emf_check", LAMBDA / "sync_forwarder" / "index.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)  # a fresh Metrics: its service dimension from the function's environment
    from genba_sync import ForwardSettings

    settings = ForwardSettings(queue_url="https://sqs.example/q", dlq_url="https://sqs.example/dlq")
    runtime = module.Runtime(sqs=FailingSqs(), settings=settings, sleep=lambda seconds: None)
    h = Harness.__new__(Harness)  # only its record builder: the stream record as Lambda delivers it
    h.sequence, h.key_names, h.view = 100_000_000_000_000_000_000, ["pk"], "NEW_AND_OLD_IMAGES"
    h.stream_arn = "arn:aws:dynamodb:ap-northeast-1:123456789012:table/users/stream/2026-12-01T00:00:00.000"
    event = {"Records": [h.record("INSERT", new={"pk": {"S": "u-1"}, "version": {"N": "1"}})]}
    buffer = io.StringIO()
    module.logger.setLevel("CRITICAL")
    with contextlib.redirect_stdout(buffer):
        response = module.handler(event, FakeContext(), runtime=runtime)
    assert len(response["batchItemFailures"]) == 1  # the change was not forwarded: the metric has a value
    found = []
    for line in buffer.getvalue().splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    if document.get(metric["Name"]):
                        found.append((directive["Namespace"], metric["Name"], {d: document[d] for d in dimensions}))
    return found


def test_forwarder_failure_alarms_read_the_metric_the_forwarder_publishes(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    alarms = {a["AlarmName"]: a for a in _of(template, "AWS::CloudWatch::Alarm")}
    failures = [a for name, a in alarms.items() if "forwarder-records-sync-record-failures" in name]
    errors = [a for name, a in alarms.items() if "sync-forwarder-lambda-errors" in name]
    assert len(failures) == 2 and len(errors) == 2  # warning and critical of each
    wanted = {m for a in failures + errors for m in map(repr, alarm_metrics(a)) if "genba/Sync" in m}
    assert len(wanted) == 1, wanted  # both alarms read one metric
    emitted = {repr(m) for m in published(forwarder_environment(template), monkeypatch)}
    assert wanted <= emitted, (wanted, emitted)


def test_the_contract_names_each_metric_once() -> None:
    """Two contract keys for one metric let an alarm and its handler drift apart unnoticed."""
    from genba_constructs.sync_verification import SYNC_METRICS

    names = list(SYNC_METRICS.values())
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
