"""The log archive: the durable, searchable, end-of-life-aware home of every log.

An S3 bucket (KMS, versioning, TLS only, no public access, server access logs to a
separate bucket, object lock, lifecycle to colder classes and expiry at the end of the
logs' life), fed by Firehose from CloudWatch Logs subscriptions, catalogued in Glue with
partition projection and searched with Athena through a workgroup that enforces its
settings.

Why one Firehose delivery stream per archived log group: the stream decompresses the
CloudWatch Logs records and extracts the messages (so the archive holds exactly the JSON
lines of genba's logging convention, which the Glue table reads as columns). Message
extraction drops the CloudWatch envelope (``logGroup``, ``logStream``, ``owner``), so one
shared stream could no longer tell the log groups apart. With a stream per log group the
log group is a static part of the S3 prefix and the date comes from Firehose's
``!{timestamp:...}`` prefix expression, which needs neither dynamic partitioning (and its
64 MiB minimum buffer) nor a Lambda. Streams cost nothing while idle.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from aws_cdk import ArnFormat, Aws, Duration, FeatureFlags, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genba_constructs import archive_catalog as catalog
from genba_constructs._firehose import cloudwatch_logs_processing
from genba_constructs._validation import GenbaPropsError, fail, require_either, require_range
from genba_constructs.alarms import AlarmFactory, Severity, Thresholds, default_alarm_factory
from genba_constructs.nag import acknowledge
from genba_constructs.retention import retention_days as to_retention
from genba_constructs.service_log_group import ServiceLogGroup, allow_cloudwatch_logs_to_use

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_GIB = 1024**3


def _upper_camel(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.split("-"))


class LogArchive(Construct):
    """S3 + Firehose + Glue + Athena archive for logs (and the bucket CloudTrail writes to).

    :param bucket: an existing archive bucket. Default: create one with the settings below.
    :param encryption_key: KMS key for the bucket, Firehose output, Athena results and the
        Firehose error log. Default: a new rotated key.
    :param production: a production archive (object lock in compliance mode by default). Default: False.
    :param object_lock_mode: ``"governance"`` or ``"compliance"``. Default: compliance in
        production, governance elsewhere.
    :param object_lock_days: default retention of every object version. Default: 30.
    :param expire_after_days: end of life of archived objects. Default: 2557 (7 years).
    :param infrequent_access_after_days: move to Standard-IA after. Default: 30.
    :param glacier_after_days: move to Glacier Flexible Retrieval after. Default: 90.
    :param noncurrent_versions_expire_after_days: delete replaced/deleted versions after. Default: 30.
    :param removal_policy: for the buckets and the key. Default: RETAIN.
    :param buffer_interval: Firehose buffering interval (60-900 s). Default: 5 minutes.
    :param buffer_size_mib: Firehose buffering size (1-128 MiB). Default: 64.
    :param database_name: Glue database name. Default: ``<stack name>_logs`` (lower case, ``_``).
    :param athena_bytes_scanned_cutoff_gb: per-query scan limit of the workgroup (GB). Default: 10.
    :param athena_results_expire_after_days: query results are deleted after. Default: 30.
    :param data_freshness_seconds: thresholds on the age of the oldest record not yet in S3.
        Default: warning 900, critical 3600.
    :param alarm_factory: makes the alarms. Default: alarms named after the stack, no actions.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket | None = None,
        encryption_key: kms.Key | None = None,
        production: bool = False,
        object_lock_mode: Literal["governance", "compliance"] | None = None,
        object_lock_days: int | None = None,
        expire_after_days: int | None = None,
        infrequent_access_after_days: int | None = None,
        glacier_after_days: int | None = None,
        noncurrent_versions_expire_after_days: int | None = None,
        removal_policy: RemovalPolicy | None = None,
        buffer_interval: Duration = Duration.minutes(5),
        buffer_size_mib: int = 64,
        database_name: str | None = None,
        athena_bytes_scanned_cutoff_gb: int = 10,
        athena_results_expire_after_days: int = 30,
        data_freshness_seconds: Thresholds = Thresholds(warning=900, critical=3600),
        alarm_factory: AlarmFactory | None = None,
    ) -> None:
        name = "LogArchive"
        require_either(
            name,
            ("bucket", bucket),
            [
                ("object_lock_mode", object_lock_mode),
                ("object_lock_days", object_lock_days),
                ("expire_after_days", expire_after_days),
                ("infrequent_access_after_days", infrequent_access_after_days),
                ("glacier_after_days", glacier_after_days),
                ("noncurrent_versions_expire_after_days", noncurrent_versions_expire_after_days),
            ],
        )
        lock_days = 30 if object_lock_days is None else object_lock_days
        expire_days = 2557 if expire_after_days is None else expire_after_days
        ia_days = 30 if infrequent_access_after_days is None else infrequent_access_after_days
        glacier_days = 90 if glacier_after_days is None else glacier_after_days
        noncurrent_days = 30 if noncurrent_versions_expire_after_days is None else noncurrent_versions_expire_after_days
        require_range(name, "object_lock_days", lock_days, minimum=1, maximum=36500)
        require_range(name, "expire_after_days", expire_days, minimum=1, maximum=36500)
        # S3 moves objects to Standard-IA no sooner than 30 days after creation.
        require_range(name, "infrequent_access_after_days", ia_days, minimum=30, maximum=36500)
        require_range(name, "glacier_after_days", glacier_days, minimum=1, maximum=36500)
        require_range(name, "noncurrent_versions_expire_after_days", noncurrent_days, minimum=1, maximum=36500)
        if glacier_days <= ia_days:
            raise fail(
                name, "glacier_after_days", glacier_days, f"must be after infrequent_access_after_days ({ia_days})"
            )
        if expire_days <= glacier_days:
            raise fail(name, "expire_after_days", expire_days, f"must be after glacier_after_days ({glacier_days})")
        if lock_days > expire_days:
            raise fail(name, "object_lock_days", lock_days, f"is longer than expire_after_days ({expire_days})")
        if object_lock_mode not in (None, "governance", "compliance"):
            raise fail(name, "object_lock_mode", object_lock_mode, "must be 'governance' or 'compliance'")
        if not isinstance(buffer_interval, Duration) or buffer_interval.is_unresolved():
            raise fail(name, "buffer_interval", buffer_interval, "must be a known aws_cdk.Duration")
        interval_seconds = buffer_interval.to_seconds()
        if not 60 <= interval_seconds <= 900:
            raise fail(name, "buffer_interval", buffer_interval.to_human_string(), "must be 60 to 900 seconds")
        require_range(name, "buffer_size_mib", buffer_size_mib, minimum=1, maximum=128)
        require_range(name, "athena_bytes_scanned_cutoff_gb", athena_bytes_scanned_cutoff_gb, minimum=1, maximum=1024)
        require_range(
            name, "athena_results_expire_after_days", athena_results_expire_after_days, minimum=1, maximum=3650
        )
        if database_name is not None and not re.fullmatch(r"[a-z0-9_]{1,255}", database_name):
            raise fail(name, "database_name", database_name, "must be 1-255 lower-case letters, digits or _")
        super().__init__(scope, id)
        stack = Stack.of(self)
        removal = removal_policy or RemovalPolicy.RETAIN
        self._alarm_factory = alarm_factory or default_alarm_factory(self)
        self._freshness = data_freshness_seconds
        self._buffer_interval_seconds = int(interval_seconds)
        self._buffer_size_mib = buffer_size_mib
        self.expire_after_days = expire_days

        self.encryption_key = encryption_key or kms.Key(
            self,
            "Key",
            description=f"Encrypts the log archive of {stack.stack_name}",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=Duration.days(30) if removal == RemovalPolicy.RETAIN else Duration.days(7),
        )
        allow_cloudwatch_logs_to_use(self.encryption_key)

        self.access_logs_bucket = self._access_logs_bucket(removal, expire_days)
        if bucket is None:
            mode = object_lock_mode or ("compliance" if production else "governance")
            self.object_lock_mode: str | None = mode
            retention = (
                s3.ObjectLockRetention.compliance(Duration.days(lock_days))
                if mode == "compliance"
                else s3.ObjectLockRetention.governance(Duration.days(lock_days))
            )
            bucket = s3.Bucket(
                self,
                "Resource",
                encryption=s3.BucketEncryption.KMS,
                encryption_key=self.encryption_key,
                bucket_key_enabled=True,
                enforce_ssl=True,
                minimum_tls_version=1.2,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                versioned=True,
                object_lock_enabled=True,
                object_lock_default_retention=retention,
                server_access_logs_bucket=self.access_logs_bucket,
                server_access_logs_prefix="archive/",
                removal_policy=removal,
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="colder-then-expire",
                        transitions=[
                            s3.Transition(
                                storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                                transition_after=Duration.days(ia_days),
                            ),
                            s3.Transition(
                                storage_class=s3.StorageClass.GLACIER, transition_after=Duration.days(glacier_days)
                            ),
                        ],
                        expiration=Duration.days(expire_days),
                        noncurrent_version_expiration=Duration.days(noncurrent_days),
                        abort_incomplete_multipart_upload_after=Duration.days(7),
                    ),
                    s3.LifecycleRule(id="remove-expired-delete-markers", expired_object_delete_marker=True),
                ],
            )
            acknowledge(
                bucket,
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "The archive is the durable copy of logs that already exist in CloudWatch Logs; S3 stores "
                "it across availability zones and object lock protects it. Cross-region replication is a "
                "per-organization decision outside this construct.",
            )
        else:
            self.object_lock_mode = None
        self.bucket: s3.IBucket = bucket
        self._allow_vended_log_delivery()

        self._error_log_group = logs.LogGroup(
            self,
            "DeliveryErrors",
            retention=to_retention(name, "error log retention", 90),
            encryption_key=self.encryption_key,
            removal_policy=removal,
        )
        self._firehose_role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com", conditions={"StringEquals": {"sts:ExternalId": stack.account}}
            ),
            description="Firehose writes archived log lines to the archive bucket",
        )
        self._grant_firehose_writes(self._firehose_role)
        self._subscription_role = iam.Role(
            self,
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
        self.delivery_streams: dict[str, firehose.CfnDeliveryStream] = {}
        self.subscription_filters: dict[str, logs.CfnSubscriptionFilter] = {}
        self.alarms: dict[str, dict[Severity, cloudwatch.Alarm]] = {}

        self.database_name = database_name or re.sub(r"[^a-z0-9_]", "_", f"{stack.stack_name}_logs".lower())
        self._catalog(expire_days)
        self._athena(removal, athena_bytes_scanned_cutoff_gb, athena_results_expire_after_days)

    # ---- buckets -------------------------------------------------------------------------

    def _access_logs_bucket(self, removal: RemovalPolicy, expire_days: int) -> s3.Bucket:
        # S3 server access logs can only be delivered to SSE-S3 buckets. With the feature flag
        # serverAccessLogsUseBucketPolicy (genba's cdk.json) delivery is granted by bucket
        # policy and ACLs can be off; an app without the flag gets the LogDeliveryWrite ACL,
        # which needs ObjectWriter ownership.
        policy_delivery = FeatureFlags.of(self).is_enabled("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy")
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
            if policy_delivery
            else s3.ObjectOwnership.OBJECT_WRITER,
            versioned=True,
            removal_policy=removal,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire",
                    expiration=Duration.days(expire_days),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        acknowledge(
            access_logs,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "S3 delivers server access logs only to buckets encrypted with SSE-S3, not SSE-KMS.",
        )
        acknowledge(
            access_logs,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Server access logs are a secondary record of reads of the archive; replication of them "
            "is not worth a second region's bucket.",
        )
        return access_logs

    def _allow_vended_log_delivery(self) -> None:
        """CloudWatch Logs vended deliveries (data protection audit findings) write under AWSLogs/."""
        stack = Stack.of(self)
        source = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:logs:{stack.region}:{Aws.ACCOUNT_ID}:*"},
        }
        principal = iam.ServicePrincipal("delivery.logs.amazonaws.com")
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AWSLogDeliveryAclCheck",
                principals=[principal],
                # ListBucket too: without it the delivery logs AccessDenied in CloudTrail.
                actions=["s3:GetBucketAcl", "s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions=source,
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AWSLogDeliveryWrite",
                principals=[principal],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(f"{catalog.VENDED_LOGS_PREFIX}{Aws.ACCOUNT_ID}/*")],
                conditions=source,
            )
        )
        self.encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowLogDeliveryToEncryptArchiveObjects",
                principals=[principal],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )

    def _grant_firehose_writes(self, role: iam.Role) -> None:
        stack = Stack.of(self)
        # The log group's Arn attribute ends in ":*"; a log stream ARN is built from the name.
        self._error_log_streams_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"{self._error_log_group.log_group_name}:log-stream:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        # Managed (not inline) policies: NIST 800-53 R5 wants no inline policies on roles.
        policy = iam.ManagedPolicy(self, "DeliveryPolicy", roles=[role], description="Firehose -> archive bucket")
        self._firehose_policy = policy
        policy.add_statements(
            iam.PolicyStatement(
                sid="ArchiveBucket",
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[self.bucket.bucket_arn],
            )
        )
        policy.add_statements(
            iam.PolicyStatement(
                sid="ArchiveObjects",
                actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                resources=[
                    self.bucket.arn_for_objects(f"{catalog.LOGS_PREFIX}*"),
                    self.bucket.arn_for_objects(f"{catalog.ERRORS_PREFIX}*"),
                ],
            )
        )
        policy.add_statements(
            iam.PolicyStatement(
                sid="ArchiveKey",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[self.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            )
        )
        policy.add_statements(
            iam.PolicyStatement(
                sid="DeliveryErrorLog",
                actions=["logs:PutLogEvents"],
                resources=[self._error_log_streams_arn],
            )
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Firehose writes objects with generated names under the archive's logs/ prefix.",
            finding=f"Resource::{self._nag_arn(self.bucket.bucket_arn)}/{catalog.LOGS_PREFIX}*",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Firehose writes records it could not deliver under the archive's errors/ prefix.",
            finding=f"Resource::{self._nag_arn(self.bucket.bucket_arn)}/{catalog.ERRORS_PREFIX}*",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "Firehose creates its own log streams in the archive's delivery error log group.",
            finding=f"Resource::{self._nag_arn(self._error_log_streams_arn)}",
        )

    def _nag_arn(self, arn: str) -> str:
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

        return render(Stack.of(self).resolve(arn))

    # ---- Firehose ------------------------------------------------------------------------

    def archive_log_group(
        self, log_group: ServiceLogGroup | logs.ILogGroup, *, subject: str | None = None
    ) -> firehose.CfnDeliveryStream:
        """Subscribe ``log_group`` to the archive (its one archive subscription filter).

        A log group carries at most two subscription filters: this uses one and leaves the
        other for search (OpenSearch).

        :param subject: slug of the log group in S3 keys, the Glue partition and alarm
            names. Default: the ServiceLogGroup's subject (required for a plain log group).
        :returns: the log group's delivery stream.
        """
        if isinstance(log_group, ServiceLogGroup):
            subject = subject or log_group.subject
            target: logs.ILogGroup = log_group.log_group
        else:
            target = log_group
        if subject is None or not _SLUG.fullmatch(subject):
            raise GenbaPropsError(
                f"LogArchive.archive_log_group: subject={subject!r} must be a lower-case slug such as 'app-logs'"
            )
        if subject in self.delivery_streams:
            raise GenbaPropsError(f"LogArchive.archive_log_group: subject={subject!r} is already archived")
        construct_id = _upper_camel(subject)
        scope = Construct(self, construct_id)
        log_stream = logs.LogStream(
            scope,
            "DeliveryErrorStream",
            log_group=self._error_log_group,
            log_stream_name=f"{subject}-S3Delivery",
            removal_policy=RemovalPolicy.RETAIN,
        )
        stream = firehose.CfnDeliveryStream(
            scope,
            "Resource",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="AWS_OWNED_CMK"
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self.bucket.bucket_arn,
                role_arn=self._firehose_role.role_arn,
                prefix=catalog.data_prefix(subject),
                error_output_prefix=catalog.error_prefix(subject),
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=self._buffer_interval_seconds, size_in_m_bs=self._buffer_size_mib
                ),
                compression_format="GZIP",
                encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                    kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                        awskms_key_arn=self.encryption_key.key_arn
                    )
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=self._error_log_group.log_group_name,
                    log_stream_name=log_stream.log_stream_name,
                ),
                processing_configuration=cloudwatch_logs_processing(one_line_per_event=True),
            ),
        )
        stream.node.add_dependency(self._firehose_policy)
        self.delivery_streams[subject] = stream
        if self._subscription_policy is None:
            self._subscription_policy = iam.ManagedPolicy(
                self, "SubscriptionPolicy", roles=[self._subscription_role], description="Log groups -> Firehose"
            )
        self._subscription_policy.add_statements(
            iam.PolicyStatement(actions=["firehose:PutRecord", "firehose:PutRecordBatch"], resources=[stream.attr_arn])
        )
        subscription = logs.CfnSubscriptionFilter(
            scope,
            "Subscription",
            log_group_name=target.log_group_name,
            destination_arn=stream.attr_arn,
            role_arn=self._subscription_role.role_arn,
            filter_pattern="",
            filter_name="genba-archive",
        )
        subscription.node.add_dependency(self._subscription_policy)
        self.subscription_filters[subject] = subscription
        self.alarms[subject] = self._stream_alarms(scope, subject, stream)
        self.application_logs_table.add_property_override("TableInput.Parameters", self._application_log_parameters())
        return stream

    def _application_log_parameters(self) -> dict[str, str]:
        # Before any log group is archived the enum needs a value: "none" matches no prefix.
        subjects = sorted(self.delivery_streams) or ["none"]
        return catalog.application_log_parameters(self.bucket.bucket_name, subjects, self.expire_after_days)

    def _stream_alarms(
        self, scope: Construct, subject: str, stream: firehose.CfnDeliveryStream
    ) -> dict[Severity, cloudwatch.Alarm]:
        alarm_subject = f"archive-{subject}"
        made = self._alarm_factory.create(
            scope,
            subject=alarm_subject,
            runbook="firehose-freshness",
            summary=f"Log lines of {subject} wait too long (seconds) in Firehose before reaching the archive bucket.",
            first_check="the delivery error log group of the archive and the DeliveryToS3.Success metric.",
            metric=self.metric_data_freshness(subject),
            thresholds=self._freshness,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data point means nothing was put: the log-silence alarm watches that.
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        made.update(
            self._alarm_factory.create(
                scope,
                subject=alarm_subject,
                runbook="firehose-delivery",
                summary=f"Firehose failed to deliver log lines of {subject} to the archive bucket.",
                first_check="the delivery error log group of the archive (KMS or bucket policy denials) "
                "and objects under the errors/ prefix.",
                metric=self.metric_delivery_success(subject),
                thresholds=Thresholds(critical=1),
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=3,
                missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        return made

    def _stream_metric(self, subject: str, metric_name: str, statistic: str, period: Duration) -> cloudwatch.Metric:
        stream = self.delivery_streams.get(subject)
        if stream is None:
            raise GenbaPropsError(f"LogArchive: subject={subject!r} is not archived (call archive_log_group first)")
        return cloudwatch.Metric(
            namespace="AWS/Firehose",
            metric_name=metric_name,
            dimensions_map={"DeliveryStreamName": stream.ref},
            statistic=statistic,
            period=period,
        )

    def metric_data_freshness(self, subject: str, *, period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """``DeliveryToS3.DataFreshness`` (Maximum, seconds) of one archived log group's stream."""
        return self._stream_metric(subject, "DeliveryToS3.DataFreshness", "Maximum", period)

    def metric_delivery_success(self, subject: str, *, period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """``DeliveryToS3.Success`` (Minimum: 1 when every delivery succeeded) of one stream."""
        return self._stream_metric(subject, "DeliveryToS3.Success", "Minimum", period)

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """Per archived log group: data freshness (seconds) and delivery success of its stream."""
        return [
            cloudwatch.GraphWidget(
                title=f"archive {subject}: Firehose freshness (s) and delivery success",
                left=[self.metric_data_freshness(subject).with_(label="DataFreshness max (s)")],
                right=[self.metric_delivery_success(subject).with_(label="Success min")],
                width=12,
            )
            for subject in sorted(self.delivery_streams)
        ]

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Read archived objects (and decrypt them)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[self.bucket.arn_for_objects("*")])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[self.bucket.bucket_arn])
        )
        self.encryption_key.grant_decrypt(grantee)

    def grant_write(self, grantee: iam.IGrantable, prefix: str) -> None:
        """Write objects under ``prefix`` (e.g. OpenSearch's failed-document backups)."""
        if not prefix or not prefix.endswith("/") or prefix.startswith("/"):
            raise GenbaPropsError(f"LogArchive.grant_write: prefix={prefix!r} must look like 'name/'")
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[self.bucket.arn_for_objects(f"{prefix}*")],
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.encryption_key.key_arn])
        )

    # ---- Glue and Athena -----------------------------------------------------------------

    def _catalog(self, retention_days: int) -> None:
        stack = Stack.of(self)
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="genba log archive: application logs and CloudTrail"
            ),
        )
        bucket_name = self.bucket.bucket_name

        def columns(defs: tuple[catalog.Column, ...]) -> list[glue.CfnTable.ColumnProperty]:
            return [glue.CfnTable.ColumnProperty(name=c.name, type=c.type, comment=c.comment) for c in defs]

        self.application_logs_table = glue.CfnTable(
            self,
            "ApplicationLogsTable",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database.ref,
            table_input=glue.CfnTable.TableInputProperty(
                name=catalog.APPLICATION_LOGS_TABLE,
                description="Archived application log lines (genba logging convention), one JSON object per line",
                table_type="EXTERNAL_TABLE",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(
                        name=catalog.LOG_GROUP_KEY, type="string", comment="log group subject"
                    ),
                    glue.CfnTable.ColumnProperty(name=catalog.DATE_KEY, type="string", comment="UTC day of arrival"),
                ],
                # archive_log_group() adds each archived log group to the partition projection.
                parameters=self._application_log_parameters(),
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=columns(catalog.APPLICATION_LOG_COLUMNS),
                    location=f"s3://{bucket_name}/{catalog.LOGS_PREFIX}",
                    input_format=catalog.TEXT_INPUT_FORMAT,
                    output_format=catalog.TEXT_OUTPUT_FORMAT,
                    compressed=True,
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=catalog.JSON_SERDE, parameters={"ignore.malformed.json": "true"}
                    ),
                ),
            ),
        )
        self.cloudtrail_table = glue.CfnTable(
            self,
            "CloudTrailTable",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database.ref,
            table_input=glue.CfnTable.TableInputProperty(
                name=catalog.CLOUDTRAIL_TABLE,
                description="CloudTrail records of the archive's trail",
                table_type="EXTERNAL_TABLE",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=catalog.CLOUDTRAIL_REGION_KEY, type="string", comment="region"),
                    glue.CfnTable.ColumnProperty(name=catalog.CLOUDTRAIL_DAY_KEY, type="string", comment="yyyy/MM/dd"),
                ],
                parameters=catalog.cloudtrail_parameters(bucket_name, stack.account, retention_days),
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=columns(catalog.CLOUDTRAIL_COLUMNS),
                    location=catalog.cloudtrail_location(bucket_name, stack.account),
                    input_format=catalog.CLOUDTRAIL_INPUT_FORMAT,
                    output_format=catalog.TEXT_OUTPUT_FORMAT,
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=catalog.CLOUDTRAIL_SERDE),
                ),
            ),
        )

    def _athena(self, removal: RemovalPolicy, cutoff_gb: int, results_days: int) -> None:
        stack = Stack.of(self)
        self.results_bucket = s3.Bucket(
            self,
            "QueryResults",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.encryption_key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="athena-results/",
            removal_policy=removal,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-results",
                    expiration=Duration.days(results_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        acknowledge(
            self.results_bucket,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Athena query results are disposable copies that expire after days; replicating them adds cost only.",
        )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=f"{stack.stack_name}-logs",
            description="Queries over the genba log archive: enforced settings, encrypted results, scan limit",
            state="ENABLED",
            recursive_delete_option=False,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=cutoff_gb * _GIB,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results_bucket.bucket_name}/results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=self.encryption_key.key_arn
                    ),
                    expected_bucket_owner=Aws.ACCOUNT_ID,
                ),
            ),
        )
        self.named_queries: dict[str, athena.CfnNamedQuery] = {}
        for query in catalog.named_queries(self.database_name):
            named = athena.CfnNamedQuery(
                self,
                query.construct_id,
                name=f"{stack.stack_name}: {query.name}",
                description=query.description,
                database=self.database_name,
                work_group=self.workgroup.ref,
                query_string=query.sql,
            )
            self.named_queries[query.construct_id] = named
