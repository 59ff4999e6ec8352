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

from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from genba_constructs.alarm_table import AlarmRow, specs_from_table
from genba_constructs.alarms import AlarmFactory, AlarmSet, AlarmSpec, Thresholds
from genba_constructs.log_search._ingestion import delivery_metric
from genba_constructs.log_search.sizing import LogSearchAlarmSettings, free_storage_threshold_mib

if TYPE_CHECKING:
    from genba_constructs.log_search import LogSearch

_MAX = cloudwatch.Stats.MAXIMUM
_MIN = cloudwatch.Stats.MINIMUM
_MINUTE = Duration.minutes(1)
_FIVE_MINUTES = Duration.minutes(5)
_QUARTER = Duration.minutes(15)
_DAY = Duration.days(1)
_WARN = Thresholds(warning=1)
_GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
_LTE = cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD
_LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
_BLIND = cloudwatch.TreatMissingData.BREACHING  # the node count is always published: silence is an outage
#: below this average delivery success, the search receives (almost) nothing: a critical outage.
OUTAGE_SUCCESS_RATIO = 0.05

# What each alarm tells the person it wakes: (summary, first check), by runbook. ``{name}`` is
# the domain's name, ``{s}`` the alarm settings, ``{nodes}`` the configured node count and
# ``{prefix}`` where failed documents are backed up.
_TEXT = {
    "opensearch-cluster-red": (
        "At least one primary shard of {name} and its replicas are unassigned: searches miss data.",
        "GET _cluster/allocation/explain and the domain's error logs; free storage and JVM pressure.",
    ),
    "opensearch-cluster-yellow": (
        "At least one replica shard of {name} is not allocated: one more node failure may lose data.",
        "GET _cluster/allocation/explain; a single-node domain is always yellow when indices have replicas.",
    ),
    "opensearch-free-storage": (
        "A node of {name} has {s.free_storage_percent:g}% or less of its storage free; "
        "at the flood-stage watermark OpenSearch blocks writes.",
        "the ISM policy (old indices deleted?), index sizes (GET _cat/indices), then add storage.",
    ),
    "opensearch-writes-blocked": (
        "{name} blocks write requests: Firehose retries, then backs documents up to S3.",
        "FreeStorageSpace and JVMMemoryPressure, then GET _cluster/settings for index.blocks.",
    ),
    "opensearch-nodes": (
        "{name} has had fewer than its {nodes} configured nodes for a day.",
        "the domain's health in the console and the service events (a failed node not replaced).",
    ),
    "opensearch-snapshot-failure": (
        "An automated snapshot of {name} failed, often because the cluster is red.",
        "GET _snapshot/cs-automated-enc/_all and the cluster status.",
    ),
    "opensearch-cpu": (
        "The data nodes of {name} ran at {s.cpu_utilization_percent:g}% CPU or more for 45 minutes.",
        "search and index slow logs for expensive queries, then a larger instance type or more nodes.",
    ),
    "opensearch-jvm-memory": (
        "JVM memory pressure of {name}: {s.jvm_memory_pressure_percent:g}% or more: near out of memory.",
        "shard count and size (GET _cat/shards), heavy aggregations, then scale up.",
    ),
    "opensearch-master-cpu": (
        "Masters of {name} ran at {s.master_cpu_utilization_percent:g}% CPU+ for 45 min.",
        "the shard and index count, then a larger master instance type.",
    ),
    "opensearch-master-jvm-memory": (
        "JVM memory pressure of the dedicated masters of {name} is at {s.master_jvm_memory_pressure_percent:g}% "
        "or more.",
        "the shard and index count, then a larger master instance type.",
    ),
    "opensearch-kms-key-error": (
        "The KMS key that encrypts {name} is disabled: the domain cannot read or write its data.",
        "the key's state in KMS (enable it); the metric exists only while the key has a problem.",
    ),
    "opensearch-kms-key-inaccessible": (
        "The KMS key that encrypts {name} was deleted or its grants revoked.",
        "the key's state and grants in KMS and CloudTrail; restore from a snapshot if the key is gone.",
    ),
    "firehose-delivery": (
        "Firehose could not index some documents into {name}; they are backed up to s3://{{backup bucket}}/{prefix}.",
        "the delivery error log group, then replay the backed-up documents once fixed.",
    ),
    "firehose-freshness": (
        "The oldest log record waiting for delivery into {name} is older than {s.delivery_freshness_seconds} "
        "seconds: search results are stale.",
        "the delivery error log group and the domain's write block and cluster status alarms.",
    ),
}


