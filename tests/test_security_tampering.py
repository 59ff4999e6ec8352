"""The trail and key tampering rules deliver to a real target, so ``TriggeredRules`` is published for certain.

EventBridge's metric table ("Monitoring Amazon EventBridge",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html) describes
``TriggeredRules`` as "the number of rules that have run and matched with any event" and says
nothing of a rule without targets; its delivery metrics count target invocations. genba's
tampering alarms watch ``TriggeredRules``, so each rule has a target: the ``TamperingEvents``
queue, with a dead-letter queue for failed deliveries ("Using dead-letter queues to process
undelivered events", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
EventBridge delivers to SQS by the queue's resource policy; "Amazon SQS permissions" in
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html conditions
the statement on ``aws:SourceArn`` of the rule, which these tests require of both queues.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tools.reports.policy_audit import templates
from tools.sim import moto_server

TEMPLATES = dict(templates())
ENVIRONMENTS = ("dev", "stg", "prod")


def _logging(env: str) -> dict[str, Any]:
    resources: dict[str, Any] = TEMPLATES[f"{env}/genba-{env}-logging"]["Resources"]
    return resources


def _tampering_rules(env: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in _logging(env).items() if v["Type"] == "AWS::Events::Rule" and "Tampering" in k}


def _queue_statements(env: str, queue_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for resource in _logging(env).values()
        if resource["Type"] == "AWS::SQS::QueuePolicy" and {"Ref": queue_id} in resource["Properties"]["Queues"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_tampering_rule_targets_a_queue_of_the_stack_with_a_dead_letter_queue(env: str) -> None:
    rules = _tampering_rules(env)
    assert len(rules) == 2
    resources = _logging(env)
    for rule in rules.values():
        (target,) = rule["Properties"]["Targets"]
        queue_id = target["Arn"]["Fn::GetAtt"][0]
        dlq_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert resources[queue_id]["Type"] == resources[dlq_id]["Type"] == "AWS::SQS::Queue"
        assert queue_id != dlq_id
        # No RoleArn: EventBridge sends to SQS under the queue's resource policy (a role breaks KMS queues).
        assert "RoleArn" not in target
        queue = resources[queue_id]["Properties"]
        assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_eventbridge_may_send_to_both_queues_only_for_these_rules(env: str) -> None:
    rules = _tampering_rules(env)
    (queue_id,) = {r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0] for r in rules.values()}
    (dlq_id,) = {r["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] for r in rules.values()}
    for queue in (queue_id, dlq_id):
        allowed = [
            s
            for s in _queue_statements(env, queue)
            if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "events.amazonaws.com"}
        ]
        sources = [s["Condition"]["ArnEquals"]["aws:SourceArn"] for s in allowed]
        assert sorted(json.dumps(source) for source in sources) == sorted(
            json.dumps({"Fn::GetAtt": [rule_id, "Arn"]}) for rule_id in rules
        )
        for statement in allowed:
            assert "sqs:SendMessage" in statement["Action"]
            assert statement["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_an_undeliverable_tampering_event_alarms(env: str) -> None:
    rules = _tampering_rules(env)
    (dlq_id,) = {r["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] for r in rules.values()}
    alarms = [
        r["Properties"]
        for r in _logging(env).values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    ]
    watched = [a for a in alarms if a["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dlq_id, "QueueName"]}]
    assert len(watched) == 1
    assert watched[0]["ComparisonOperator"] == "GreaterThanThreshold" and watched[0]["Threshold"] == 0


def _stop_logging_detail(event_name: str) -> str:
    # The shape of a CloudTrail management event as EventBridge delivers it ("AWS API Call via
    # CloudTrail", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html).
    return json.dumps(
        {
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/ops/mallory"},
            "eventTime": "2026-12-02T02:00:00Z",
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": event_name,
            "awsRegion": "ap-northeast-1",
            "sourceIPAddress": "203.0.113.7",
            "requestParameters": {"name": "genba-prod-logging-trail"},
            "responseElements": None,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
        }
    )


def test_a_stopped_trail_reaches_the_events_queue_and_a_started_one_does_not() -> None:
    """The synthesized pattern and target, deployed to moto: StopLogging arrives with who and from where.

    moto accepts ``aws.*`` sources in PutEvents, which AWS reserves for its services' own
    events: here PutEvents stands in for CloudTrail's delivery of the management event.
    """
    rules = _tampering_rules("prod")
    trail_rule = next(r for r in rules.values() if "cloudtrail.amazonaws.com" in json.dumps(r))
    with moto_server():
        sqs = boto3.client("sqs")
        events = boto3.client("events")
        queue_url = sqs.create_queue(QueueName="tampering-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="trail-tampered", EventPattern=json.dumps(trail_rule["Properties"]["EventPattern"]))
        events.put_targets(Rule="trail-tampered", Targets=[{"Id": "Target0", "Arn": queue_arn}])
        for name in ("StartLogging", "StopLogging"):
            events.put_events(
                Entries=[
                    {
                        "Source": "aws.cloudtrail",
                        "DetailType": "AWS API Call via CloudTrail",
                        "Detail": _stop_logging_detail(name),
                    }
                ]
            )
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
    delivered = [json.loads(m["Body"]) for m in messages]
    assert [d["detail"]["eventName"] for d in delivered] == ["StopLogging"]
    assert delivered[0]["detail"]["userIdentity"]["arn"].endswith("/mallory")
    assert delivered[0]["detail"]["sourceIPAddress"] == "203.0.113.7"
