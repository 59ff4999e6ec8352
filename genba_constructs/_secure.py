"""genba's secure building blocks: each default written once (in the spirit of aws-solutions-constructs' core).

Every construct that needs one of these takes it from here, so that a secure default is
decided in one place and reviewed once. The buckets (the access-logs bucket, an encrypted bucket
with lifecycle, S3 server access logging without ACLs) are in ``_secure_buckets`` and taken from
here as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genba_constructs._secure_buckets import (
    REASON_ACCESS_LOGS_LOOP,
    REASON_ACCESS_LOGS_SSE_S3,
    SERVER_ACCESS_LOGS_USE_BUCKET_POLICY,
    access_logs_bucket,
    access_logs_by_bucket_policy,
    encrypted_bucket,
    expiry_rule,
    finish_server_access_logging,
    server_access_logging,
)
from genba_constructs.alarms import AlarmSpec, Thresholds
from genba_constructs.handler_code import handler_code
from genba_constructs.handler_runtime import ARCHITECTURE, PYTHON_RUNTIME, handler_layers
from genba_constructs.nag import acknowledge

__all__ = [
    "PINNED_RUNTIME_RULES",
    "REASON_ACCESS_LOGS_LOOP",
    "REASON_ACCESS_LOGS_SSE_S3",
    "REASON_DLQ_END_OF_CHAIN",
    "REASON_INLINE_POLICY",
    "REASON_PINNED_RUNTIME",
    "REASON_XRAY_NO_RESOURCE",
    "SERVER_ACCESS_LOGS_USE_BUCKET_POLICY",
    "access_logs_bucket",
    "access_logs_by_bucket_policy",
    "dead_letter_queue",
    "dlq_not_empty_spec",
    "encrypted_bucket",
    "expiry_rule",
    "finish_server_access_logging",
    "function_log_group",
    "function_role",
    "genba_function",
    "recoverable_table",
    "rotated_key",
    "server_access_logging",
    "write_own_logs",
]

# ---------------------------------------------------------------- cdk-nag reasons written once
#: A role's inline policy that is its own least-privilege grants.
REASON_INLINE_POLICY = (
    "The statements are least-privilege grants for this one role's resources, created and deleted "
    "with it; as a managed policy they could be attached elsewhere."
)
#: The pinned Python runtime (AwsSolutions-L1, Serverless-LambdaLatestVersion).
REASON_PINNED_RUNTIME = (
    "The runtime is pinned in genba_constructs/handler_runtime.py to the newest Python for which "
    "the pinned Powertools layer is published; it moves with that layer."
)
#: X-Ray's trace actions take no resource (AwsSolutions-IAM5 on ``Resource::*``).
REASON_XRAY_NO_RESOURCE = (
    "Only X-Ray's xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) are on '*': the "
    "Service Authorization Reference lists no resource type for either; every other statement names its resources."
)
#: A dead-letter queue has none of its own (Serverless-SQSRedrivePolicy).
REASON_DLQ_END_OF_CHAIN = (
    "This queue is a dead-letter queue, the end of its chain: its messages wait for a person, "
    "and its 'DLQ not empty' alarm calls one."
)
#: The rules a pinned runtime answers.
PINNED_RUNTIME_RULES = ("AwsSolutions-L1", "Serverless-LambdaLatestVersion")


# ---------------------------------------------------------------- KMS
def rotated_key(scope: Construct, id: str, *, description: str, removal: RemovalPolicy) -> kms.Key:
    """A customer managed key with yearly rotation that follows ``removal``.

    A retained key waits the longest pending window (30 days) before deletion, so a mistaken
    delete can be undone; a destroyable (development) key the shortest (7 days).
    """
    return kms.Key(
        scope,
        id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal,
        pending_window=Duration.days(30) if removal == RemovalPolicy.RETAIN else Duration.days(7),
    )


# ---------------------------------------------------------------- SQS
def dead_letter_queue(
    scope: Construct,
    id: str,
    *,
    key: kms.IKey | None,
    removal: RemovalPolicy,
    reason: str = REASON_DLQ_END_OF_CHAIN,
    unrecognised_use: str | None = None,
) -> sqs.Queue:
    """A dead-letter queue: KMS with ``key`` (else SQS-managed), TLS only, 14 days, acknowledged as a chain end.

    :param reason: why it has no dead-letter queue of its own (Serverless-SQSRedrivePolicy).
        Default: :data:`REASON_DLQ_END_OF_CHAIN`.
    :param unrecognised_use: where the queue is a DLQ in a way cdk-nag does not recognise (an SNS
        subscription's, a scheduler's), the reason for AwsSolutions-SQS3. Default: none.
    """
    queue = sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.KMS if key is not None else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        removal_policy=removal,
    )
    if unrecognised_use is not None:
        acknowledge(queue, "AwsSolutions-SQS3", unrecognised_use)
    acknowledge(queue, "Serverless-SQSRedrivePolicy", reason)
    return queue


def dlq_not_empty_spec(
    queue: sqs.IQueue, *, summary: str, first_check: str, subject: str | None = None, group: str | None = None
) -> AlarmSpec:
    """The 'DLQ not empty' alarm: any visible message (5-minute average above 0); an idle queue is fine."""
    return AlarmSpec(
        runbook="dlq-not-empty",
        summary=summary,
        first_check=first_check,
        metric=queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
        thresholds=Thresholds(critical=0),
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        subject=subject,
        group=group,
    )


# ---------------------------------------------------------------- Lambda
def function_role(scope: Construct, id: str, *, description: str) -> iam.Role:
    """An explicit role for one function, instead of AWSLambdaBasicExecutionRole's logs:* on every log group."""
    return iam.Role(scope, id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description)


