"""The KMS key of genba's log groups: rotated, and usable by CloudWatch Logs for this account's log groups only.

Taken from ``genba_constructs.service_log_group`` (its public import path).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from genba_constructs._policies import any_log_group_arn
from genba_constructs._secure import rotated_key


def log_group_encryption_key(scope: Construct, id: str, *, removal_policy: RemovalPolicy) -> kms.Key:
    """A rotated KMS key that CloudWatch Logs may use for this account's log groups."""
    stack = Stack.of(scope)
    key = rotated_key(scope, id, description=f"Encrypts the log groups of {stack.stack_name}", removal=removal_policy)
    allow_cloudwatch_logs_to_use(key)
    return key


def allow_cloudwatch_logs_to_use(key: kms.Key) -> None:
    """Let CloudWatch Logs encrypt this account's log groups (in the key's region) with ``key``."""
    key.add_to_resource_policy(cloudwatch_logs_key_statement(Stack.of(key)))


def cloudwatch_logs_key_statement(stack: Stack) -> iam.PolicyStatement:
    """The key-policy statement that lets CloudWatch Logs use a key for this account's log groups."""
    return iam.PolicyStatement(
        sid="AllowCloudWatchLogsToUseTheKey",
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
        actions=[
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
            "kms:GenerateDataKey",
            "kms:DescribeKey",
        ],
        resources=["*"],
        conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": any_log_group_arn(stack)}},
    )
