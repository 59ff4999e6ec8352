"""genba's secure building blocks: each default written once (in the spirit of aws-solutions-constructs' core).

Every construct that needs one of these takes it from here, so that a secure default is
decided in one place and reviewed once.
"""

from __future__ import annotations

from aws_cdk import FeatureFlags, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

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