def search_alarm_specs(search: LogSearch, settings: LogSearchAlarmSettings) -> list[AlarmSpec]:
    """Every alarm of one log search: cluster health, storage, CPU and memory, KMS, delivery."""
    d, sizing, s = search.domain, search.sizing, settings

    def on(metric: Callable[..., cloudwatch.Metric], period: Duration, statistic: str = _MAX) -> cloudwatch.Metric:
        """A domain metric from the L2's ``metric_*`` method, with genba's dimensions."""
        return metric(dimensions_map=search.dimensions, statistic=statistic, period=period)

    def delivery(metric_name: str, statistic: str) -> cloudwatch.Metric:
        name = f"DeliveryToAmazonOpenSearchService.{metric_name}"
        return delivery_metric(search.delivery_stream, name, statistic=statistic, period=_FIVE_MINUTES)

    one, free = Thresholds(critical=1), Thresholds(critical=free_storage_threshold_mib(sizing, s.free_storage_percent))
    nodes, fresh = Thresholds(critical=sizing.nodes), Thresholds(critical=s.delivery_freshness_seconds)
    cpu, jvm = Thresholds(warning=s.cpu_utilization_percent), Thresholds(critical=s.jvm_memory_pressure_percent)
    master_cpu = Thresholds(warning=s.master_cpu_utilization_percent)
    master_jvm = Thresholds(critical=s.master_jvm_memory_pressure_percent)
    # Critical delivery: (almost) nothing indexed for 5 minutes is a total ingestion outage.
    delivered = Thresholds(warning=s.delivery_success_ratio, critical=OUTAGE_SUCCESS_RATIO)
    rows = [
        AlarmRow("opensearch-cluster-red", on(d.metric_cluster_status_red, _MINUTE), one),
        AlarmRow("opensearch-cluster-yellow", on(d.metric_cluster_status_yellow, _MINUTE), _WARN, s.yellow_minutes),
        AlarmRow("opensearch-free-storage", on(d.metric_free_storage_space, _MINUTE, _MIN), free, 1, _LTE),
        AlarmRow("opensearch-writes-blocked", on(d.metric_cluster_index_writes_blocked, _FIVE_MINUTES), one),
        AlarmRow("opensearch-nodes", on(d.metric_nodes, _DAY, _MIN), nodes, 1, _LT, _BLIND),
        AlarmRow("opensearch-snapshot-failure", on(d.metric_automated_snapshot_failure, _MINUTE), _WARN),
        AlarmRow("opensearch-cpu", on(d.metric_cpu_utilization, _QUARTER), cpu, 3),
        AlarmRow("opensearch-jvm-memory", on(d.metric_jvm_memory_pressure, _MINUTE), jvm, 3),
    ]
    if sizing.master_nodes:
        rows += [
            AlarmRow("opensearch-master-cpu", on(d.metric_master_cpu_utilization, _QUARTER), master_cpu, 3),
            AlarmRow("opensearch-master-jvm-memory", on(d.metric_master_jvm_memory_pressure, _MINUTE), master_jvm, 3),
        ]
    rows += [
        AlarmRow("opensearch-kms-key-error", on(d.metric_kms_key_error, _MINUTE), one),
        AlarmRow("opensearch-kms-key-inaccessible", on(d.metric_kms_key_inaccessible, _MINUTE), one),
        AlarmRow("firehose-delivery", delivery("Success", cloudwatch.Stats.AVERAGE), delivered, 1, _LT),
        AlarmRow("firehose-freshness", delivery("DataFreshness", _MAX), fresh, 1, _GT),
    ]
    return specs_from_table(rows, _TEXT, name=search.domain_name, s=s, nodes=sizing.nodes, prefix=search.backup_prefix)


class SearchAlarms(Construct):
    """The alarms of :func:`search_alarm_specs`, made by ``alarm_factory`` under this construct (``Alarms``)."""

    def __init__(
        self, scope: Construct, id: str, *, alarm_factory: AlarmFactory, subject: str, specs: list[AlarmSpec]
    ) -> None:
        super().__init__(scope, id)
        self.alarms: AlarmSet = alarm_factory.create_all(self, subject=subject, specs=specs)
