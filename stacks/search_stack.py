"""genba-<env>-search: the reference service's searchable logs (login history) in OpenSearch."""

from __future__ import annotations

from aws_cdk import aws_logs as logs
from constructs import Construct

from genba_constructs import AlarmFactory, LogSearch, LogSearchAlarmSettings, acknowledge
from genba_constructs.log_search._ingestion import prefix_reasons
from stacks._base import GenbaStack
from stacks.config import EnvironmentConfig
from stacks.logging_stack import LoggingStack


class SearchStack(GenbaStack):
    """The audit log group (login history, mail template operations) is searchable; application logs are not.

    :param searchable_log_groups: log groups subscribed to the domain (each takes one of its
        two subscription filter slots).
    :param archive: the logging stack: documents OpenSearch rejects are kept in its archive.
    """

    def __init__(
        self,
        scope: Construct,
        concern: str,
        *,
        config: EnvironmentConfig,
        alarm_factory: AlarmFactory,
        searchable_log_groups: list[logs.ILogGroup],
        archive: LoggingStack,
    ) -> None:
        super().__init__(scope, concern, config=config)
        search = config.search
        backup_bucket = archive.import_archive_bucket(self)
        self.log_search = LogSearch(
            self,
            "AuditSearch",
            subject="audit-search",
            domain_name=f"genba-{config.name}-audit",
            sizing=search.sizing,
            master_principal_arns=search.master_principal_arns,
            index_name="audit-logs",
            index_retention_days=search.index_retention_days,
            log_retention_days=search.log_retention_days,
            alarm_settings=LogSearchAlarmSettings(
                free_storage_percent=search.free_storage_alarm_percent,
                cpu_utilization_percent=search.cpu_alarm_percent,
                jvm_memory_pressure_percent=search.jvm_memory_pressure_alarm_percent,
            ),
            removal_policy=config.removal_policy,
            backup_bucket=backup_bucket,
            alarm_factory=alarm_factory,
        )
        for prefix, reason in prefix_reasons(self.log_search.index_name, "the log archive").items():
            acknowledge(
                self.log_search.delivery_role,
                "AwsSolutions-IAM5",
                reason,
                finding=f"Resource::{archive.archive_bucket_export}/{prefix}*",
            )
        for log_group in searchable_log_groups:
            self.log_search.subscribe(log_group)
        # The reference service has no VPC of its own; a service with one passes vpc= instead.
        self.log_search.acknowledge_public_endpoint(
            f"The {config.name} reference service has no VPC: the endpoint admits only this account's "
            "SigV4-signed requests, HTTPS with TLS 1.2+, and fine-grained access control decides per role."
        )
        if not search.master_nodes or search.availability_zones < 2:
            self.log_search.acknowledge_small_cluster(
                f"The {config.name} environment's search domain is sized small on purpose (cdk.json "
                f"genba.environments.{config.name}.search); production has masters and three zones."
            )
