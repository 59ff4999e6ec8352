"""The archive's key and buckets: the archive bucket itself, its access-logs bucket, and who may write to it.

Every resource here is a direct child of the ``LogArchive`` (``Key``, ``AccessLogs``,
``Resource``): their logical ids are a contract, so :class:`ArchiveBuckets` builds into the
archive's scope instead of being a construct of its own.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genba_constructs import archive_catalog as catalog
from genba_constructs._policies import TakesResourcePolicy, add_or_warn, service_statement
from genba_constructs._secure import access_logs_bucket as secure_access_logs_bucket
from genba_constructs._secure import (
    encrypted_bucket,
    rotated_key,
)
from genba_constructs.log_archive.lifecycle import ArchiveLifecycle
from genba_constructs.service_log_group import cloudwatch_logs_key_statement


class ArchiveBuckets:
    """The key, the access-logs bucket and the archive bucket (given or made), in the archive's scope.

    :param bucket: an existing archive bucket. Default: make one from ``lifecycle``.
    :param key: an existing key (imported keys get a warning with the statements to add). Default: a new rotated key.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        bucket: s3.IBucket | None,
        key: kms.IKey | None,
        lifecycle: ArchiveLifecycle,
        production: bool,
        removal: RemovalPolicy,
    ) -> None:
        self.key: kms.IKey = key or archive_key(scope, removal)
        add_or_warn(scope, self.key, cloudwatch_logs_key_statement(Stack.of(scope)), what="the archive key")
        self.access_logs = access_logs_bucket(scope, removal, lifecycle.expire_after_days)
        #: the object lock mode of the bucket made here (None for a given bucket: genba does not know it).
        self.object_lock_mode: str | None = None
        if bucket is None:
            # A destroyable archive (allow_destroy, never production) has no object lock: locked
            # versions cannot be deleted before their retention ends, so the stack could not be.
            destroyable = removal == RemovalPolicy.DESTROY and not production
            self.object_lock_mode = None if destroyable else lifecycle.lock_mode(production=production)
            bucket = archive_bucket(
                scope,
                key=self.key,
                access_logs=self.access_logs,
                lifecycle=lifecycle,
                mode=self.object_lock_mode,
                removal=removal,
            )
        self.bucket: s3.IBucket = bucket
        allow_vended_log_delivery(scope, bucket, self.key)


def archive_key(scope: Construct, removal: RemovalPolicy) -> kms.Key:
    """The rotated key of the bucket, Firehose output, Athena results and the error log."""
    return rotated_key(
        scope, "Key", description=f"Encrypts the log archive of {Stack.of(scope).stack_name}", removal=removal
    )


def access_logs_bucket(scope: Construct, removal: RemovalPolicy, expire_days: int) -> s3.Bucket:
    """The bucket S3 server access logs of the archive (and Athena results) go to."""
    # S3 server access logs can only be delivered to SSE-S3 buckets. Delivery is granted by
    # bucket policy in every app (genba_constructs._secure: CDK does it with the feature flag
    # serverAccessLogsUseBucketPolicy, genba without it), so ACLs stay off.
    return secure_access_logs_bucket(
        scope,
        "AccessLogs",
        removal=removal,
        auto_delete_objects=removal == RemovalPolicy.DESTROY,
        expire_after_days=expire_days,
        replication_reason="Server access logs are a secondary record of the requests made to the archive (the "
        "archive is the record that matters); a second region's bucket for them is not worth its cost.",
    )


