"""The alarm notification target: a KMS-encrypted, TLS-only SNS topic."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genba_constructs._policies import service_statement
from genba_constructs._secure import dead_letter_queue, dlq_not_empty_spec, rotated_key
from genba_constructs._types import checked, register_coercion
from genba_constructs._validation import EMAIL_PATTERN, GenbaPropsError, require_either
from genba_constructs.alarms import DEFAULT_RUNBOOK_URL, AlarmFactory, AlarmSet

#: What a service needs of a key to write encrypted messages (SNS topic, SQS queue).
_USE_KEY = ["kms:Decrypt", "kms:GenerateDataKey"]


class AlarmTopic(Construct):
    """An SNS topic for alarm and OK notifications.

    Self-contained by default: a customer-managed KMS key (rotated, usable by CloudWatch
    alarms), a topic that denies publishing without TLS, and e-mail subscriptions whose
    undeliverable notifications go to a dead-letter queue with a "DLQ not empty" alarm (which
    also opens an OpsCenter OpsItem: its notification through this topic may be what fails).

    :param topic: an existing topic to notify instead of creating one. Default: create one.
    :param encryption_key: the key for a new topic. Default: a new rotated KMS key.
    :param display_name: the new topic's display name (the e-mail sender name). Default: none.
    :param email_addresses: addresses subscribed to the topic. Default: none.
    :param removal_policy: for the key (the topic holds no data). Default: RETAIN.
    :param alarm_name_prefix: first part of the names of alarms made by ``alarm_factory``.
        Default: the stack name.
    :param runbook_url: the runbook those alarms link. Default: genba's ``docs/runbooks.md``.

    ``alarm_factory`` makes alarms that notify this topic on ALARM and on OK; pass it to
    every genba construct so that all alarms of an environment share one topic and one list.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        display_name: str | None = None,
        email_addresses: Sequence[str] = (),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        alarm_name_prefix: str | None = None,
        runbook_url: str = DEFAULT_RUNBOOK_URL,
    ) -> None:
        require_either(
            "AlarmTopic", ("topic", topic), [("encryption_key", encryption_key), ("display_name", display_name)]
        )
        if isinstance(email_addresses, str):
            raise GenbaPropsError(f"AlarmTopic: email_addresses={email_addresses!r} must be a list of addresses")
        for address in email_addresses:
            if not isinstance(address, str) or not re.fullmatch(EMAIL_PATTERN, address):
                raise GenbaPropsError(f"AlarmTopic: email_addresses contains {address!r}, not an e-mail address")
        super().__init__(scope, id)

        self.encryption_key: kms.IKey | None = None
        if topic is None:
            key = encryption_key or rotated_key(
                self,
                "Key",
                description=f"Encrypts the alarm topic of {Stack.of(self).stack_name}",
                removal=removal_policy,
            )
            # CloudWatch alarms publish to the topic as the service: it must be able to
            # use the key, or every notification is silently dropped.
            self._allow_alarm_service(key, "AllowCloudWatchAlarmsToUseTheKey", "cloudwatch", _USE_KEY, ["*"])
            new_topic = sns.Topic(self, "Resource", master_key=key, enforce_ssl=True, display_name=display_name)
            self._allow_alarm_service(
                new_topic, "AllowCloudWatchAlarmsToPublish", "cloudwatch", ["sns:Publish"], [new_topic.topic_arn]
            )
            self.encryption_key = key
            topic = new_topic
        self.topic: sns.ITopic = topic
        self.alarm_action = cloudwatch_actions.SnsAction(self.topic)
        self.alarm_factory = AlarmFactory(
            name_prefix=_name_prefix(alarm_name_prefix, Stack.of(self).stack_name),
            actions=[self.alarm_action],
            runbook_url=runbook_url,
        )

        self.dead_letter_queue: sqs.Queue | None = None
        #: the alarms of the topic itself: the dead-letter queue's, when there is one.
        self.alarms = AlarmSet()
        if email_addresses:
            self.dead_letter_queue = self._dead_letter_queue(removal_policy)
            for address in email_addresses:
                self.topic.add_subscription(
                    subscriptions.EmailSubscription(address, dead_letter_queue=self.dead_letter_queue)
                )

    def _allow_alarm_service(
        self, resource: kms.IKey | sns.ITopic, sid: str, service: str, actions: list[str], resources: list[str]
    ) -> None:
        """Let an AWS service of the alarm path use ``resource`` for this stack's account only."""
        own_account = {"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
        resource.add_to_resource_policy(
            service_statement(sid=sid, service=service, actions=actions, resources=resources, conditions=own_account)
        )

    def _dead_letter_queue(self, removal_policy: RemovalPolicy) -> sqs.Queue:
        # A notification SNS could not deliver (a bounced or deleted address) must not vanish.
        queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            key=self.encryption_key,
            removal=removal_policy,
            reason="A dead-letter queue has no dead-letter queue of its own; its depth is alarmed instead.",
            unrecognised_use="This queue is itself the dead-letter queue of the alarm topic's subscriptions "
            "(an SNS redrive policy, which cdk-nag does not recognise).",
        )
        if self.encryption_key is not None:
            self._allow_alarm_service(self.encryption_key, "AllowSnsToWriteTheDeadLetterQueue", "sns", _USE_KEY, ["*"])
        # Other subscribers still receive this alarm when one address fails.
        self.alarms = self.alarm_factory.create_all(
            queue,
            subject="alarm-notifications",
            specs=[
                dlq_not_empty_spec(
                    queue,
                    summary="An alarm notification could not be delivered to a subscriber and waits in the DLQ.",
                    first_check="the subscription's endpoint (a bounced or unconfirmed e-mail address) in SNS.",
                )
            ],
        )
        # This alarm's own notification goes through the topic whose delivery is failing. Its
        # second path must not depend on SNS, the topic's key or any subscriber: an OpsCenter
        # OpsItem, which CloudWatch creates itself (a second topic would share the endpoints,
        # and often the failure).
        for alarm in self.alarms:
            alarm.add_alarm_action(
                cloudwatch_actions.SsmAction(
                    cloudwatch_actions.OpsItemSeverity.HIGH, cloudwatch_actions.OpsItemCategory.AVAILABILITY
                )
            )
        return queue


def _name_prefix(given: str | None, stack_name: str) -> str:
    if given is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", given):
        raise GenbaPropsError(f"AlarmTopic: alarm_name_prefix={given!r} must be 1-100 letters, digits, '-', '_' or '.'")
    return given or stack_name


# Where a topic, an alarm action or an alarm factory goes, an AlarmTopic stands for its own.
register_coercion(AlarmTopic, sns.ITopic, lambda topic: topic.topic)
register_coercion(AlarmTopic, cloudwatch.IAlarmAction, lambda topic: topic.alarm_action)
register_coercion(AlarmTopic, AlarmFactory, lambda topic: topic.alarm_factory)
