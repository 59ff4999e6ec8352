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
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from constructs import Construct

from genba_constructs.alarms import AlarmFactory, AlarmSet, AlarmSpec, Thresholds
from genba_constructs.nag import acknowledge

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
    acknowledge(
        rule,
        "Serverless-EventBusDLQ",
        "The rule has no target to deliver to (so nothing to dead-letter): it is counted by AWS/Events "
        "TriggeredRules, and the alarm on that count notifies.",
    )
    return rule


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
    ) -> None:
        super().__init__(scope, id)
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
        self.alarms: AlarmSet = alarm_factory.create_all(
            self,
            subject=subject,
            specs=[
                on_any_match(
                    runbook="cloudtrail-tampered",
                    summary=f"A trail was stopped, changed or deleted (the archive's trail is {trail_name}).",
                    first_check="CloudTrail event history: StopLogging, UpdateTrail, DeleteTrail (who, which trail).",
                    rule=self.trail_rule,
                ),
                on_any_match(
                    runbook="archive-key-disabled",
                    summary=f"A KMS key was disabled or scheduled for deletion ({key_description} is one watched).",
                    first_check="CloudTrail event history: DisableKey, ScheduleKeyDeletion (who, which key).",
                    rule=self.key_rule,
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
