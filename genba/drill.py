"""`genba drill`: prove that an alarm's notification reaches the alarm topic's subscribers.

For the alarm(s): subscribe a temporary SQS queue to every SNS topic in their alarm actions
(queue policy: only those topics, by ``aws:SourceArn``), SetAlarmState ALARM, read the
notification for each alarm from the queue (by ``AlarmName`` in the SNS message), then set
each alarm back to the state it had. The queue and its subscriptions are removed at the end,
also on failure or Ctrl-C.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from genba.assembly import Environment, InputError
from genba.aws import Clients
from genba.report import FAIL, INFO, WARN, Report

REASON = "genba drill: proving the notification path (the alarm returns to its real state at the end)"


def _queue_policy(queue_arn: str, topic_arns: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "GenbaDrillTopics",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arns}},
                }
            ],
        }
    )


def _notified(body: str) -> tuple[str | None, str | None]:
    """(AlarmName, NewStateValue) of an SNS notification as it arrives in SQS, or Nones."""
    try:
        envelope = json.loads(body)
        message = json.loads(envelope.get("Message", "{}"))
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(message, dict):
        return None, None
    return message.get("AlarmName"), message.get("NewStateValue")


def run_drill(
    env: Environment,
    clients: Clients,
    report: Report,
    *,
    alarm: str | None = None,
    allow_production: bool = False,
    timeout_seconds: float = 120.0,
) -> int:
    if env.production and not allow_production:
        raise InputError(
            f"environment {env.name!r} is production: a drill pages its on-call; "
            "pass --i-know-this-is-production to run it anyway"
        )
    names = sorted(r.properties["AlarmName"] for r in env.resources("AWS::CloudWatch::Alarm"))
    if alarm is not None:
        if alarm not in names:
            raise InputError(f"alarm {alarm!r} is not an alarm of environment {env.name!r}")
        names = [alarm]
    report.total_steps = 5
    cloudwatch, sns, sqs = clients("cloudwatch"), clients("sns"), clients("sqs")
    real: dict[str, dict[str, Any]] = {}
    queue_holder: list[str] = []  # the temporary queue's URL, once made (removed in `finally`)
    topics: list[str] = []
    subscriptions: list[str] = []
    try:
        with report.step("alarms") as step:
            for start in range(0, len(names), 100):
                page = cloudwatch.describe_alarms(AlarmNames=names[start : start + 100], AlarmTypes=["MetricAlarm"])
                real.update({a["AlarmName"]: a for a in page["MetricAlarms"]})
            for name in names:
                step.checked += 1
                if name not in real:
                    report.finding(step, FAIL, name, "missing from the account: not drilled")
            topics = sorted({a for r in real.values() for a in r.get("AlarmActions", []) if ":sns:" in a})
            step.note = f"{len(real)} found, {len(topics)} topic(s)"
            if not topics:
                report.finding(step, FAIL, env.name, "the alarms notify no SNS topic")
        if topics:
            _deliver(env, sns, sqs, cloudwatch, report, topics, real, subscriptions, queue_holder, timeout_seconds)
    finally:
        try:
            _restore(cloudwatch, real, report)
        finally:
            _clean_up(sns, sqs, subscriptions, queue_holder, report)
    return _end(report, env)


def _deliver(
    env: Environment,
    sns: Any,
    sqs: Any,
    cloudwatch: Any,
    report: Report,
    topics: list[str],
    real: dict[str, dict[str, Any]],
    subscriptions: list[str],
    queue_holder: list[str],
    timeout_seconds: float,
) -> None:
    """Temporary queue and subscriptions, ALARM, and the notifications read back from the queue."""
    with report.step("temporary queue") as step:
        queue_url = sqs.create_queue(QueueName=f"genba-drill-{env.name}-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        queue_holder.append(queue_url)
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": _queue_policy(queue_arn, topics)})
        for topic in topics:
            step.checked += 1
            subscriptions.append(
                sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)[
                    "SubscriptionArn"
                ]
            )
        step.note = queue_url.rsplit("/", 1)[-1]
    drilled: set[str] = set()
    with report.step("set ALARM") as step:
        for name, alarm in real.items():
            step.checked += 1
            if alarm.get("StateValue") == "ALARM":
                # CloudWatch notifies on a state change only; forcing it OK first would tell the
                # subscribers that a real incident is over.
                report.finding(step, WARN, name, "in ALARM for real: not drilled (no state change, no notification)")
                continue
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason=REASON)
            drilled.add(name)
    with report.step("notifications") as step:
        waiting = set(drilled)
        deadline = time.monotonic() + timeout_seconds
        while waiting and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in messages.get("Messages", []):
                notified, state = _notified(message["Body"])
                if notified in waiting and state == "ALARM":
                    waiting.discard(notified)
                    step.checked += 1
                    report.finding(step, INFO, notified, "notification received")
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        for name in sorted(waiting):
            step.checked += 1
            report.finding(step, FAIL, name, f"no notification within {timeout_seconds:.0f} s")


def _restore(cloudwatch: Any, real: dict[str, dict[str, Any]], report: Report) -> None:
    with report.step("restore and clean up") as step:
        for name, alarm in real.items():
            step.checked += 1
            state = alarm.get("StateValue", "INSUFFICIENT_DATA")
            try:
                cloudwatch.set_alarm_state(
                    AlarmName=name,
                    StateValue=state,
                    StateReason=f"genba drill over: back to {state}, its state before the drill",
                )
            except (ClientError, BotoCoreError) as error:
                report.finding(step, FAIL, name, f"not restored to {state}: {error}")


def _clean_up(sns: Any, sqs: Any, subscriptions: list[str], queue_holder: list[str], report: Report) -> None:
    step = report.steps[-1]
    for arn in subscriptions:
        try:
            sns.unsubscribe(SubscriptionArn=arn)
        except (ClientError, BotoCoreError) as error:
            report.finding(step, FAIL, arn, f"temporary subscription not removed: {error}")
    for queue_url in queue_holder:
        try:
            sqs.delete_queue(QueueUrl=queue_url)
        except (ClientError, BotoCoreError) as error:
            report.finding(step, FAIL, queue_url, f"temporary queue not removed: {error}")


def _end(report: Report, env: Environment) -> int:
    report.summary(f"genba drill {env.name}")
    return 1 if report.failed else 0
