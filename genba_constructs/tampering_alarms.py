"""Alarms on the audit trail being switched off and on its key being disabled (CIS CloudWatch.5/.7-style).

The trail writes to S3 only, so there is no CloudWatch Logs metric filter to alarm on (the CIS
recipe). Instead an EventBridge rule on the default bus matches CloudTrail's management events
("AWS API Call via CloudTrail") and an alarm watches the rule's ``AWS/Events``
``TriggeredRules`` (dimension ``RuleName``, default bus; EventBridge publishes it only when the
rule matched, so missing data is "nothing happened", not breaching):

* ``cloudtrail-tampered``: ``StopLogging``, ``DeleteTrail`` or ``UpdateTrail`` on any trail of
  the account in this region (a trail's home region is where it is stopped or deleted);
* ``archive-key-disabled``: ``DisableKey`` or ``ScheduleKeyDeletion`` on any key of the account
  in this region, the archive's among them (CIS matches every customer managed key: a key
  disabled elsewhere is as much an incident).

Both match on ``eventName`` only, the fields CloudTrail always writes; the runbooks say how to
find the trail or key from the event.

Each rule has a target: EventBridge documents ``TriggeredRules`` as "the number of rules that
have run and matched with any event" and says nothing of a rule without targets, and its
delivery metrics (``Invocations``, ``FailedInvocations``) count target invocations. So that the
metric is published for certain, both rules deliver the matched CloudTrail record to the
``TamperingEvents`` queue (14 days: who, which trail or key, from where, kept with the alarm),
with a dead-letter queue for deliveries that fail. Both queue policies admit
``events.amazonaws.com`` only with ``aws:SourceArn`` of the rule (the confused-deputy
condition of "Amazon SQS permissions" in EventBridge's resource-based policy guide).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genba_constructs._secure import dead_letter_queue, dlq_not_empty_spec
from genba_constructs.alarms import AlarmFactory, AlarmSet, AlarmSpec, Thresholds

EVENTS_NAMESPACE = "AWS/Events"
TRAIL_EVENTS = ("StopLogging", "DeleteTrail", "UpdateTrail")
KEY_EVENTS = ("DisableKey", "ScheduleKeyDeletion")


def api_call_rule(scope: Construct, id: str, *, service: str, event_names: tuple[str, ...], what: str) -> events.Rule:
    """A rule on the default bus matching CloudTrail's record of ``event_names`` of ``service``."""
    rule = events.Rule(
        scope,
        id,
        description=f"genba: {what} ({', '.join(event_names)})",
        event_pattern=events.EventPattern(
            source=[f"aws.{service}"],
            detail_type=["AWS API Call via CloudTrail"],
            detail={"eventSource": [f"{service}.amazonaws.com"], "eventName": list(event_names)},
        ),
    )
    return rule


def events_queues(scope: Construct, *, removal: RemovalPolicy) -> tuple[sqs.Queue, sqs.Queue]:
    """The queue the tampering rules deliver to, and its dead-letter queue (both SSE-SQS, TLS only, 14 days).

    SQS-managed encryption: EventBridge sends to it with no key policy to grant (a customer
    managed key would need one for ``events.amazonaws.com``). Nothing consumes the queue: a
    person reads it from the runbook, and a message received 10 times moves to the DLQ rather
    than being lost.
    """
    dlq = dead_letter_queue(
        scope,
        "EventsDeadLetterQueue",
        key=None,
        removal=removal,
        reason="The dead-letter queue of the tampering rules' target: the end of the chain, with a "
        "'DLQ not empty' alarm.",
    )
    queue = sqs.Queue(
        scope,
        "Events",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal,
        # SQS's maximum: the queue is read by people (console polls count as receives), and its
        # DLQ alarm means "EventBridge could not deliver", not "someone looked ten times".
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=1000),
    )
    return queue, dlq


def deliver_to(rule: events.Rule, queue: sqs.IQueue, dlq: sqs.IQueue) -> None:
    """``rule`` sends each matched event to ``queue``; what EventBridge cannot deliver goes to ``dlq``.

    aws-cdk-lib's SqsQueue target adds both queue policy statements with ``aws:SourceArn`` of the rule.
    """
    rule.add_target(targets.SqsQueue(queue, dead_letter_queue=dlq, max_event_age=Duration.hours(24)))


def triggered(rule: events.IRule) -> cloudwatch.Metric:
    """How often ``rule`` matched (``AWS/Events`` ``TriggeredRules``, Sum over 5 minutes)."""
    return cloudwatch.Metric(
        namespace=EVENTS_NAMESPACE,
        metric_name="TriggeredRules",
        dimensions_map={"RuleName": rule.rule_name},
        statistic="Sum",
        period=Duration.minutes(5),
    )


class TamperingAlarms(Construct):
    """The trail and key tampering rules and their alarms.

    :param alarm_factory: makes the alarms (names, actions, runbook links).
    :param subject: subject of the alarm names. Default: ``audit-trail``.
    :param trail_name: the trail the alarms protect (named in the alarm text).
    :param key_description: the key the alarms protect (named in the alarm text).
    :param removal_policy: for the events queue and its dead-letter queue. Default: RETAIN.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alarm_factory: AlarmFactory,
        trail_name: str,
        key_description: str,
        subject: str = "audit-trail",
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        self.events_queue, self.events_dead_letter_queue = events_queues(self, removal=removal_policy)
        self.trail_rule = api_call_rule(
            self,
            "TrailRule",
            service="cloudtrail",
            event_names=TRAIL_EVENTS,
            what="a trail stopped, changed or deleted",
        )
        self.key_rule = api_call_rule(
            self, "KeyRule", service="kms", event_names=KEY_EVENTS, what="a KMS key disabled or scheduled for deletion"
        )
        for rule in (self.trail_rule, self.key_rule):
            deliver_to(rule, self.events_queue, self.events_dead_letter_queue)
        self.alarms: AlarmSet = alarm_factory.create_all(
            self,
            subject=subject,
            specs=[
                on_any_match(
                    runbook="cloudtrail-tampered",
                    summary=f"A trail was stopped, changed or deleted (the archive's trail is {trail_name}).",
                    first_check="the Tampering events queue (the CloudTrail record: who, which trail, from where).",
                    rule=self.trail_rule,
                ),
                on_any_match(
                    runbook="archive-key-disabled",
                    summary=f"A KMS key was disabled or scheduled for deletion ({key_description} is one watched).",
                    first_check="the Tampering events queue (the CloudTrail record: who, which key, from where).",
                    rule=self.key_rule,
                ),
                dlq_not_empty_spec(
                    self.events_dead_letter_queue,
                    summary="EventBridge could not deliver a trail or key tampering event to its queue.",
                    first_check="the DLQ message's ERROR_CODE and ERROR_MESSAGE attributes (a queue policy or "
                    "a deleted queue); the tampering alarms still fire on TriggeredRules.",
                ),
            ],
        )


def on_any_match(*, runbook: str, summary: str, first_check: str, rule: events.IRule) -> AlarmSpec:
    """Critical at the first match of ``rule``; no data (nothing matched) is OK."""
    return AlarmSpec(
        runbook=runbook,
        summary=summary,
        first_check=first_check,
        metric=triggered(rule),
        thresholds=Thresholds(critical=1),
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
