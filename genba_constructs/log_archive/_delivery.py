"""How logs get into the archive: one Firehose delivery stream per archived log group.

:class:`ArchiveDelivery` holds what every stream shares (the delivery error log group, the
role and policy Firehose writes with, the role CloudWatch Logs subscriptions put with);
:class:`ArchivedLogGroup` is one log group's stream, subscription filter and alarms.

Why a stream per log group: the stream decompresses the CloudWatch Logs records and keeps
only the messages (the JSON lines the Glue table reads as columns). That drops the
envelope (``logGroup``...), so one shared stream could no longer tell log groups apart;
with one per log group the subject is a static part of the S3 prefix, the date comes from
``!{timestamp:...}``, and neither dynamic partitioning nor a Lambda is needed. Idle streams
cost nothing.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genba_constructs import archive_catalog as catalog
from genba_constructs._firehose import cloudwatch_logs_processing, delivery_metric
from genba_constructs._validation import fail, require_range
from genba_constructs.alarms import AlarmFactory, AlarmSet, Thresholds
from genba_constructs.log_archive._alarms import stream_alarm_specs
from genba_constructs.log_subscription import subscription_alarm_specs
from genba_constructs.nag import acknowledge
from genba_constructs.retention import retention_days as to_retention

#: the name of every archive subscription filter (a dimension of the AWS/Logs subscription metrics).
ARCHIVE_FILTER_NAME = "genba-archive"


def buffer_interval_seconds(construct: str, buffer_interval: Duration, buffer_size_mib: int) -> int:
    """The buffering interval in seconds, after checking both buffering hints Firehose accepts."""
    if not isinstance(buffer_interval, Duration) or buffer_interval.is_unresolved():
        raise fail(construct, "buffer_interval", buffer_interval, "must be a known aws_cdk.Duration")
    seconds = buffer_interval.to_seconds()
    if not 60 <= seconds <= 900:
        raise fail(construct, "buffer_interval", buffer_interval.to_human_string(), "must be 60 to 900 seconds")
    require_range(construct, "buffer_size_mib", buffer_size_mib, minimum=1, maximum=128)
    return int(seconds)


def nag_arn(scope: Construct, arn: str) -> str:
    """An ARN as cdk-nag spells it in a finding id (``<LogicalId.Arn>`` for an attribute)."""

    def render(value: Any) -> str:
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return f"<{logical_id}.{attribute}>"
        if isinstance(value, dict) and "Ref" in value:
            return f"<{value['Ref']}>"
        if isinstance(value, dict) and "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(render(part) for part in parts)
        return str(value)

    return render(Stack.of(scope).resolve(arn))


class ArchiveDelivery:
    """The delivery resources every stream shares, made as direct children of the archive (ids kept).

    :param scope: the ``LogArchive``.
    :param buffering: Firehose's buffering hints: (interval in seconds, size in MiB).
    """

    def __init__(
        self,
        scope: Construct,
        *,
        bucket: s3.IBucket,
        key: kms.IKey,
        removal: RemovalPolicy,
        buffering: tuple[int, int],
    ) -> None:
        stack = Stack.of(scope)
        self._scope = scope
        self.bucket = bucket
        self.key = key
        self.buffer_interval_seconds, self.buffer_size_mib = buffering
        self.error_log_group = logs.LogGroup(
            scope,
            "DeliveryErrors",
            retention=to_retention("LogArchive", "error log retention", 90),
            encryption_key=key,
            removal_policy=removal,
        )
        self.firehose_role = iam.Role(
            scope,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com", conditions={"StringEquals": {"sts:ExternalId": stack.account}}
            ),
            description="Firehose writes archived log lines to the archive bucket",
        )
        self.firehose_policy = self._firehose_writes(self.firehose_role)
        self.subscription_role = iam.Role(
            scope,
            "SubscriptionRole",
            assumed_by=iam.ServicePrincipal(
                f"logs.{stack.region}.amazonaws.com",
                conditions={
                    "StringLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:logs:{stack.region}:{Aws.ACCOUNT_ID}:*"}
                },
            ),
            description="CloudWatch Logs subscription filters put log events to the archive's Firehose streams",
        )
        self._subscription_policy: iam.ManagedPolicy | None = None

    def allow_subscriptions_to_put(self, stream: firehose.CfnDeliveryStream) -> iam.ManagedPolicy:
        """Let the subscription role put to ``stream`` (one managed policy for every stream, made on first use)."""
        if self._subscription_policy is None:
            self._subscription_policy = iam.ManagedPolicy(
                self._scope, "SubscriptionPolicy", roles=[self.subscription_role], description="Log groups -> Firehose"
            )
        self._subscription_policy.add_statements(
            iam.PolicyStatement(actions=["firehose:PutRecord", "firehose:PutRecordBatch"], resources=[stream.attr_arn])
        )
        return self._subscription_policy

    def _firehose_writes(self, role: iam.Role) -> iam.ManagedPolicy:
        stack = Stack.of(self._scope)
        bucket = self.bucket
        # Managed (not inline) policies: NIST 800-53 R5 wants no inline policies on roles.
        policy = iam.ManagedPolicy(
            self._scope, "DeliveryPolicy", roles=[role], description="Firehose -> archive bucket"
        )
        policy.add_statements(
            iam.PolicyStatement(
                sid="ArchiveBucket",
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[bucket.bucket_arn],
            ),
            # A prefix, not object names: Firehose names each object itself (prefix, date, random suffix).
            iam.PolicyStatement(
                sid="ArchiveObjects",
                actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                resources=[
                    bucket.arn_for_objects(f"{catalog.LOGS_PREFIX}*"),
                    bucket.arn_for_objects(f"{catalog.ERRORS_PREFIX}*"),
                ],
            ),
            iam.PolicyStatement(
                sid="ArchiveKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            ),
        )
        bucket_arn = nag_arn(self._scope, bucket.bucket_arn)
        for prefix, reason in (
            (catalog.LOGS_PREFIX, "Firehose writes objects with generated names under the archive's logs/ prefix."),
            (catalog.ERRORS_PREFIX, "Firehose writes records it could not deliver under the archive's errors/ prefix."),
        ):
            acknowledge(policy, "AwsSolutions-IAM5", reason, finding=f"Resource::{bucket_arn}/{prefix}*")
        return policy

    def allow_error_stream(self, log_stream: logs.LogStream) -> None:
        """Let Firehose write its delivery errors to ``log_stream`` (CloudFormation made it: no wildcard)."""
        stream_arn = Stack.of(self._scope).format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{self.error_log_group.log_group_name}:log-stream:{log_stream.log_stream_name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.firehose_policy.add_statements(iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=[stream_arn]))


class ArchivedLogGroup(Construct):
    """One archived log group: its error log stream, delivery stream, subscription filter and alarms.

    :param subject: slug of the log group in S3 keys, the Glue partition and alarm names.
    :param log_group: the log group subscribed.
    :param delivery: the archive's shared delivery resources.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        subject: str,
        log_group: logs.ILogGroup,
        delivery: ArchiveDelivery,
        alarm_factory: AlarmFactory,
        freshness_seconds: Thresholds,
    ) -> None:
        super().__init__(scope, id)
        self.subject = subject
        log_stream = logs.LogStream(
            self,
            "DeliveryErrorStream",
            log_group=delivery.error_log_group,
            log_stream_name=f"{subject}-S3Delivery",
            removal_policy=RemovalPolicy.RETAIN,
        )
        delivery.allow_error_stream(log_stream)
        s3_destination = firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
            bucket_arn=delivery.bucket.bucket_arn,
            role_arn=delivery.firehose_role.role_arn,
            prefix=catalog.data_prefix(subject),
            error_output_prefix=catalog.error_prefix(subject),
            buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                interval_in_seconds=delivery.buffer_interval_seconds, size_in_m_bs=delivery.buffer_size_mib
            ),
            compression_format="GZIP",
            encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                    awskms_key_arn=delivery.key.key_arn
                )
            ),
            cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                enabled=True,
                log_group_name=delivery.error_log_group.log_group_name,
                log_stream_name=log_stream.log_stream_name,
            ),
            processing_configuration=cloudwatch_logs_processing(one_line_per_event=True),
        )
        self.delivery_stream = firehose.CfnDeliveryStream(
            self,
            "Resource",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="AWS_OWNED_CMK"
            ),
            extended_s3_destination_configuration=s3_destination,
        )
        self.delivery_stream.node.add_dependency(delivery.firehose_policy)
        subscription_policy = delivery.allow_subscriptions_to_put(self.delivery_stream)
        self.subscription_filter = logs.CfnSubscriptionFilter(
            self,
            "Subscription",
            log_group_name=log_group.log_group_name,
            destination_arn=self.delivery_stream.attr_arn,
            role_arn=delivery.subscription_role.role_arn,
            filter_pattern="",
            filter_name=ARCHIVE_FILTER_NAME,
        )
        self.subscription_filter.node.add_dependency(subscription_policy)
        self.alarms: AlarmSet = alarm_factory.create_all(
            self,
            subject=f"archive-{subject}",
            specs=stream_alarm_specs(
                subject,
                data_freshness=self.metric_data_freshness(),
                delivery_success=self.metric_delivery_success(),
                freshness_seconds=freshness_seconds,
            )
            # The hop before Firehose: a broken subscription leaves every Firehose metric absent.
            + subscription_alarm_specs(
                log_group_name=log_group.log_group_name,
                filter_name=ARCHIVE_FILTER_NAME,
                destination="the log archive",
            ),
        )

    def metric_data_freshness(self, *, period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """``DeliveryToS3.DataFreshness`` (Maximum, seconds): age of the oldest record not yet in S3."""
        return delivery_metric(self.delivery_stream, "DeliveryToS3.DataFreshness", statistic="Maximum", period=period)

    def metric_delivery_success(self, *, period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """``DeliveryToS3.Success`` (Minimum: 1 when every delivery succeeded)."""
        return delivery_metric(self.delivery_stream, "DeliveryToS3.Success", statistic="Minimum", period=period)
