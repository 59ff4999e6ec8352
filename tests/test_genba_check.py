"""`genba check` against moto server (127.0.0.1), with an account built from the dev templates.

See tests/genba_account.py for what is built and which calls are faked (CloudFormation stack
resources, Lambda event source mappings, SSM instance association status: moto cannot deploy
the templates, runs mappings only with Docker, and has no association status). moto
deviations corrected here: an alarm's StateUpdatedTimestamp is "now" at every state change
(the aged INSUFFICIENT_DATA state is made by shifting it back), every subscription moto makes
is confirmed (the pending one is shown as CloudWatch/SNS would list it), and moto has no
DescribeAlarmHistory (the --since test serves two history items).
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from genba.cli import main
from tests.conftest import ROOT
from tests.genba_account import Account, Wrapped, fresh_account


@pytest.fixture
def account(endpoint: str, assembly: Path, monkeypatch: pytest.MonkeyPatch) -> Account:
    return fresh_account(endpoint, assembly, monkeypatch)


def run(account: Account, assembly: Path, *extra: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            ["check", "--env", "dev", "--assembly", str(assembly), "--endpoint-url", account.endpoint, *extra],
            overrides=account.overrides,
        )
    return code, out.getvalue() + err.getvalue()


def fails(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("FAIL")]


def failures(account: Account, assembly: Path) -> list[str]:
    """The FAIL lines of a check that must fail: exit 1 (any FAIL), not 0 or 2 (bad input)."""
    code, output = run(account, assembly)
    assert code == 1, output
    return fails(output)


def test_healthy_account_passes(account: Account, assembly: Path) -> None:
    code, output = run(account, assembly)
    assert fails(output) == [], output
    assert code == 0
    assert "all passed" in output
    assert "[1/8] stacks ..." in output and "[8/8] sync canary ..." in output
    # The summary table: every alarm of the dev templates checked, each step with its counts.
    alarms = sum(
        1
        for template in (ROOT / "snapshots" / "dev").glob("*.json")
        for resource in json.loads(template.read_text())["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    )
    assert re.search(rf"^alarms\s+{alarms}\s+0\s+0\s", output, re.MULTILINE), output
    assert re.search(r"^total\s+\d+\s+0\s+0\s.*all passed$", output, re.MULTILINE), output


def test_missing_alarm_is_caught(account: Account, assembly: Path) -> None:
    account.client("cloudwatch").delete_alarms(AlarmNames=["genba-dev-user-sync-pending-changes-sync-lag-critical"])
    assert failures(account, assembly) == [
        "FAIL alarms: genba-dev-user-sync-pending-changes-sync-lag-critical: missing from the account "
        "(template genba-dev-sync)"
    ]


def test_different_threshold_is_caught(account: Account, assembly: Path) -> None:
    name = "genba-dev-service-hosts-agent-silent-critical"
    _replace_alarm(account, name, Threshold=5.0)
    assert failures(account, assembly) == [f"FAIL alarms: {name}: Threshold 5.0 in the account, 1 in the template"]


def test_alarm_without_data_is_caught(account: Account, assembly: Path) -> None:
    name = "genba-dev-service-hosts-agent-silent-critical"
    cloudwatch = account.client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="INSUFFICIENT_DATA", StateReason="test")

    def aged(**kwargs: Any) -> dict[str, Any]:
        page: dict[str, Any] = cloudwatch.describe_alarms(**kwargs)
        for alarm in page["MetricAlarms"]:
            if alarm["AlarmName"] == name:
                alarm["StateUpdatedTimestamp"] = datetime.now(UTC) - timedelta(hours=2)
        return page

    account.overrides["cloudwatch"] = Wrapped(cloudwatch, describe_alarms=aged)
    (line,) = failures(account, assembly)
    assert line.startswith(f"FAIL alarms: {name}: INSUFFICIENT_DATA for 2.0 h (> 3 periods): not published: ")
    assert "CWAgent/mem_used_percent{AutoScalingGroupName=awseb-e-dev0000001" in line


def test_recent_insufficient_data_is_not_a_failure(account: Account, assembly: Path) -> None:
    name = "genba-dev-service-hosts-agent-silent-critical"
    account.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue="INSUFFICIENT_DATA", StateReason="t")
    assert run(account, assembly)[0] == 0


def test_unconfirmed_subscription_is_caught(account: Account, assembly: Path) -> None:
    sns = account.client("sns")

    def pending(**kwargs: Any) -> dict[str, Any]:
        page: dict[str, Any] = sns.list_subscriptions_by_topic(**kwargs)
        for sub in page["Subscriptions"]:
            sub["SubscriptionArn"] = "PendingConfirmation"
        return page

    account.overrides["sns"] = Wrapped(sns, list_subscriptions_by_topic=pending)
    assert failures(account, assembly) == [
        f"FAIL alarm topic: {account.topic_arn}: email genba-dev-alarms@example.com: PendingConfirmation",
        f"FAIL alarm topic: {account.topic_arn}: no confirmed subscription: alarms reach nobody",
    ]


def test_unsubscribed_address_is_named(account: Account, assembly: Path) -> None:
    sns = account.client("sns")
    sns.subscribe(TopicArn=account.topic_arn, Protocol="email", Endpoint="someone-else@example.com")
    for sub in sns.list_subscriptions_by_topic(TopicArn=account.topic_arn)["Subscriptions"]:
        if sub["Endpoint"] == "genba-dev-alarms@example.com":
            sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    assert failures(account, assembly) == [
        f"FAIL alarm topic: {account.topic_arn}: email genba-dev-alarms@example.com: not subscribed"
    ]


def test_disabled_mapping_is_caught(account: Account, assembly: Path) -> None:
    uuid = sorted(account.lambda_.states)[0]
    account.lambda_.states[uuid] = "Disabled"
    (line,) = failures(account, assembly)
    assert line.startswith("FAIL event source mappings: genba-dev-sync-") and line.endswith(
        f"mapping {uuid} is Disabled"
    )


def test_deleted_subscription_filter_is_caught(account: Account, assembly: Path) -> None:
    logs = account.client("logs")
    logs.delete_subscription_filter(logGroupName="/genba/dev/audit", filterName="audit-search-audit-logs")
    assert failures(account, assembly) == [
        "FAIL subscription filters: /genba/dev/audit: subscription filter 'audit-search-audit-logs' missing"
    ]


def test_non_compliant_instance_is_caught(account: Account, assembly: Path) -> None:
    instance = account.instances[1]
    association_id = sorted(account.ssm.statuses[instance])[0]
    account.ssm.statuses[instance][association_id] = "Failed"
    (line,) = failures(account, assembly)
    assert line.startswith(f"FAIL agent associations: {instance}: genba-dev-hosts-service-hosts-")
    assert line.endswith("not compliant: Failed")


def test_silent_canary_is_caught(account: Account, assembly: Path) -> None:
    def no_data(**_: Any) -> dict[str, Any]:
        return {"MetricDataResults": [{"Id": "canary", "Values": []}]}

    account.overrides["cloudwatch"] = Wrapped(account.client("cloudwatch"), get_metric_data=no_data)
    assert failures(account, assembly) == [
        "FAIL sync canary: genba-dev-user-sync-canary-sync-canary-silent-critical: "
        "no canary verified in the last 15 minutes"
    ]


def test_undeployed_stack_is_caught(account: Account, assembly: Path) -> None:
    del account.physical["genba-dev-search"]
    stacks = [line for line in failures(account, assembly) if line.startswith("FAIL stacks: ")]
    assert len(stacks) == 1 and stacks[0].startswith("FAIL stacks: genba-dev-search: cannot read the deployed stack")


def test_since_lists_state_changes_of_genba_alarms(account: Account, assembly: Path) -> None:
    now = datetime.now(UTC)
    items = [
        {
            "AlarmName": "genba-dev-user-sync-pending-changes-sync-lag-critical",
            "Timestamp": now - timedelta(hours=3),
            "HistorySummary": "Alarm updated from OK to ALARM",
        },
        {"AlarmName": "someone-elses-alarm", "Timestamp": now, "HistorySummary": "Alarm updated from OK to ALARM"},
    ]
    account.overrides["cloudwatch"] = Wrapped(
        account.client("cloudwatch"), describe_alarm_history=lambda **_: {"AlarmHistoryItems": items}
    )
    code, output = run(account, assembly, "--since", "24h")
    assert code == 0
    assert "[9/9] alarm history (24 h) ..." in output
    assert "INFO alarm history (24 h): genba-dev-user-sync-pending-changes-sync-lag-critical:" in output
    assert "someone-elses-alarm" not in output


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "--env", "qa"], "genba: unknown environment 'qa' (cdk.json has: dev, prod, stg)"),
        (["check", "--env", "dev", "--since", "yesterday"], "genba: bad --since 'yesterday': give minutes, hours"),
        (["check", "--env", "dev", "--since", "30d"], "genba: bad --since '30d': CloudWatch keeps alarm history"),
        (["check", "--env", "dev", "--assembly", "/nonexistent"], "genba: no cloud assembly at /nonexistent"),
    ],
)
def test_fails_on_bad_input_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(message)
    assert len(captured.err.strip().splitlines()) == 1


def _replace_alarm(account: Account, name: str, **changes: Any) -> None:
    cloudwatch = account.client("cloudwatch")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    keys = (
        "AlarmName",
        "Namespace",
        "MetricName",
        "Statistic",
        "Period",
        "ComparisonOperator",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "TreatMissingData",
        "Dimensions",
        "Metrics",
        "Threshold",
        "AlarmActions",
        "OKActions",
    )
    params = {k: alarm[k] for k in keys if alarm.get(k) not in (None, [])}
    cloudwatch.put_metric_alarm(**{**params, **changes})


def test_changed_metric_math_is_caught(account: Account, assembly: Path) -> None:
    name = "genba-dev-service-hosts-disk-full-soon-critical"
    (alarm,) = account.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    changed = next(q for q in alarm["Metrics"] if "Expression" in q)
    metrics = [{**q, "Expression": "used + RATE(used) * 3600"} if q is changed else q for q in alarm["Metrics"]]
    _replace_alarm(account, name, Metrics=metrics)
    assert failures(account, assembly) == [
        f"FAIL alarms: {name}: metric {changed['Id']} Expression used + RATE(used) * 3600 in the "
        f"account, {changed['Expression']} in the template"
    ]


def test_alarm_notifying_another_topic_is_caught(account: Account, assembly: Path) -> None:
    other = account.client("sns").create_topic(Name="someone-elses-topic")["TopicArn"]
    name = "genba-dev-app-logs-log-silence-critical"
    _replace_alarm(account, name, AlarmActions=[other])
    assert failures(account, assembly) == [
        f"FAIL alarms: {name}: AlarmActions ['{other}'] in the account, ['{account.topic_arn}'] missing (template)"
    ]
