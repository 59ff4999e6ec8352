"""genba's secure building blocks: each default written once (in the spirit of aws-solutions-constructs' core).

Every construct that needs one of these takes it from here, so that a secure default is
decided in one place and reviewed once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, FeatureFlags, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genba_constructs.alarms import AlarmSpec, Thresholds
from genba_constructs.handler_code import handler_code
from genba_constructs.handler_runtime import ARCHITECTURE, PYTHON_RUNTIME, handler_layers
from genba_constructs.nag import acknowledge

SERVER_ACCESS_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


def access_logs_by_bucket_policy(scope: Construct) -> bool:
    """Whether CDK itself grants S3 server access log delivery by bucket policy (the feature flag)."""
    return bool(FeatureFlags.of(scope).is_enabled(SERVER_ACCESS_LOGS_USE_BUCKET_POLICY))


def server_access_logging(bucket: s3.Bucket, access_logs: s3.IBucket, prefix: str) -> None:
    """S3 server access logs of ``bucket`` into ``access_logs``, delivered by bucket policy.

    With the feature flag ``serverAccessLogsUseBucketPolicy`` (genba's own cdk.json) CDK does
    this itself when the bucket is made with ``server_access_logs_bucket``: call this only
    without the flag. Without it CDK would grant delivery with the legacy LogDeliveryWrite ACL
    (cfn-lint W3045, and ACLs need ObjectWriter ownership); this sets the logging
    configuration and the same policy statement CDK writes with the flag, so every app gets
    ACL-free delivery. "Enabling Amazon S3 server access logging" (S3 User Guide) gives the
    statement: principal logging.s3.amazonaws.com, s3:PutObject on the prefix, with
    aws:SourceArn and aws:SourceAccount conditions.
    """
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
        destination_bucket_name=access_logs.bucket_name, log_file_prefix=prefix
    )
    access_logs.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[access_logs.arn_for_objects(f"{prefix}*")],
            conditions={
                "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                "StringEquals": {"aws:SourceAccount": Stack.of(bucket).account},
            },
        )
    )


def finish_server_access_logging(bucket: s3.Bucket, access_logs: s3.IBucket, prefix: str) -> None:
    """S3 server access logging without ACLs, for a bucket made with ``server_access_logs_bucket`` only
    where :func:`access_logs_by_bucket_policy` (CDK then grants it itself)."""
    if not access_logs_by_bucket_policy(bucket):
        server_access_logging(bucket, access_logs, prefix)


# ---------------------------------------------------------------- cdk-nag reasons written once
#: S3 server access logs: the destination bucket cannot use SSE-KMS.
REASON_ACCESS_LOGS_SSE_S3 = "S3 delivers server access logs only to buckets encrypted with SSE-S3, not SSE-KMS."
#: S3 server access logs: logging the access-logs bucket itself would loop.
REASON_ACCESS_LOGS_LOOP = "This bucket is the destination of server access logs; logging it into itself would loop."
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


# ---------------------------------------------------------------- S3
_ENFORCED = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED


def access_logs_bucket(
    scope: Construct,
    id: str,
    *,
    removal: RemovalPolicy,
    replication_reason: str,
    expire_after_days: int | None = None,
    minimum_tls_version: float | None = 1.2,
    object_ownership: s3.ObjectOwnership | None = _ENFORCED,
    auto_delete_objects: bool = False,
) -> s3.Bucket:
    """The bucket S3 server access logs go to: SSE-S3 (the only encryption S3 delivers to), versioned, TLS only.

    Delivery is granted by bucket policy in every app (CDK does it with the feature flag
    serverAccessLogsUseBucketPolicy, :func:`server_access_logging` without it), so ACLs stay off.

    :param replication_reason: why its logs need no second region (acknowledged on the bucket).
    :param expire_after_days: expire logs (and noncurrent versions after 30 days). Default: kept.
    :param minimum_tls_version: deny older TLS in the bucket policy. Default: 1.2.
    :param object_ownership: Default: bucket owner enforced (no ACLs).
    """
    rules = None
    if expire_after_days is not None:
        rules = [
            s3.LifecycleRule(
                id="expire",
                expiration=Duration.days(expire_after_days),
                noncurrent_version_expiration=Duration.days(30),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ]
    bucket = s3.Bucket(
        scope,
        id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        minimum_tls_version=minimum_tls_version,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=object_ownership,
        versioned=True,
        removal_policy=removal,
        auto_delete_objects=auto_delete_objects or None,
        lifecycle_rules=rules,
    )
    acknowledge(bucket, "AwsSolutions-S1", REASON_ACCESS_LOGS_LOOP)
    acknowledge(bucket, "NIST.800.53.R5-S3BucketLoggingEnabled", REASON_ACCESS_LOGS_LOOP)
    acknowledge(bucket, "NIST.800.53.R5-S3DefaultEncryptionKMS", REASON_ACCESS_LOGS_SSE_S3)
    acknowledge(bucket, "NIST.800.53.R5-S3BucketReplicationEnabled", replication_reason)
    return bucket


def encrypted_bucket(
    scope: Construct,
    id: str,
    *,
    key: kms.IKey,
    access_logs: s3.IBucket,
    access_logs_prefix: str,
    removal: RemovalPolicy,
    replication_reason: str,
    lifecycle_rules: Sequence[s3.LifecycleRule] | None = None,
    object_lock_retention: s3.ObjectLockRetention | None = None,
    minimum_tls_version: float | None = 1.2,
    auto_delete_objects: bool = False,
) -> s3.Bucket:
    """A KMS bucket (bucket key), versioned, TLS only, no public access, no ACLs, access-logged without ACLs.

    :param replication_reason: why it needs no cross-region replication (acknowledged on the bucket).
    :param lifecycle_rules: Default: none.
    :param object_lock_retention: turns on object lock with this default retention. Default: no lock.
    :param minimum_tls_version: deny older TLS in the bucket policy. Default: 1.2.
    """
    by_policy = access_logs_by_bucket_policy(scope)
    bucket = s3.Bucket(
        scope,
        id,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        enforce_ssl=True,
        minimum_tls_version=minimum_tls_version,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=_ENFORCED,
        versioned=True,
        object_lock_enabled=True if object_lock_retention is not None else None,
        object_lock_default_retention=object_lock_retention,
        # Where CDK grants access-log delivery by bucket policy itself (the feature flag); else
        # genba does, without ACLs, below.
        server_access_logs_bucket=access_logs if by_policy else None,
        server_access_logs_prefix=access_logs_prefix if by_policy else None,
        removal_policy=removal,
        # Emptied (every version) before CloudFormation deletes it: only where the stack may be destroyed.
        auto_delete_objects=auto_delete_objects or None,
        lifecycle_rules=list(lifecycle_rules) if lifecycle_rules is not None else None,
    )
    finish_server_access_logging(bucket, access_logs, access_logs_prefix)
    acknowledge(bucket, "NIST.800.53.R5-S3BucketReplicationEnabled", replication_reason)
    return bucket


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
