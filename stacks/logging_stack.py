"""genba-<env>-logging: the reference service's log groups, the log archive and CloudTrail."""

from __future__ import annotations

from aws_cdk import CfnOutput, Fn
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genba_constructs import AlarmFactory, ArchiveTrail, LogArchive, Thresholds
from genba_constructs.service_log_group import ServiceLogGroup, log_group_encryption_key
from stacks._base import GenbaStack
from stacks.config import EnvironmentConfig


class LoggingStack(GenbaStack):
    def __init__(
        self, scope: Construct, concern: str, *, config: EnvironmentConfig, alarm_factory: AlarmFactory
    ) -> None:
        super().__init__(scope, concern, config=config)
        logging = config.logging
        removal = config.removal_policy
        self.archive = LogArchive(
            self,
            "Archive",
            production=config.production,
            **logging.archive_props,
            removal_policy=removal,
            athena_bytes_scanned_cutoff_gb=logging.athena_bytes_scanned_cutoff_gb,
            athena_results_expire_after_days=logging.athena_results_expire_after_days,
            alarm_factory=alarm_factory,
        )
        key = log_group_encryption_key(self, "LogGroupKey", removal_policy=removal)
        error_thresholds = Thresholds(
            warning=logging.error_lines_warning_per_5min, critical=logging.error_lines_critical_per_5min
        )
        # (construct id, subject, log group name, retention). Audit: login history and operations
        # on mail templates, searched often, kept long.
        kinds = [
            ("ApplicationLogs", "app-logs", "application", logging.application_log_retention_days),
            ("AuditLogs", "audit-logs", "audit", logging.audit_log_retention_days),
        ]
        self.application_logs, self.audit_logs = (
            ServiceLogGroup(
                self,
                group_id,
                subject=subject,
                log_group_name=f"/genba/{config.name}/{kind}",
                retention_days=retention_days,
                encryption_key=key,
                removal_policy=removal,
                audit_findings_bucket=self.archive.bucket,
                must_never_be_silent=True,
                error_lines_per_5_minutes=error_thresholds,
                alarm_factory=alarm_factory,
            )
            for group_id, subject, kind, retention_days in kinds
        )
        # One subscription filter each; the second one a log group may carry is left for search.
        self.archive.archive_log_group(self.application_logs)
        self.archive.archive_log_group(self.audit_logs)
        self.trail: ArchiveTrail | None = None
        if logging.cloudtrail_enabled:
            self.trail = ArchiveTrail(
                self, "Trail", archive=self.archive, alarm_factory=alarm_factory, removal_policy=removal
            )

        # Other stacks reach the archive through named exports: a stable, reviewable contract
        # (and a stable cdk-nag finding id for what they may write there).
        self.archive_bucket_export = f"{config.stack_prefix}-log-archive-bucket-arn"
        self.archive_key_export = f"{config.stack_prefix}-log-archive-key-arn"
        CfnOutput(
            self, "ArchiveBucketArn", value=self.archive.bucket.bucket_arn, export_name=self.archive_bucket_export
        )
        CfnOutput(self, "ArchiveKeyArn", value=self.archive.encryption_key.key_arn, export_name=self.archive_key_export)

    def import_archive_bucket(self, scope: Construct) -> s3.IBucket:
        """The archive bucket (with its key) as another stack sees it, through the exports."""
        key = kms.Key.from_key_arn(scope, "ArchiveKey", Fn.import_value(self.archive_key_export))
        bucket = s3.Bucket.from_bucket_attributes(
            scope, "ArchiveBucket", bucket_arn=Fn.import_value(self.archive_bucket_export), encryption_key=key
        )
        bucket.node.add_dependency(self)
        return bucket
