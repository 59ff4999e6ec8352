"""How logs get into OpenSearch: CloudWatch Logs subscription -> Firehose -> the domain (failures -> S3).

A log group is subscribed (:func:`subscribe`) with a role CloudWatch Logs assumes to put its
records on the Firehose delivery stream (:func:`new_subscription_role`). Firehose
(:func:`new_delivery_stream`) gunzips each record, keeps each event's message, buffers, and bulk-
indexes into ``<index_name>-YYYY-MM-DD`` (daily rotation). A bulk request that fails is
retried for ``retry_duration``; what still fails goes where ``_failed_delivery`` says (the
rejected documents and the processing errors under their own prefixes of the backup bucket,
delivery errors to their own log group). The delivery role may write only into the domain's
indices (the security plugin maps it to a writer role, see ``_index_policy``) and those two
prefixes. The stream's metrics: ``genba_constructs._firehose.delivery_metric``.

Everything is made directly in the LogSearch construct: construct ids are a contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IDependable

from genba_constructs._firehose import FIREHOSE_NAMESPACE, cloudwatch_logs_processing, delivery_metric
from genba_constructs._policies import any_log_group_arn
from genba_constructs.log_search._domain import acknowledge_domain_paths, acknowledge_inline_policy, grant_http
from genba_constructs.log_search._failed_delivery import (
    backup_prefix,
    error_prefix,
    new_backup_bucket,
    new_delivery_errors,
    prefix_reasons,
)
from genba_constructs.nag import acknowledge

if TYPE_CHECKING:
    from genba_constructs.log_search import LogSearch

# What LogSearch builds its ingestion with: this module's own pieces, the failure path
# (``_failed_delivery``) and the stream's metric (``_firehose``), all read as ``_ingestion.*``.
__all__ = [
    "FIREHOSE_NAMESPACE",
    "acknowledge_ingestion_roles",
    "backup_prefix",
    "default_policy",
    "delivery_metric",
    "error_prefix",
    "new_backup_bucket",
    "new_delivery_errors",
    "new_delivery_role",
    "new_delivery_stream",
    "new_subscription_role",
    "prefix_reasons",
    "subscribe",
]


def new_delivery_role(scope: Construct, *, domain_name: str) -> iam.Role:
    """The role Firehose delivers with (only this account's Firehose may assume it)."""
    return iam.Role(
        scope,
        "DeliveryRole",
        assumed_by=iam.ServicePrincipal(
            "firehose.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}}
        ),
        description=f"Firehose delivery into {domain_name} and failed documents into S3",
    )


def _allow_delivery(
    role: iam.Role,
    *,
    domain_arn: str,
    index_name: str,
    backup_bucket: s3.IBucket,
    log_group: logs.ILogGroup,
    in_vpc: bool,
) -> None:
    """The delivery role's policy: describe and write the domain, back up into S3, log errors, ENIs in the VPC."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="DescribeDomain",
            actions=["es:DescribeDomain", "es:DescribeDomains", "es:DescribeDomainConfig"],
            # The describe actions authorize against the domain resource itself, never a REST path.
            resources=[domain_arn],
        )
    )
    grant_http(role, domain_arn, ("es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut"))
    own_prefixes = (backup_prefix(index_name), error_prefix(index_name))
    # Firehose locates the bucket and its unfinished uploads (neither takes an s3:prefix
    # condition), lists only its own prefixes, and reads and writes objects only under them.
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="LocateBackupBucket",
            actions=["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
            resources=[backup_bucket.bucket_arn],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ListOwnPrefixes",
            actions=["s3:ListBucket"],
            resources=[backup_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in own_prefixes]}},
        )
    )
    # A prefix, not object names: Firehose names each object itself (prefix, date, random suffix).
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="BackupFailedDocuments",
            actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            resources=[backup_bucket.arn_for_objects(f"{prefix}*") for prefix in own_prefixes],
        )
    )
    if backup_bucket.encryption_key is not None:
        # The bucket's key only as S3 uses it on Firehose's behalf (never a direct KMS call).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="BackupBucketKeyViaS3",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[backup_bucket.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Stack.of(role).region}.amazonaws.com"}},
            )
        )
    role.add_to_principal_policy(
        iam.PolicyStatement(sid="LogDeliveryErrors", actions=["logs:PutLogEvents"], resources=[log_group.log_group_arn])
    )
    if in_vpc:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DeliverIntoTheVpc",
                actions=[
                    "ec2:DescribeVpcs",
                    "ec2:DescribeVpcAttribute",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                ],
                resources=["*"],  # ENIs Firehose creates do not exist yet: EC2 takes no narrower resource
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "Firehose creates and describes its network interfaces in the VPC; these EC2 actions take no "
            "resource narrower than '*'.",
            finding="Resource::*",
        )


def new_delivery_stream(
    search: LogSearch, *, buffer_interval: Duration, retry_duration: Duration
) -> firehose.CfnDeliveryStream:
    """The Firehose delivery stream into the domain (an L1: the Firehose L2 has no OpenSearch destination).

    Made after the search's domain, backup bucket, delivery role and error log (``LogSearch._build_ingestion``).
    """
    role, index_name, backup_bucket = search.delivery_role, search.index_name, search.backup_bucket
    log_group, subnets, security_group = search.delivery_log_group, search.subnets, search.security_group
    _allow_delivery(
        role,
        domain_arn=search.domain_arn,
        index_name=index_name,
        backup_bucket=backup_bucket,
        log_group=log_group,
        in_vpc=bool(subnets),
    )
    bucket_key = backup_bucket.encryption_key
    stream_type = firehose.CfnDeliveryStream
    logging_options = stream_type.CloudWatchLoggingOptionsProperty(
        enabled=True,
        log_group_name=log_group.log_group_name,
        log_stream_name=search.delivery_log_stream.log_stream_name,
    )
    stream = stream_type(
        search,
        "DeliveryStream",
        delivery_stream_type="DirectPut",
        delivery_stream_encryption_configuration_input=stream_type.DeliveryStreamEncryptionConfigurationInputProperty(
            key_type="CUSTOMER_MANAGED_CMK", key_arn=search.encryption_key.key_arn
        ),
        amazonopensearchservice_destination_configuration=stream_type.AmazonopensearchserviceDestinationConfigurationProperty(
            domain_arn=search.domain.domain_arn,
            index_name=index_name,
            index_rotation_period="OneDay",
            role_arn=role.role_arn,
            buffering_hints=stream_type.AmazonopensearchserviceBufferingHintsProperty(
                interval_in_seconds=int(buffer_interval.to_seconds()), size_in_m_bs=5
            ),
            retry_options=stream_type.AmazonopensearchserviceRetryOptionsProperty(
                duration_in_seconds=int(retry_duration.to_seconds())
            ),
            s3_backup_mode="FailedDocumentsOnly",
            s3_configuration=stream_type.S3DestinationConfigurationProperty(
                bucket_arn=backup_bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=backup_prefix(index_name),
                error_output_prefix=error_prefix(index_name),
                compression_format="GZIP",
                buffering_hints=stream_type.BufferingHintsProperty(interval_in_seconds=300, size_in_m_bs=5),
                encryption_configuration=stream_type.EncryptionConfigurationProperty(
                    kms_encryption_config=stream_type.KMSEncryptionConfigProperty(awskms_key_arn=bucket_key.key_arn)
                )
                if bucket_key is not None
                else None,
                cloud_watch_logging_options=logging_options,
            ),
            processing_configuration=cloudwatch_logs_processing(one_line_per_event=False),
            cloud_watch_logging_options=logging_options,
            document_id_options=stream_type.DocumentIdOptionsProperty(default_document_id_format="FIREHOSE_DEFAULT"),
            vpc_configuration=stream_type.VpcConfigurationProperty(
                role_arn=role.role_arn,
                subnet_ids=[subnet.subnet_id for subnet in subnets],
                security_group_ids=[security_group.security_group_id],
            )
            if subnets and security_group is not None
            else None,
        ),
    )
    # The role's policy must exist before Firehose checks it while creating the stream.
    stream.node.add_dependency(default_policy(role))
    return stream


def new_subscription_role(scope: Construct, *, delivery_stream: firehose.CfnDeliveryStream) -> iam.Role:
    """The role CloudWatch Logs (of this account's log groups) assumes to put records on the stream."""
    stack = Stack.of(scope)
    role = iam.Role(
        scope,
        "SubscriptionRole",
        assumed_by=iam.ServicePrincipal(
            f"logs.{stack.region}.amazonaws.com",
            conditions={"StringLike": {"aws:SourceArn": any_log_group_arn(stack)}},
        ),
        description=f"CloudWatch Logs subscriptions into {delivery_stream.ref}",
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["firehose:PutRecord", "firehose:PutRecordBatch"], resources=[delivery_stream.attr_arn]
        )
    )
    return role


def acknowledge_ingestion_roles(
    scope: Construct,
    *,
    delivery_role: iam.Role,
    subscription_role: iam.Role,
    backup_bucket: s3.IBucket,
    nag_arn: str,
    index_name: str = "logs",
) -> None:
    """The ingestion roles' findings: inline policies, the domain's REST paths, the backup prefixes."""
    for role in (delivery_role, subscription_role):
        acknowledge_inline_policy(role)
    acknowledge_domain_paths(delivery_role, nag_arn)
    bucket = backup_bucket.node.default_child
    if isinstance(bucket, s3.CfnBucket) and Stack.of(bucket) is Stack.of(scope):
        # A bucket from another stack shows up differently in the finding: its owner acknowledges.
        for prefix, reason in prefix_reasons(index_name, "the backup bucket").items():
            acknowledge(
                delivery_role,
                "AwsSolutions-IAM5",
                reason,
                finding=f"Resource::<{Stack.of(scope).get_logical_id(bucket)}.Arn>/{prefix}*",
            )


def subscribe(
    scope: Construct,
    log_group: logs.ILogGroup,
    *,
    index: int,
    filter_name: str,
    filter_pattern: logs.IFilterPattern | None,
    delivery_stream: firehose.CfnDeliveryStream,
    role: iam.Role,
    index_policy: IDependable,
) -> logs.CfnSubscriptionFilter:
    """The ``index``-th subscription filter of the search: ``log_group``'s events onto the delivery stream."""
    subscription = logs.CfnSubscriptionFilter(
        scope,
        f"Subscription{index}" if index else "Subscription",
        log_group_name=log_group.log_group_name,
        destination_arn=delivery_stream.attr_arn,
        role_arn=role.role_arn,
        filter_pattern=(filter_pattern or logs.FilterPattern.all_events()).log_pattern_string,
        filter_name=filter_name,
    )
    subscription.node.add_dependency(default_policy(role))
    # Events flow only once the domain lets the delivery role write (the writer role mapping).
    subscription.node.add_dependency(index_policy)
    return subscription


def default_policy(role: iam.Role) -> CfnResource:
    """The role's DefaultPolicy resource (what a resource waits for before it uses the role)."""
    policy = role.node.find_child("DefaultPolicy").node.default_child
    assert isinstance(policy, CfnResource)
    return policy
