"""Where what Firehose cannot deliver into OpenSearch goes, each failure under its own name.

Documents OpenSearch still rejects after the retries land under ``search-failed/<index_name>/``
of the backup bucket (:func:`new_backup_bucket`, or the log archive), records that fail before
delivery (processing errors) under ``search-errors/<index_name>/``, and every delivery error is
logged to its own log group (:func:`new_delivery_errors`). ``_ingestion`` points the delivery
stream and its role at these; the resources are made directly in the LogSearch construct
(construct ids are a contract).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genba_constructs._secure import access_logs_bucket, access_logs_by_bucket_policy, encrypted_bucket


def backup_prefix(index_name: str) -> str:
    """Where failed documents land in the backup bucket (Firehose adds YYYY/MM/DD/HH/)."""
    return f"search-failed/{index_name}/"


def error_prefix(index_name: str) -> str:
    """Where records that failed before delivery (processing errors) land."""
    return f"search-errors/{index_name}/"


def new_backup_bucket(scope: Construct, *, encryption_key: kms.IKey, removal: RemovalPolicy) -> s3.Bucket:
    """The default backup bucket: encrypted with the domain's key, versioned, TLS-only, access-logged."""
    # Access-log delivery is granted by bucket policy in every app, never by ACL: CDK does it
    # with its feature flag (and then S3's default ownership, owner enforced, applies), genba
    # without it (genba_constructs._secure), so ACLs stay off either way.
    by_policy = access_logs_by_bucket_policy(scope)
    access_logs = access_logs_bucket(
        scope,
        "BackupAccessLogs",
        removal=removal,
        minimum_tls_version=None,
        object_ownership=None if by_policy else s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        replication_reason="Access logs of the failed-document backup; cross-region replication is the log "
        "archive's concern.",
    )
    return encrypted_bucket(
        scope,
        "BackupBucket",
        key=encryption_key,
        access_logs=access_logs,
        access_logs_prefix="backup-bucket/",
        removal=removal,
        minimum_tls_version=None,
        replication_reason="Holds only documents OpenSearch rejected, for replay; cross-region durability is the "
        "log archive's job.",
    )


def new_delivery_errors(
    scope: Construct, *, retention: logs.RetentionDays, encryption_key: kms.IKey, removal: RemovalPolicy
) -> tuple[logs.LogGroup, logs.LogStream]:
    """The log group and stream Firehose logs its delivery errors to."""
    group = logs.LogGroup(
        scope, "DeliveryErrors", retention=retention, encryption_key=encryption_key, removal_policy=removal
    )
    stream = logs.LogStream(
        scope, "DeliveryErrorStream", log_group=group, log_stream_name="OpenSearchDelivery", removal_policy=removal
    )
    return group, stream


def prefix_reasons(index_name: str, bucket: str) -> dict[str, str]:
    """Why the delivery role writes ``<prefix>*`` for each of its two prefixes (AwsSolutions-IAM5)."""
    names = "Firehose names each object itself (the prefix, then the hour and a random suffix)"
    return {
        backup_prefix(index_name): f"Only the documents OpenSearch rejected, kept for replay, under this index's own "
        f"prefix of {bucket}: {names}.",
        error_prefix(index_name): f"Only the records Firehose could not process before delivery (its error output), "
        f"under this index's own prefix of {bucket}: {names}.",
    }
