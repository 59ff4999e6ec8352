"""The alarms AWS recommends for OpenSearch Service, and for Firehose delivery into it, as data.

:func:`search_alarm_specs` lists every alarm of a log search (one :class:`AlarmSpec` each);
:class:`SearchAlarms` (construct id ``Alarms``, as before: logical ids are a contract) has the
alarm factory make them. Thresholds come from :class:`LogSearchAlarmSettings`; the free storage
threshold from the domain's sizing. Master node alarms exist only with dedicated masters.

Domain metrics come from the OpenSearch L2's ``metric_*`` methods, given the dimensions
genba's alarms have always had (see ``_domain.domain_dimensions``); the delivery metrics are
built by hand, because the delivery stream is an L1 without ``metric_*`` methods.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from genba_constructs.alarms import AlarmFactory, AlarmSet, AlarmSpec, Thresholds
from genba_constructs.log_search._ingestion import delivery_metric
from genba_constructs.log_search.sizing import LogSearchAlarmSettings, SearchSizing, free_storage_threshold_mib

_MAX = cloudwatch.Stats.MAXIMUM
_MIN = cloudwatch.Stats.MINIMUM
_MINUTE = Duration.minutes(1)
_GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
_QUIET = cloudwatch.TreatMissingData.NOT_BREACHING
#: below this average delivery success, the search receives (almost) nothing: a critical outage.
OUTAGE_SUCCESS_RATIO = 0.05


def search_alarm_specs(
    *,
    domain: opensearch.Domain,
    dimensions: dict[str, str],
    domain_name: str,
    delivery_stream: firehose.CfnDeliveryStream,
    backup_prefix: str,
    sizing: SearchSizing,
    settings: LogSearchAlarmSettings,
) -> list[AlarmSpec]:
    """Every alarm of one log search: cluster health, storage, CPU and memory, KMS, delivery."""
    name, dims = domain_name, dimensions
    specs = [
        AlarmSpec(
            runbook="opensearch-cluster-red",
            summary=f"At least one primary shard of {name} and its replicas are unassigned: searches miss data.",
            first_check="GET _cluster/allocation/explain and the domain's error logs; free storage and JVM pressure.",
            metric=domain.metric_cluster_status_red(dimensions_map=dims, statistic=_MAX, period=_MINUTE),
            thresholds=Thresholds(critical=1),
            comparison=_GTE,
            missing_data=_QUIET,
        ),
        AlarmSpec(
            runbook="opensearch-cluster-yellow",
            summary=f"At least one replica shard of {name} is not allocated: one more node failure may lose data.",
            first_check="GET _cluster/allocation/explain; a single-node domain is always yellow when indices have "
            "replicas.",
            metric=domain.metric_cluster_status_yellow(dimensions_map=dims, statistic=_MAX, period=_MINUTE),
            thresholds=Thresholds(warning=1),
            comparison=_GTE,
            missing_data=_QUIET,
            evaluation_periods=settings.yellow_minutes,
        ),
        AlarmSpec(
            runbook="opensearch-free-storage",
            summary=f"A node of {name} has {settings.free_storage_percent:g}% or less of its storage free; "
            "at the flood-stage watermark OpenSearch blocks writes.",
            first_check="the ISM policy (old indices deleted?), index sizes (GET _cat/indices), then add storage.",
            metric=domain.metric_free_storage_space(dimensions_map=dims, statistic=_MIN, period=_MINUTE),
            thresholds=Thresholds(critical=free_storage_threshold_mib(sizing, settings.free_storage_percent)),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
            missing_data=_QUIET,
        ),
        AlarmSpec(
            runbook="opensearch-writes-blocked",
            summary=f"{name} blocks write requests: Firehose retries, then backs documents up to S3.",
            first_check="FreeStorageSpace and JVMMemoryPressure, then GET _cluster/settings for index.blocks.",
            metric=domain.metric_cluster_index_writes_blocked(
                dimensions_map=dims, statistic=_MAX, period=Duration.minutes(5)
            ),
            thresholds=Thresholds(critical=1),
            comparison=_GTE,
            missing_data=_QUIET,
        ),
        AlarmSpec(
            runbook="opensearch-nodes",
            summary=f"{name} has had fewer than its {sizing.nodes} configured nodes for a day.",
            first_check="the domain's health in the console and the service events (a failed node not replaced).",
            metric=domain.metric_nodes(dimensions_map=dims, statistic=_MIN, period=Duration.days(1)),
            thresholds=Thresholds(critical=sizing.nodes),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing_data=cloudwatch.TreatMissingData.BREACHING,
        ),
        AlarmSpec(
            runbook="opensearch-snapshot-failure",
            summary=f"An automated snapshot of {name} failed, often because the cluster is red.",
            first_check="GET _snapshot/cs-automated-enc/_all and the cluster status.",
            metric=domain.metric_automated_snapshot_failure(dimensions_map=dims, statistic=_MAX, period=_MINUTE),
            thresholds=Thresholds(warning=1),
            comparison=_GTE,
            missing_data=_QUIET,
        ),
        AlarmSpec(
            runbook="opensearch-cpu",
            summary=f"The data nodes of {name} ran at {settings.cpu_utilization_percent:g}% CPU or more for "
            "45 minutes.",
            first_check="search and index slow logs for expensive queries, then a larger instance type or more nodes.",
            metric=domain.metric_cpu_utilization(dimensions_map=dims, statistic=_MAX, period=Duration.minutes(15)),
            thresholds=Thresholds(warning=settings.cpu_utilization_percent),
            comparison=_GTE,
            missing_data=_QUIET,
            evaluation_periods=3,
        ),
        AlarmSpec(
            runbook="opensearch-jvm-memory",
            summary=f"JVM memory pressure of {name}: {settings.jvm_memory_pressure_percent:g}% or more: near out "
            "of memory.",
            first_check="shard count and size (GET _cat/shards), heavy aggregations, then scale up.",
            metric=domain.metric_jvm_memory_pressure(dimensions_map=dims, statistic=_MAX, period=_MINUTE),
            thresholds=Thresholds(critical=settings.jvm_memory_pressure_percent),
            comparison=_GTE,
            missing_data=_QUIET,
            evaluation_periods=3,
        ),
    ]
    if sizing.master_nodes:
        specs += [
            AlarmSpec(
                runbook="opensearch-master-cpu",
                summary=f"Masters of {name} ran at {settings.master_cpu_utilization_percent:g}% CPU+ for 45 min.",
                first_check="the shard and index count, then a larger master instance type.",
                metric=domain.metric_master_cpu_utilization(
                    dimensions_map=dims, statistic=_MAX, period=Duration.minutes(15)
                ),
                thresholds=Thresholds(warning=settings.master_cpu_utilization_percent),
                comparison=_GTE,
                missing_data=_QUIET,
                evaluation_periods=3,
            ),
            AlarmSpec(
                runbook="opensearch-master-jvm-memory",
                summary=f"JVM memory pressure of the dedicated masters of {name} is at "
                f"{settings.master_jvm_memory_pressure_percent:g}% or more.",
                first_check="the shard and index count, then a larger master instance type.",
                metric=domain.metric_master_jvm_memory_pressure(dimensions_map=dims, statistic=_MAX, period=_MINUTE),
                thresholds=Thresholds(critical=settings.master_jvm_memory_pressure_percent),
                comparison=_GTE,
                missing_data=_QUIET,
                evaluation_periods=3,
            ),
        ]
    specs += [
        AlarmSpec(
            runbook="opensearch-kms-key-error",
            summary=f"The KMS key that encrypts {name} is disabled: the domain cannot read or write its data.",
            first_check="the key's state in KMS (enable it); the metric exists only while the key has a problem.",
            metric=domain.metric_kms_key_error(dimensions_map=dims, statistic=_MAX, period=_MINUTE),
            thresholds=Thresholds(critical=1),
            comparison=_GTE,
            missing_data=_QUIET,
        ),
        AlarmSpec(
            runbook="opensearch-kms-key-inaccessible",
            summary=f"The KMS key that encrypts {name} was deleted or its grants revoked.",
            first_check="the key's state and grants in KMS and CloudTrail; restore from a snapshot if the key is gone.",
            metric=domain.metric_kms_key_inaccessible(dimensions_map=dims, statistic=_MAX, period=_MINUTE),
            thresholds=Thresholds(critical=1),
            comparison=_GTE,
            missing_data=_QUIET,
        ),
        AlarmSpec(
            runbook="firehose-delivery",
            summary=f"Firehose could not index some documents into {name}; they are backed up to "
            f"s3://{{backup bucket}}/{backup_prefix}.",
            first_check="the delivery error log group, then replay the backed-up documents once fixed.",
            metric=delivery_metric(
                delivery_stream,
                "DeliveryToAmazonOpenSearchService.Success",
                statistic=cloudwatch.Stats.AVERAGE,
                period=Duration.minutes(5),
            ),
            # Critical: (almost) nothing indexed for 5 minutes is a total ingestion outage.
            thresholds=Thresholds(warning=settings.delivery_success_ratio, critical=OUTAGE_SUCCESS_RATIO),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing_data=_QUIET,
        ),
        AlarmSpec(
            runbook="firehose-freshness",
            summary=f"The oldest log record waiting for delivery into {name} is older than "
            f"{settings.delivery_freshness_seconds} seconds: search results are stale.",
            first_check="the delivery error log group and the domain's write block and cluster status alarms.",
            metric=delivery_metric(
                delivery_stream,
                "DeliveryToAmazonOpenSearchService.DataFreshness",
                statistic=_MAX,
                period=Duration.minutes(5),
            ),
            thresholds=Thresholds(critical=settings.delivery_freshness_seconds),
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            missing_data=_QUIET,
        ),
    ]
    return specs


class SearchAlarms(Construct):
    """The alarms of :func:`search_alarm_specs`, made by ``alarm_factory`` under this construct (``Alarms``)."""

    def __init__(
        self, scope: Construct, id: str, *, alarm_factory: AlarmFactory, subject: str, specs: list[AlarmSpec]
    ) -> None:
        super().__init__(scope, id)
        self.alarms: AlarmSet = alarm_factory.create_all(self, subject=subject, specs=specs)
