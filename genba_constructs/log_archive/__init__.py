"""The log archive: the durable, searchable, end-of-life-aware home of every log.

An S3 bucket (KMS, versioning, TLS only, no public access, server access logs to a
separate bucket, object lock, lifecycle to colder classes and expiry at the end of the
logs' life), fed by Firehose from CloudWatch Logs subscriptions, catalogued in Glue with
partition projection and searched with Athena through a workgroup that enforces its
settings. The parts, one file each:

* ``lifecycle``: :class:`ArchiveLifecycle`, the life cycle props and every rule about them;
* ``_buckets``: the key, the archive bucket, its access-logs bucket, vended log delivery;
* ``_delivery``: how logs get in (a Firehose stream and subscription per log group);
* ``_catalog``: how they are searched (Glue tables, the Athena workgroup and queries);
* ``_alarms``: the delivery alarms, as data; ``_dashboard``: the dashboard widgets.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
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
from genba_constructs._checks import require_grantable, require_thresholds
from genba_constructs._names import claim_name
from genba_constructs._shared_props import shared_props
from genba_constructs._types import checked, register_coercion
from genba_constructs._validation import GenbaPropsError, require_either, require_no_problems
from genba_constructs.alarms import _SLUG, AlarmFactory, AlarmSet, Thresholds, _upper_camel, default_alarm_factory
from genba_constructs.log_archive._buckets import ArchiveBuckets
from genba_constructs.log_archive._catalog import (
    ArchiveCatalog,
    ArchiveQueries,
    check_query_props,
    default_database_name,
)
from genba_constructs.log_archive._dashboard import archive_widgets
from genba_constructs.log_archive._delivery import ArchiveDelivery, ArchivedLogGroup, buffer_interval_seconds
from genba_constructs.log_archive.lifecycle import LIFECYCLE_PROPS, ArchiveLifecycle, ObjectLockMode
from genba_constructs.service_log_group import ServiceLogGroup

__all__ = ["ArchiveLifecycle", "ArchivedLogGroup", "LogArchive"]


@shared_props("alarm_factory")
class LogArchive(Construct):
    """S3 + Firehose + Glue + Athena archive for logs (and the bucket CloudTrail writes to).

    :param bucket: an existing archive bucket. An imported one cannot take a bucket policy: synth
        warns with the statements its owner must add. Default: create one with the settings below.
    :param encryption_key: KMS key for the bucket, Firehose output, Athena results and the
        Firehose error log; an imported key (``kms.Key.from_key_arn``) gets a synth warning with the
        key-policy statements to add. Default: a new rotated key.
    :param production: a production archive (object lock in compliance mode by default). Default: False.
    :param object_lock_mode: ``"governance"`` or ``"compliance"``. Default: compliance in
        production, governance elsewhere.
    :param object_lock_days: default retention of every object version. Default: 30.
    :param expire_after_days: end of life of archived objects. Default: 2557 (7 years).
    :param infrequent_access_after_days: move to Standard-IA after. Default: 30.
    :param glacier_after_days: move to Glacier Instant Retrieval (which Athena reads) after. Default: 90.
    :param noncurrent_versions_expire_after_days: delete replaced/deleted versions after. Default: 30.
    :param removal_policy: for the buckets and the key. Default: RETAIN.
    :param buffer_interval: Firehose buffering interval (60-900 s). Default: 5 minutes.
    :param buffer_size_mib: Firehose buffering size (1-128 MiB). Default: 64.
    :param database_name: Glue database name. Default: ``<stack name>_logs`` (lower case, ``_``).
    :param athena_bytes_scanned_cutoff_gb: per-query scan limit of the workgroup (GB). Default: 10.
    :param athena_results_expire_after_days: query results are deleted after. Default: 30.
    :param data_freshness_seconds: thresholds on the age of the oldest record not yet in S3.
        Default: warning 900, critical 3600.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        production: bool = False,
        object_lock_mode: ObjectLockMode | None = None,
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
        # The life cycle props are for a new bucket, which an existing bucket rules out.
        given = locals()
        require_either(name, ("bucket", bucket), [(prop, given[prop]) for prop in LIFECYCLE_PROPS])
        lifecycle = ArchiveLifecycle.of(given)
        require_no_problems(name, lifecycle.problems())
        interval = buffer_interval_seconds(name, buffer_interval, buffer_size_mib)
        # Firehose holds a record up to the buffering interval by design: a freshness threshold
        # at or below it fires on every batch.
        require_thresholds(name, "data_freshness_seconds", data_freshness_seconds, above=interval)
        check_query_props(name, athena_bytes_scanned_cutoff_gb, athena_results_expire_after_days, database_name)
        super().__init__(scope, id)
        removal = removal_policy or RemovalPolicy.RETAIN
        self._alarm_factory = alarm_factory or default_alarm_factory(self)
        self._freshness = data_freshness_seconds
        self.lifecycle = lifecycle
        self.expire_after_days = lifecycle.expire_after_days
        buckets = ArchiveBuckets(
            self, bucket=bucket, key=encryption_key, lifecycle=lifecycle, production=production, removal=removal
        )
        self.encryption_key, self.bucket, self.access_logs_bucket = buckets.key, buckets.bucket, buckets.access_logs
        self.object_lock_mode = buckets.object_lock_mode
        self._delivery = ArchiveDelivery(
            self, bucket=self.bucket, key=self.encryption_key, removal=removal, buffering=(interval, buffer_size_mib)
        )
        #: every archived log group by subject (its stream, subscription filter and alarms).
        self.archived: dict[str, ArchivedLogGroup] = {}
        #: the delivery alarms of every archived log group (subject ``archive-<subject>``).
        self.alarms = AlarmSet()
        self.database_name = database_name or default_database_name(self)
        self._claim_names(self.database_name)
        self.catalog = ArchiveCatalog(self, self.database_name, self.bucket.bucket_name, self.expire_after_days)
        self.queries = ArchiveQueries(
            self,
            database_name=self.database_name,
            key=self.encryption_key,
            access_logs=self.access_logs_bucket,
            removal=removal,
            cutoff_gb=athena_bytes_scanned_cutoff_gb,
            results_days=athena_results_expire_after_days,
        )

    @property
    def delivery_streams(self) -> dict[str, firehose.CfnDeliveryStream]:
        """The delivery stream of every archived log group, by subject."""
        return {subject: part.delivery_stream for subject, part in self.archived.items()}

    @property
    def subscription_filters(self) -> dict[str, logs.CfnSubscriptionFilter]:
        """The archive subscription filter of every archived log group, by subject."""
        return {subject: part.subscription_filter for subject, part in self.archived.items()}

    # The catalog's and the queries' resources, under the names LogArchive has always had.
    @property
    def database(self) -> glue.CfnDatabase:
        return self.catalog.database

    @property
    def application_logs_table(self) -> glue.CfnTable:
        return self.catalog.application_logs_table

    @property
    def cloudtrail_table(self) -> glue.CfnTable:
        return self.catalog.cloudtrail_table

    @property
    def results_bucket(self) -> s3.Bucket:
        return self.queries.results_bucket

    @property
    def workgroup(self) -> athena.CfnWorkGroup:
        return self.queries.workgroup

    @property
    def named_queries(self) -> dict[str, athena.CfnNamedQuery]:
        return self.queries.named_queries

    @checked
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
        if subject in self.archived:
            raise GenbaPropsError(f"LogArchive.archive_log_group: subject={subject!r} is already archived")
        part = ArchivedLogGroup(
            self,
            _upper_camel(subject),
            subject=subject,
            log_group=target,
            delivery=self._delivery,
            alarm_factory=self._alarm_factory,
            freshness_seconds=self._freshness,
        )
        self.archived[subject] = part
        self.alarms = self.alarms + part.alarms
        self.catalog.project_log_groups(list(self.archived))
        return part.delivery_stream

    def _claim_names(self, database: str) -> None:
        # Glue databases and tables, and Athena workgroups, are unique per account and region.
        claim_name(self, "Glue database", database, owner="LogArchive")
        for table in (catalog.APPLICATION_LOGS_TABLE, catalog.CLOUDTRAIL_TABLE):
            claim_name(self, "Glue table", f"{database}.{table}", owner="LogArchive")
        claim_name(self, "Athena workgroup", f"{Stack.of(self).stack_name}-logs", owner="LogArchive", child="WorkGroup")

    def _archived(self, subject: str) -> ArchivedLogGroup:
        part = self.archived.get(subject)
        if part is None:
            raise GenbaPropsError(f"LogArchive: subject={subject!r} is not archived (call archive_log_group first)")
        return part

    @checked
    def metric_data_freshness(self, subject: str, *, period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """``DeliveryToS3.DataFreshness`` (Maximum, seconds) of one archived log group's stream."""
        return self._archived(subject).metric_data_freshness(period=period)

    @checked
    def metric_delivery_success(self, subject: str, *, period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """``DeliveryToS3.Success`` (Minimum: 1 when every delivery succeeded) of one stream."""
        return self._archived(subject).metric_delivery_success(period=period)

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """Per archived log group: data freshness (seconds) and delivery success of its stream."""
        return archive_widgets(self.archived.values())

    @checked
    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read archived objects (and decrypt them)."""
        require_grantable("LogArchive.grant_read", "grantee", grantee)
        objects = iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:GetObject"], resource_arns=[self.bucket.arn_for_objects("*")]
        )
        listing = iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:ListBucket", "s3:GetBucketLocation"], resource_arns=[self.bucket.bucket_arn]
        )
        return objects.combine(listing).combine(self.encryption_key.grant_decrypt(grantee))

    @checked
    def grant_write(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Write objects under ``prefix`` (e.g. OpenSearch's failed-document backups)."""
        require_grantable("LogArchive.grant_write", "grantee", grantee)
        if not prefix or not prefix.endswith("/") or prefix.startswith("/"):
            raise GenbaPropsError(f"LogArchive.grant_write: prefix={prefix!r} must look like 'name/'")
        objects = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resource_arns=[self.bucket.arn_for_objects(f"{prefix}*")],
        )
        key = iam.Grant.add_to_principal(
            grantee=grantee, actions=["kms:GenerateDataKey", "kms:Decrypt"], resource_arns=[self.encryption_key.key_arn]
        )
        return objects.combine(key)


# Where a bucket goes (a backup or audit-findings bucket), a LogArchive stands for its archive bucket.
register_coercion(LogArchive, s3.IBucket, lambda archive: archive.bucket)
