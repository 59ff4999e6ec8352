"""The alarm topic: encrypted, TLS-only, usable by CloudWatch, nothing lost on delivery failure."""

from __future__ import annotations

import pytest
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from genba_constructs import AlarmTopic, GenbaPropsError


def topic_template(stack: Stack, **props: object) -> Template:
    AlarmTopic(stack, "Alarms", email_addresses=["oncall@example.com"], **props)  # type: ignore[arg-type]
    return Template.from_stack(stack)


def test_topic_is_encrypted_with_a_rotated_customer_managed_key(fresh_stack: Stack) -> None:
    template = topic_template(fresh_stack)
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": Match.object_like({"Fn::GetAtt": Match.any_value()})}
    )


def test_key_and_dead_letter_queue_are_retained_by_default(fresh_stack: Stack) -> None:
    template = topic_template(fresh_stack)
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    template.has_resource("AWS::SQS::Queue", {"DeletionPolicy": "Retain"})


def test_dev_may_opt_into_destroy(fresh_stack: Stack) -> None:
    template = topic_template(fresh_stack, removal_policy=RemovalPolicy.DESTROY)
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Delete"})


def test_topic_denies_publishing_without_tls(fresh_stack: Stack) -> None:
    topic_template(fresh_stack).has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_cloudwatch_alarms_may_use_the_key(fresh_stack: Stack) -> None:
    topic_template(fresh_stack).has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowCloudWatchAlarmsToUseTheKey",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                            }
                        )
                    ]
                )
            }
        },
    )


def test_email_subscription_has_a_dead_letter_queue_with_an_alarm(fresh_stack: Stack) -> None:
    template = topic_template(fresh_stack)
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": "oncall@example.com",
            "RedrivePolicy": {"deadLetterTargetArn": Match.any_value()},
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": Match.any_value()}],
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        },
    )


def test_existing_topic_is_used_as_it_is(fresh_stack: Stack) -> None:
    existing = sns.Topic.from_topic_arn(fresh_stack, "Existing", "arn:aws:sns:ap-northeast-1:123456789012:ops")
    alarm_topic = AlarmTopic(fresh_stack, "Alarms", topic=existing, email_addresses=["oncall@example.com"])
    assert alarm_topic.topic is existing
    template = Template.from_stack(fresh_stack)
    template.resource_count_is("AWS::SNS::Topic", 0)
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"TopicArn": "arn:aws:sns:ap-northeast-1:123456789012:ops"}
    )


def test_fails_when_both_existing_topic_and_new_topic_props_are_given(fresh_stack: Stack) -> None:
    existing = sns.Topic.from_topic_arn(fresh_stack, "Existing", "arn:aws:sns:ap-northeast-1:123456789012:ops")
    key = kms.Key(fresh_stack, "Key")
    with pytest.raises(GenbaPropsError, match=r"either topic .* or encryption_key"):
        AlarmTopic(fresh_stack, "Alarms", topic=existing, encryption_key=key)


@pytest.mark.parametrize("bad", [["not-an-address"], "oncall@example.com"])
def test_fails_bad_email_addresses(fresh_stack: Stack, bad: object) -> None:
    with pytest.raises(GenbaPropsError, match="email_addresses"):
        AlarmTopic(fresh_stack, "Alarms", email_addresses=bad)  # type: ignore[arg-type]
