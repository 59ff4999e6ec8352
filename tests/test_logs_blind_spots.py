"""The logs-side blind spots of issue 12, closed: each new alarm in the templates, and detected in time.

Metrics and dimensions as AWS documents them:

* "Monitoring with CloudWatch metrics", CloudWatch Logs User Guide
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Monitoring-CloudWatch-Metrics.html):
  ``DeliveryErrors``, ``DeliveryThrottling``, ``ForwardedLogEvents`` - "Valid Dimensions:
  LogGroupName, DestinationType, FilterName", Sum; ``IncomingLogEvents`` - LogGroupName.
  ``DestinationType`` is ``Firehose`` for a Firehose destination (as public alarms on it use).
* "Help protect sensitive log data with masking", CloudWatch Logs User Guide
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/mask-sensitive-log-data.html):
  ``LogEventsWithFindings`` in ``AWS/Logs``, emitted when sensitive data is detected; published
  with ``LogGroupName`` and, in accounts, ``DataProtectionOperation``/``PolicyName`` as well:
  the alarm adds all three dimension sets.
* "Using math expressions with CloudWatch metrics" (FILL) and "Configuring how CloudWatch alarms
  treat missing data" (CloudWatch User Guide): the log-silence alarm reads ``FILL(m, 0)``.
* "Using Amazon CloudWatch alarms" actions (CloudWatch User Guide): an alarm action can create a
  Systems Manager OpsItem (``arn:aws:ssm:<region>:<account>:opsitem:<severity>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tools.gates.detect.__main__ import Result, play, services
from tools.gates.detect.evaluator import alarms_in_assembly
from tools.gates.detect.scenarios import environment_alarms, healthy_week, scenarios


def alarm(template: Template, name: str) -> dict[str, Any]:
    found = template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": name}})
    assert len(found) == 1, f"{name}: {sorted(found)}"
    props: dict[str, Any] = next(iter(found.values()))["Properties"]
    return props


@pytest.fixture(scope="module")
def logging(stack_template: Any) -> Template:
    return Template.from_json(stack_template("dev", "logging"))


@pytest.fixture(scope="module")
def search(stack_template: Any) -> Template:
    return Template.from_json(stack_template("dev", "search"))


def metric_stats(props: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["Id"]: q["MetricStat"]["Metric"] for q in props["Metrics"] if "MetricStat" in q}


def dimensions(metric: dict[str, Any]) -> set[str]:
    return {d["Name"] for d in metric["Dimensions"]}


def test_archive_subscription_alarm_compares_forwarded_with_received_events(logging: Template) -> None:
    props = alarm(logging, "genba-dev-archive-app-logs-subscription-delivery-critical")
    assert props["EvaluationPeriods"] == 2
    assert props["TreatMissingData"] == "notBreaching"
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    expression = next(q["Expression"] for q in props["Metrics"] if "Expression" in q)
    assert "FILL(forwarded, 0)" in expression and "FILL(incoming, 0)" in expression
    stats = metric_stats(props)
    assert stats["forwarded"]["MetricName"] == "ForwardedLogEvents"
    assert stats["forwarded"]["Namespace"] == "AWS/Logs"
    assert dimensions(stats["forwarded"]) == {"LogGroupName", "DestinationType", "FilterName"}
    assert {"Name": "DestinationType", "Value": "Firehose"} in stats["forwarded"]["Dimensions"]
    assert {"Name": "FilterName", "Value": "genba-archive"} in stats["forwarded"]["Dimensions"]
    assert stats["incoming"]["MetricName"] == "IncomingLogEvents"
    assert dimensions(stats["incoming"]) == {"LogGroupName"}


def test_archive_subscription_errors_alarm_adds_errors_and_throttling(logging: Template) -> None:
    logging.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "genba-dev-archive-audit-logs-subscription-errors-warning",
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "Metrics": Match.array_with(
                [
                    Match.object_like({"Expression": "FILL(errors, 0) + FILL(throttled, 0)"}),
                    Match.object_like(
                        {
                            "Id": "errors",
                            "MetricStat": Match.object_like(
                                {"Metric": Match.object_like({"Namespace": "AWS/Logs", "MetricName": "DeliveryErrors"})}
                            ),
                        }
                    ),
                ]
            ),
        },
    )


def test_search_subscription_has_its_own_alarms(search: Template) -> None:
    props = alarm(search, "genba-dev-audit-search-subscription-delivery-critical")
    forwarded = metric_stats(props)["forwarded"]
    assert {"Name": "FilterName", "Value": "audit-search-audit-logs"} in forwarded["Dimensions"]
    alarm(search, "genba-dev-audit-search-subscription-errors-warning")


def test_total_search_ingestion_outage_is_critical(search: Template) -> None:
    props = alarm(search, "genba-dev-audit-search-firehose-delivery-critical")
    assert props["MetricName"] == "DeliveryToAmazonOpenSearchService.Success"
    assert props["ComparisonOperator"] == "LessThanThreshold"
    assert props["Threshold"] == 0.05


def test_masked_data_alarm_reads_log_events_with_findings_per_log_group(logging: Template) -> None:
    props = alarm(logging, "genba-dev-app-logs-log-data-protection-warning")
    stats = metric_stats(props)
    assert {m["MetricName"] for m in stats.values()} == {"LogEventsWithFindings"}
    assert {frozenset(dimensions(m)) for m in stats.values()} == {
        frozenset({"LogGroupName"}),
        frozenset({"LogGroupName", "DataProtectionOperation"}),
        frozenset({"LogGroupName", "DataProtectionOperation", "PolicyName"}),
    }
    assert {"Name": "PolicyName", "Value": "app-logs-masking"} in stats["policy"]["Dimensions"]
    assert props["TreatMissingData"] == "notBreaching"


def test_error_alarm_counts_critical_lines_too(logging: Template) -> None:
    props = alarm(logging, "genba-dev-app-logs-log-errors-critical")
    levels = {d["Value"] for m in metric_stats(props).values() for d in m["Dimensions"] if d["Name"] == "Level"}
    assert levels == {"ERROR", "CRITICAL"}


def test_log_silence_reads_zero_filled_minutes_all_of_them_silent(logging: Template) -> None:
    logging.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "genba-dev-app-logs-log-silence-critical",
            "EvaluationPeriods": 5,
            "DatapointsToAlarm": 5,
            "TreatMissingData": "breaching",
            "Metrics": Match.array_with([Match.object_like({"Expression": "FILL(events, 0)"})]),
        },
    )


def test_alarm_topic_dlq_alarm_also_opens_an_ops_item(stack_template: Any) -> None:
    template = Template.from_json(stack_template("dev", "notifications"))
    props = alarm(template, "genba-dev-alarm-notifications-dlq-not-empty-critical")
    actions = props["AlarmActions"]
    assert any(":opsitem:" in str(action) for action in actions), actions
    assert any(isinstance(action, dict) and "Ref" in action for action in actions), actions  # the topic, still


@pytest.fixture(scope="module")
def results(assembly_dir: Path) -> dict[str, dict[str, Result]]:
    found: dict[str, dict[str, Result]] = {}
    all_alarms = alarms_in_assembly(assembly_dir)
    for environment, service in services(["dev", "prod"]).items():
        alarms = environment_alarms(all_alarms, environment)
        wanted = [
            s
            for s in scenarios(service)
            if s.name
            in {
                "log subscription to Firehose broken",
                "masked data written to a log group",
                "log shipping stopped on every host",
            }
        ]
        found[environment] = {s.name: play(environment, s, alarms, service) for s in wanted}
    return found


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_broken_subscription_is_caught_within_15_minutes(
    results: dict[str, dict[str, Result]], environment: str
) -> None:
    result = results[environment]["log subscription to Firehose broken"]
    assert result.alarm is not None and "-subscription-delivery-" in result.alarm, result
    assert result.detected_after is not None and result.detected_after <= 15 * 60


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_masked_data_is_caught_within_10_minutes(results: dict[str, dict[str, Result]], environment: str) -> None:
    result = results[environment]["masked data written to a log group"]
    assert result.alarm is not None and "-log-data-protection-" in result.alarm, result
    assert result.detected_after is not None and result.detected_after <= 10 * 60


def test_log_silence_fires_once_the_silence_is_five_minutes_long(results: dict[str, dict[str, Result]]) -> None:
    result = results["dev"]["log shipping stopped on every host"]
    assert result.alarm is not None and "-log-silence-" in result.alarm, result
    assert result.detected_after is not None and result.detected_after <= 6 * 60


def test_the_healthy_week_raises_none_of_the_new_alarms(assembly_dir: Path) -> None:
    service = services(["dev"])["dev"]
    alarms = environment_alarms(alarms_in_assembly(assembly_dir), "dev")
    new = ("subscription-", "log-data-protection", "log-errors", "log-silence", "firehose-delivery")
    result = play("dev", healthy_week(service), [a for a in alarms if any(k in a.name for k in new)], service)
    assert result.false_pages == ()
