"""`genba drill` against moto server (127.0.0.1): alarm -> SNS topic -> temporary SQS queue, end to end.

moto deviation corrected here: moto's SetAlarmState changes the state but does not run the
alarm's actions, so the CloudWatch client is wrapped to publish what CloudWatch would (the
alarm notification JSON, to the SNS topics of the alarm's AlarmActions / OKActions) on a state
change. From the topic on, delivery is moto's own: SNS delivers to the drill's SQS
subscription and the drill reads the notification back from the queue. The account (and what
is faked besides) is described in tests/genba_account.py.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from genba.cli import main
from tests.genba_account import Account, Wrapped, fresh_account, write_assembly

ALARM = "genba-dev-user-sync-pending-changes-sync-lag-critical"


@pytest.fixture
def account(endpoint: str, assembly: Path, monkeypatch: pytest.MonkeyPatch) -> Account:
    built = fresh_account(endpoint, assembly, monkeypatch)
    built.overrides["cloudwatch"] = acting_cloudwatch(built)
    return built


def acting_cloudwatch(account: Account, *, deliver: bool = True) -> Wrapped:
    """moto's CloudWatch client, plus the alarm actions CloudWatch runs on a state change."""
    cloudwatch, sns = account.client("cloudwatch"), account.client("sns")

    def set_alarm_state(**kwargs: Any) -> dict[str, Any]:
        (before,) = cloudwatch.describe_alarms(AlarmNames=[kwargs["AlarmName"]])["MetricAlarms"]
        result: dict[str, Any] = cloudwatch.set_alarm_state(**kwargs)
        actions = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
        if deliver and before["StateValue"] != kwargs["StateValue"]:
            message = {
                "AlarmName": kwargs["AlarmName"],
                "NewStateValue": kwargs["StateValue"],
                "OldStateValue": before["StateValue"],
                "NewStateReason": kwargs["StateReason"],
            }
            for topic in before.get(actions[kwargs["StateValue"]], []):
                sns.publish(TopicArn=topic, Message=json.dumps(message), Subject=f"{kwargs['StateValue']}: alarm")
        return result

    return Wrapped(cloudwatch, set_alarm_state=set_alarm_state)


def run(account: Account, assembly: Path, *extra: str, timeout: str = "120") -> tuple[int, str]:
    """The drill against moto. The wait for notifications is a budget, not a speed check: a loaded
    machine delivers late, so only the test of a notification that never comes waits briefly."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            [
                "drill",
                "--env",
                "dev",
                "--assembly",
                str(assembly),
                "--endpoint-url",
                account.endpoint,
                "--timeout",
                timeout,
                *extra,
            ],
            overrides=account.overrides,
        )
    return code, out.getvalue() + err.getvalue()


def leftovers(account: Account) -> tuple[list[str], list[str]]:
    """(SQS queues, SQS subscriptions of the alarm topic) still there after a drill."""
    queues = account.client("sqs").list_queues().get("QueueUrls", [])
    subs = account.client("sns").list_subscriptions_by_topic(TopicArn=account.topic_arn)["Subscriptions"]
    return [q for q in queues if "genba-drill" in q], [s["Endpoint"] for s in subs if s["Protocol"] == "sqs"]


def state(account: Account, name: str) -> str:
    (alarm,) = account.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return str(alarm["StateValue"])


def test_drill_delivers_one_alarm_end_to_end_and_restores_it(account: Account, assembly: Path) -> None:
    code, output = run(account, assembly, "--alarm", ALARM)
    assert code == 0, output
    assert f"INFO notifications: {ALARM}: notification received" in output
    assert "all passed" in output
    assert state(account, ALARM) == "OK"
    (alarm,) = account.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    assert alarm["StateReason"].startswith("genba drill over: back to OK")
    assert leftovers(account) == ([], [])


def test_drill_of_every_alarm_proves_each_notification(account: Account, assembly: Path) -> None:
    names = sorted(r.properties["AlarmName"] for r in account.env.resources("AWS::CloudWatch::Alarm"))
    account.client("cloudwatch").set_alarm_state(AlarmName=names[0], StateValue="ALARM", StateReason="real")
    code, output = run(account, assembly)
    assert code == 0, output
    assert output.count("notification received") == len(names) - 1
    assert f"WARN set ALARM: {names[0]}: in ALARM for real: not drilled" in output
    assert state(account, names[0]) == "ALARM"  # its real state before the drill
    assert all(state(account, n) == "OK" for n in names[1:])
    assert leftovers(account) == ([], [])


def test_fails_when_no_notification_arrives_and_still_cleans_up(account: Account, assembly: Path) -> None:
    account.overrides["cloudwatch"] = acting_cloudwatch(account, deliver=False)
    code, output = run(account, assembly, "--alarm", ALARM, timeout="3")
    assert code == 1
    assert f"FAIL notifications: {ALARM}: no notification within 3 s" in output
    assert state(account, ALARM) == "OK"
    assert leftovers(account) == ([], [])


def test_temporary_queue_is_removed_when_the_drill_breaks(account: Account, assembly: Path) -> None:
    cloudwatch = account.client("cloudwatch")

    def interrupted(**kwargs: Any) -> Any:
        if kwargs["StateValue"] == "ALARM":
            raise KeyboardInterrupt  # Ctrl-C in the middle of the drill
        return cloudwatch.set_alarm_state(**kwargs)

    account.overrides["cloudwatch"] = Wrapped(cloudwatch, set_alarm_state=interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(account, assembly, "--alarm", ALARM)
    assert leftovers(account) == ([], [])
    assert state(account, ALARM) == "OK"


def test_queue_policy_allows_only_the_alarm_topics(account: Account, assembly: Path) -> None:
    sqs = account.client("sqs")
    policies: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> Any:
        policies.append(json.loads(kwargs["Attributes"]["Policy"]))
        return sqs.set_queue_attributes(**kwargs)

    account.overrides["sqs"] = Wrapped(sqs, set_queue_attributes=record)
    assert run(account, assembly, "--alarm", ALARM)[0] == 0
    ((statement,),) = [p["Statement"] for p in policies]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": [account.topic_arn]}}


def test_fails_on_unknown_alarm_with_one_line(account: Account, assembly: Path) -> None:
    code, output = run(account, assembly, "--alarm", "no-such-alarm")
    assert code == 2
    assert output == "genba: alarm 'no-such-alarm' is not an alarm of environment 'dev'\n"


def test_fails_on_production_without_the_explicit_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prod = write_assembly(tmp_path, env="prod")
    assert main(["drill", "--env", "prod", "--assembly", str(prod)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "genba: environment 'prod' is production: a drill pages its on-call; "
        "pass --i-know-this-is-production to run it anyway\n"
    )
