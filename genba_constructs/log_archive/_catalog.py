"""How the archive is searched: the Glue database and tables (partition projection) and Athena.

What the tables and queries *say* (columns, projection, SQL) is plain data in
``genba_constructs.archive_catalog``; this module turns it into ``AWS::Glue`` and
``AWS::Athena`` resources. Like the buckets, they are direct children of the ``LogArchive``
(their logical ids are a contract).
"""

from __future__ import annotations

import re

from aws_cdk import Aws, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genba_constructs import archive_catalog as catalog
from genba_constructs._secure import encrypted_bucket, expiry_rule
from genba_constructs._validation import fail
from genba_constructs.log_archive.lifecycle import QUERY_BOUNDS, range_problem

_GIB = 1024**3


def check_query_props(construct: str, cutoff_gb: int, results_days: int, database_name: str | None) -> None:
    """The Athena workgroup's scan limit and result expiry, and the Glue database name."""
    for prop, value in (
        ("athena_bytes_scanned_cutoff_gb", cutoff_gb),
        ("athena_results_expire_after_days", results_days),
    ):
        problem = range_problem(value, QUERY_BOUNDS[prop])
        if problem:
            raise fail(construct, prop, value, problem)
    if database_name is not None and not re.fullmatch(r"[a-z0-9_]{1,255}", database_name):
        raise fail(construct, "database_name", database_name, "must be 1-255 lower-case letters, digits or _")


def default_database_name(scope: Construct) -> str:
    """``<stack name>_logs``, lower case, with ``_`` for anything Glue does not allow."""
    return re.sub(r"[^a-z0-9_]", "_", f"{Stack.of(scope).stack_name}_logs".lower())


def _columns(defs: tuple[catalog.Column, ...]) -> list[glue.CfnTable.ColumnProperty]:
    return [glue.CfnTable.ColumnProperty(name=c.name, type=c.type, comment=c.comment) for c in defs]


class ArchiveCatalog:
    """The Glue database, the application-log and CloudTrail tables, built into the archive's scope."""

    def __init__(self, scope: Construct, database_name: str, bucket_name: str, retention_days: int) -> None:
        self._bucket_name = bucket_name
        self._retention_days = retention_days
        self.database = glue.CfnDatabase(
            scope,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description="genba log archive: application logs and CloudTrail"
            ),
        )
        self.application_logs_table = self._table(
            scope,
            "ApplicationLogsTable",
            name=catalog.APPLICATION_LOGS_TABLE,
            description="Archived application log lines (genba logging convention), one JSON object per line",
            partitions=((catalog.LOG_GROUP_KEY, "log group subject"), (catalog.DATE_KEY, "UTC day of arrival")),
            # archive_log_group() adds each archived log group to the partition projection.
            parameters=self._application_log_parameters([]),
            storage=glue.CfnTable.StorageDescriptorProperty(
                columns=_columns(catalog.APPLICATION_LOG_COLUMNS),
                location=f"s3://{bucket_name}/{catalog.LOGS_PREFIX}",
                input_format=catalog.TEXT_INPUT_FORMAT,
                output_format=catalog.TEXT_OUTPUT_FORMAT,
                compressed=True,
                serde_info=glue.CfnTable.SerdeInfoProperty(
                    serialization_library=catalog.JSON_SERDE, parameters={"ignore.malformed.json": "true"}
                ),
            ),
        )
        account = Stack.of(scope).account
        self.cloudtrail_table = self._table(
            scope,
            "CloudTrailTable",
            name=catalog.CLOUDTRAIL_TABLE,
            description="CloudTrail records of the archive's trail",
            partitions=((catalog.CLOUDTRAIL_REGION_KEY, "region"), (catalog.CLOUDTRAIL_DAY_KEY, "yyyy/MM/dd")),
            parameters=catalog.cloudtrail_parameters(bucket_name, account, retention_days),
            storage=glue.CfnTable.StorageDescriptorProperty(
                columns=_columns(catalog.CLOUDTRAIL_COLUMNS),
                location=catalog.cloudtrail_location(bucket_name, account),
                input_format=catalog.CLOUDTRAIL_INPUT_FORMAT,
                output_format=catalog.TEXT_OUTPUT_FORMAT,
                serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=catalog.CLOUDTRAIL_SERDE),
            ),
        )

    def _table(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        description: str,
        partitions: tuple[tuple[str, str], ...],
        parameters: dict[str, str],
        storage: glue.CfnTable.StorageDescriptorProperty,
    ) -> glue.CfnTable:
        """An external table of the archive's database, partitioned by string keys ``(name, comment)``."""
        return glue.CfnTable(
            scope,
            id,
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database.ref,
            table_input=glue.CfnTable.TableInputProperty(
                name=name,
                description=description,
                table_type="EXTERNAL_TABLE",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=key, type="string", comment=comment)
                    for key, comment in partitions
                ],
                parameters=parameters,
                storage_descriptor=storage,
            ),
        )

    def _application_log_parameters(self, subjects: list[str]) -> dict[str, str]:
        # Before any log group is archived the enum needs a value: "none" matches no prefix.
        return catalog.application_log_parameters(self._bucket_name, subjects or ["none"], self._retention_days)

    def project_log_groups(self, subjects: list[str]) -> None:
        """Make the application-log table's partition projection list exactly these log groups."""
        self.application_logs_table.add_property_override(
            "TableInput.Parameters", self._application_log_parameters(sorted(subjects))
        )


class ArchiveQueries:
    """The Athena results bucket, the workgroup (enforced settings, scan limit) and the named queries."""

    def __init__(
        self,
        scope: Construct,
        *,
        database_name: str,
        key: kms.IKey,
        access_logs: s3.IBucket,
        removal: RemovalPolicy,
        cutoff_gb: int,
        results_days: int,
    ) -> None:
        stack_name = Stack.of(scope).stack_name
        self.results_bucket = encrypted_bucket(
            scope,
            "QueryResults",
            key=key,
            access_logs=access_logs,
            access_logs_prefix="athena-results/",
            removal=removal,
            lifecycle_rules=[
                expiry_rule(
                    "expire-results",
                    expire_after_days=results_days,
                    noncurrent_after_days=1,
                    abort_uploads_after_days=1,
                )
            ],
            replication_reason="Athena query results are disposable copies that expire after days; "
            "replicating them adds cost only.",
        )
        self.workgroup = athena.CfnWorkGroup(
            scope,
            "WorkGroup",
            name=f"{stack_name}-logs",
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
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                    expected_bucket_owner=Aws.ACCOUNT_ID,
                ),
            ),
        )
        self.named_queries: dict[str, athena.CfnNamedQuery] = {
            query.construct_id: athena.CfnNamedQuery(
                scope,
                query.construct_id,
                name=f"{stack_name}: {query.name}",
                description=query.description,
                database=database_name,
                work_group=self.workgroup.ref,
                query_string=query.sql,
            )
            for query in catalog.named_queries(database_name)
        }
