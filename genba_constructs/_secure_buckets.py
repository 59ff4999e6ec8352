"""genba's secure buckets: the access-logs bucket, an encrypted bucket with lifecycle, access logging without ACLs.

Part of the secure building blocks (taken from ``genba_constructs._secure``): every bucket
genba makes is versioned, TLS only, without public access, and follows its ``removal``
policy; these settings are written once, in :func:`_bucket`.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, FeatureFlags, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

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


#: S3 server access logs: the destination bucket cannot use SSE-KMS.
REASON_ACCESS_LOGS_SSE_S3 = "S3 delivers server access logs only to buckets encrypted with SSE-S3, not SSE-KMS."
#: S3 server access logs: logging the access-logs bucket itself would loop.
REASON_ACCESS_LOGS_LOOP = "This bucket is the destination of server access logs; logging it into itself would loop."

_ENFORCED = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED


def expiry_rule(
    id: str, *, expire_after_days: int, noncurrent_after_days: int, abort_uploads_after_days: int
) -> s3.LifecycleRule:
    """A lifecycle rule that deletes objects, replaced versions and unfinished uploads after so many days."""
    return s3.LifecycleRule(
        id=id,
        expiration=Duration.days(expire_after_days),
        noncurrent_version_expiration=Duration.days(noncurrent_after_days),
        abort_incomplete_multipart_upload_after=Duration.days(abort_uploads_after_days),
    )


def _bucket(
    scope: Construct,
    id: str,
    *,
    removal: RemovalPolicy,
    minimum_tls_version: float | None,
    object_ownership: s3.ObjectOwnership | None,
    auto_delete_objects: bool,
    lifecycle_rules: Sequence[s3.LifecycleRule] | None,
    key: kms.IKey | None = None,
    object_lock_retention: s3.ObjectLockRetention | None = None,
    access_logs: s3.IBucket | None = None,
    access_logs_prefix: str | None = None,
) -> s3.Bucket:
    """Every genba bucket: versioned, TLS only, no public access; KMS with a bucket key where ``key`` is given,
    else SSE-S3."""
    return s3.Bucket(
        scope,
        id,
        encryption=s3.BucketEncryption.KMS if key is not None else s3.BucketEncryption.S3_MANAGED,
        encryption_key=key,
        bucket_key_enabled=True if key is not None else None,
        enforce_ssl=True,
        minimum_tls_version=minimum_tls_version,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=object_ownership,
        versioned=True,
        object_lock_enabled=True if object_lock_retention is not None else None,
        object_lock_default_retention=object_lock_retention,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_logs_prefix,
        removal_policy=removal,
        # Emptied (every version) before CloudFormation deletes it: only where the stack may be destroyed.
        auto_delete_objects=auto_delete_objects or None,
        lifecycle_rules=list(lifecycle_rules) if lifecycle_rules is not None else None,
    )


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
            expiry_rule(
                "expire", expire_after_days=expire_after_days, noncurrent_after_days=30, abort_uploads_after_days=7
            )
        ]
    bucket = _bucket(
        scope,
        id,
        removal=removal,
        minimum_tls_version=minimum_tls_version,
        object_ownership=object_ownership,
        auto_delete_objects=auto_delete_objects,
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
    # Where CDK grants access-log delivery by bucket policy itself (the feature flag); else
    # genba does, without ACLs, below.
    by_policy = access_logs_by_bucket_policy(scope)
    bucket = _bucket(
        scope,
        id,
        removal=removal,
        minimum_tls_version=minimum_tls_version,
        object_ownership=_ENFORCED,
        auto_delete_objects=auto_delete_objects,
        lifecycle_rules=lifecycle_rules,
        key=key,
        object_lock_retention=object_lock_retention,
        access_logs=access_logs if by_policy else None,
        access_logs_prefix=access_logs_prefix if by_policy else None,
    )
    finish_server_access_logging(bucket, access_logs, access_logs_prefix)
    acknowledge(bucket, "NIST.800.53.R5-S3BucketReplicationEnabled", replication_reason)
    return bucket
