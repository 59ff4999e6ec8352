"""The canary: an EventBridge Scheduler schedule that bumps one item's version in the source table.

The pipeline then always has a change to verify, so a stuck shard shows up as "no canary
verified" even when nothing else changes. Its ids (``CanaryDeadLetterQueue``, ``CanaryRole``,
``CanarySchedule``) are direct children of the construct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs

from genba_constructs._secure import REASON_INLINE_POLICY
from genba_constructs.nag import acknowledge
from genba_constructs.sync_verification._contract import CANARY_SCHEDULED_TIME_ATTRIBUTE
from genba_constructs.sync_verification._queues import SyncQueues, grant_send

if TYPE_CHECKING:
    from genba_constructs.sync_verification import SyncVerification


@dataclass(frozen=True)
class Canary:
    schedule: scheduler.Schedule
    dead_letter_queue: sqs.Queue


def build_canary(sync: SyncVerification, *, interval: Duration, version_attribute: str, queues: SyncQueues) -> Canary:
    """The canary schedule, its role and its dead-letter queue: it writes ``sync``'s canary item to its source table."""
    subject, table, key = sync.subject, sync.source_table, sync.canary_key
    dead_letter_queue = queues.dead_letter(
        "CanaryDeadLetterQueue",
        unrecognised_use="This queue is the canary schedule's dead-letter queue (EventBridge Scheduler target DLQ), "
        "which cdk-nag does not recognise as a DLQ use.",
    )
    role = iam.Role(
        sync,
        "CanaryRole",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(sync).account}},
        ),
        description=f"genba sync canary ({subject}): writes the canary item",
    )
    grant_send(role, dead_letter_queue)
    acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", REASON_INLINE_POLICY)
    schedule = scheduler.Schedule(
        sync,
        "CanarySchedule",
        description=f"genba sync canary ({subject}): bumps the canary item's version in the source table",
        schedule=scheduler.ScheduleExpression.rate(interval),
        target=scheduler_targets.Universal(
            service="dynamodb",
            action="updateItem",
            input=scheduler.ScheduleTargetInput.from_object(
                {
                    "TableName": table.table_name,
                    "Key": key,
                    "UpdateExpression": "ADD #v :one SET #t = :t",
                    "ExpressionAttributeNames": {"#v": version_attribute, "#t": CANARY_SCHEDULED_TIME_ATTRIBUTE},
                    "ExpressionAttributeValues": {
                        ":one": {"N": "1"},
                        ":t": {"S": scheduler.ContextAttribute.scheduled_time},
                    },
                }
            ),
            policy_statements=[canary_update_statement(table, key)],
            dead_letter_queue=dead_letter_queue,
            role=role,
            retry_attempts=2,
            max_event_age=Duration.minutes(5),
        ),
    )
    return Canary(schedule=schedule, dead_letter_queue=dead_letter_queue)


def canary_update_statement(table: dynamodb.ITable, key: dict[str, dict[str, str]]) -> iam.PolicyStatement:
    """UpdateItem on the canary item only: ``dynamodb:LeadingKeys`` pins the partition key value.

    The canary role writes into the (production) user table; without the condition it could
    rewrite any user's item.
    """
    partition_value = next(iter(next(iter(key.values())).values()))
    return iam.PolicyStatement(
        actions=["dynamodb:UpdateItem"],
        resources=[table.table_arn],
        conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [partition_value]}},
    )