def archive_bucket(
    scope: Construct,
    *,
    key: kms.IKey,
    access_logs: s3.IBucket,
    lifecycle: ArchiveLifecycle,
    mode: str | None,
    removal: RemovalPolicy,
) -> s3.Bucket:
    """The archive bucket: KMS, versioned, TLS only, object lock (mode None: none), colder classes, expiry."""
    lock = Duration.days(lifecycle.object_lock_days)
    retention = (
        None
        if mode is None
        else s3.ObjectLockRetention.compliance(lock)
        if mode == "compliance"
        else s3.ObjectLockRetention.governance(lock)
    )
    bucket = encrypted_bucket(
        scope,
        "Resource",
        key=key,
        access_logs=access_logs,
        access_logs_prefix="archive/",
        removal=removal,
        object_lock_retention=retention,
        # Emptied (every version) before CloudFormation deletes it, where the stack may be destroyed.
        auto_delete_objects=removal == RemovalPolicy.DESTROY,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="colder-then-expire",
                transitions=[
                    s3.Transition(
                        storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                        transition_after=Duration.days(lifecycle.infrequent_access_after_days),
                    ),
                    # Glacier Instant Retrieval, not Flexible Retrieval: Athena reads it (it
                    # silently skips Flexible Retrieval and Deep Archive objects), so a query
                    # months back still finds its partitions, with no restore step.
                    s3.Transition(
                        storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                        transition_after=Duration.days(lifecycle.glacier_after_days),
                    ),
                ],
                expiration=Duration.days(lifecycle.expire_after_days),
                noncurrent_version_expiration=Duration.days(lifecycle.noncurrent_versions_expire_after_days),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            ),
            s3.LifecycleRule(id="remove-expired-delete-markers", expired_object_delete_marker=True),
        ],
        replication_reason=_archive_replication_reason(mode, lifecycle.object_lock_days),
    )
    drop_redundant_depends_on(scope)
    return bucket


def _archive_replication_reason(mode: str | None, lock_days: int) -> str:
    # The archive is the long tail (the only copy once a log group's retention has passed, and
    # CloudTrail's only copy): the reason names what protects it, lock or no lock.
    lock = (
        "no object lock in this environment (it may be destroyed)"
        if mode is None
        else f"object lock ({mode}, {lock_days} days) keeps every version from deletion"
    )
    return (
        "S3 keeps every object across at least three availability zones of the region, versioned, with "
        f"{lock}. A copy in a second region is an organization's decision (a replication rule into its "
        "log-archive account), made outside this construct."
    )


def drop_redundant_depends_on(scope: Construct) -> None:
    """The auto-delete provider's function names its role in DependsOn and GetAtt (cfn-lint W3005)."""
    provider = Stack.of(scope).node.try_find_child("Custom::S3AutoDeleteObjectsCustomResourceProvider")
    handler = provider.node.try_find_child("Handler") if provider is not None else None
    if isinstance(handler, CfnResource):
        handler.add_deletion_override("DependsOn")


def allow_vended_log_delivery(scope: Construct, bucket: s3.IBucket, key: kms.IKey) -> None:
    """CloudWatch Logs vended deliveries (data protection audit findings) write under AWSLogs/."""
    source = {
        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:logs:{Stack.of(scope).region}:{Aws.ACCOUNT_ID}:*"},
    }
    own_account = {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
    objects = bucket.arn_for_objects(f"{catalog.VENDED_LOGS_PREFIX}{Aws.ACCOUNT_ID}/*")
    encrypt = ["kms:GenerateDataKey", "kms:Decrypt"]
    # (bucket or key, sid, actions, resources, conditions); ListBucket too: without it the
    # delivery logs AccessDenied in CloudTrail.
    grants: list[tuple[TakesResourcePolicy, str, list[str], list[str], dict[str, Any]]] = [
        (bucket, "AWSLogDeliveryAclCheck", ["s3:GetBucketAcl", "s3:ListBucket"], [bucket.bucket_arn], source),
        (bucket, "AWSLogDeliveryWrite", ["s3:PutObject"], [objects], source),
        (key, "AllowLogDeliveryToEncryptArchiveObjects", encrypt, ["*"], own_account),
    ]
    for target, sid, actions, resources, conditions in grants:
        statement = service_statement(
            sid=sid, service="delivery.logs", actions=actions, resources=resources, conditions=conditions
        )
        add_or_warn(scope, target, statement, what="the archive key" if target is key else "the archive bucket")