def function_log_group(
    scope: Construct,
    id: str,
    *,
    key: kms.IKey,
    retention: logs.RetentionDays,
    removal: RemovalPolicy,
    masking: logs.DataProtectionPolicy | None = None,
) -> logs.LogGroup:
    """A function's own encrypted log group, with explicit retention (and a masking policy where given)."""
    return logs.LogGroup(
        scope, id, retention=retention, encryption_key=key, removal_policy=removal, data_protection_policy=masking
    )


def write_own_logs(role: iam.Role, log_group: logs.ILogGroup, *, sid: str | None = None) -> None:
    """Let ``role`` write to ``log_group`` only (its Arn attribute ends in ":*", its streams)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid=sid, actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
        )
    )


def genba_function(
    scope: Construct,
    id: str,
    *,
    code: str,
    description: str,
    role: iam.IRole,
    log_group: logs.ILogGroup,
    timeout: Duration,
    environment: Mapping[str, str],
    reserved_concurrency: int,
    dead_letter_queue: sqs.IQueue | None = None,
    retry_attempts: int | None = None,
    vpc: ec2.IVpc | None = None,
    subnets: Sequence[ec2.ISubnet] = (),
    security_groups: Sequence[ec2.ISecurityGroup] | None = None,
) -> lambda_.Function:
    """A genba handler: genba's runtime, architecture and layers, ``index.handler`` of ``lambda/<code>``, 256 MB,
    active tracing, its own ``role`` and ``log_group``; the pinned runtime acknowledged.

    :param dead_letter_queue: for asynchronous invocations. Default: none.
    :param retry_attempts: of asynchronous invocations. Default: Lambda's (2).
    :param vpc: with ``subnets`` (and ``security_groups``): run in the VPC. Default: outside a VPC.
    """
    function = lambda_.Function(
        scope,
        id,
        description=description,
        runtime=PYTHON_RUNTIME,
        architecture=ARCHITECTURE,
        layers=handler_layers(scope),
        code=handler_code(code),
        handler="index.handler",
        role=role,
        timeout=timeout,
        memory_size=256,
        reserved_concurrent_executions=reserved_concurrency,
        # Active tracing: CDK grants xray:PutTraceSegments and xray:PutTelemetryRecords on '*', the
        # only resource they take (no resource type: Service Authorization Reference, list_awsx-ray.html).
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        environment=dict(environment),
        dead_letter_queue=dead_letter_queue,
        retry_attempts=retry_attempts,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)) if subnets else None,
        security_groups=list(security_groups) if security_groups is not None else None,
    )
    for rule in PINNED_RUNTIME_RULES:
        acknowledge(function, rule, REASON_PINNED_RUNTIME)
    return function


def network_interface_permissions(
    role: iam.Role, *, subnets: Sequence[ec2.ISubnet], security_groups: Sequence[ec2.ISecurityGroup]
) -> None:
    """What AWSLambdaVPCAccessExecutionRole grants for a function's network interfaces, narrowed.

    "Giving Lambda functions access to resources in an Amazon VPC" (Lambda developer guide,
    configuration-vpc) lists CreateNetworkInterface, DescribeNetworkInterfaces (only on "*"),
    DescribeSubnets, DeleteNetworkInterface (a network interface id, or all of them),
    AssignPrivateIpAddresses and UnassignPrivateIpAddresses. The managed policy allows them on
    "*", and logs:* on every log group: here creation is limited to the function's own subnets
    and security groups, the rest to network interfaces of this account and region.
    """
    stack = Stack.of(role)

    def ec2_arn(resource: str) -> str:
        return stack.format_arn(service="ec2", resource=resource)

    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="DescribeNetworkInterfaces",
            actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            resources=["*"],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="CreateOwnNetworkInterfaces",
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                ec2_arn("network-interface/*"),
                *(ec2_arn(f"subnet/{subnet.subnet_id}") for subnet in subnets),
                *(ec2_arn(f"security-group/{group.security_group_id}") for group in security_groups),
            ],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ManageNetworkInterfaces",
            actions=["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
            resources=[ec2_arn("network-interface/*")],
        )
    )


#: The IAM5 findings :func:`network_interface_permissions` leaves, with why each wildcard is needed.
REASON_NETWORK_INTERFACES = (
    "A function in a VPC: Lambda creates and deletes its network interfaces, whose ids are only "
    "known then (network-interface/* of this account and region); creation is limited to the "
    "function's own subnets and security groups."
)


def network_interface_finding(role: iam.Role) -> str:
    """The AwsSolutions-IAM5 finding id of ``network-interface/*`` as cdk-nag spells it for this stack."""
    from genba_constructs.log_archive._delivery import nag_arn  # the one renderer of finding ARNs

    return "Resource::" + nag_arn(role, Stack.of(role).format_arn(service="ec2", resource="network-interface/*"))


# ---------------------------------------------------------------- DynamoDB
def recoverable_table(
    scope: Construct,
    id: str,
    *,
    table_name: str | None,
    partition_key: dynamodb.Attribute,
    removal: RemovalPolicy,
    backup_reason: str,
    sort_key: dynamodb.Attribute | None = None,
    stream: dynamodb.StreamViewType | None = None,
) -> dynamodb.Table:
    """An on-demand table with point-in-time recovery, AWS-managed encryption, deletion protection when retained.

    :param backup_reason: why it is in no AWS Backup plan (acknowledged on the table).
    :param stream: the stream's view type. Default: no stream.
    """
    table = dynamodb.Table(
        scope,
        id,
        table_name=table_name,
        partition_key=partition_key,
        sort_key=sort_key,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        stream=stream,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        removal_policy=removal,
        deletion_protection=removal == RemovalPolicy.RETAIN,
    )
    acknowledge(table, "NIST.800.53.R5-DynamoDBInBackupPlan", backup_reason)
    return table
