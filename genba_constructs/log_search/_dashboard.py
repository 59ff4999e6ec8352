"""What a log search shows on the operations dashboard: cluster health, storage, CPU, memory, delivery.

The storage, CPU and freshness graphs are alarm widgets, so each shows its alarm's threshold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.log_search._ingestion import delivery_metric

if TYPE_CHECKING:
    from genba_constructs.log_search import LogSearch

_MAX = cloudwatch.Stats.MAXIMUM
_MINUTE = Duration.minutes(1)
_FIVE_MINUTES = Duration.minutes(5)


def search_widgets(search: LogSearch) -> list[cloudwatch.IWidget]:
    """The widgets of one log search, titled with its ``subject``."""
    subject, domain, dims, alarms = search.subject, search.domain, search.dimensions, search.alarms
    delivery_stream, master_nodes = search.delivery_stream, search.sizing.master_nodes
    status = cloudwatch.GraphWidget(
        title=f"{subject}: cluster status",
        left=[
            domain.metric_cluster_status_red(dimensions_map=dims, statistic=_MAX, period=_MINUTE).with_(
                label="red", color=cloudwatch.Color.RED
            ),
            domain.metric_cluster_status_yellow(dimensions_map=dims, statistic=_MAX, period=_MINUTE).with_(
                label="yellow", color=cloudwatch.Color.ORANGE
            ),
            domain.metric_cluster_index_writes_blocked(dimensions_map=dims, statistic=_MAX, period=_MINUTE).with_(
                label="writes blocked"
            ),
        ],
        width=8,
    )
    memory = [
        domain.metric_jvm_memory_pressure(dimensions_map=dims, statistic=_MAX, period=_MINUTE).with_(label="data nodes")
    ]
    if master_nodes:
        memory.append(
            domain.metric_master_jvm_memory_pressure(dimensions_map=dims, statistic=_MAX, period=_MINUTE).with_(
                label="masters"
            )
        )
    delivered = cloudwatch.GraphWidget(
        title=f"{subject}: documents delivered",
        left=[
            delivery_metric(
                delivery_stream, "DeliveryToAmazonOpenSearchService.Records", statistic="Sum", period=_FIVE_MINUTES
            ).with_(label="indexed"),
            delivery_metric(delivery_stream, "IncomingRecords", statistic="Sum", period=_FIVE_MINUTES).with_(
                label="received"
            ),
        ],
        right=[
            delivery_metric(
                delivery_stream,
                "DeliveryToAmazonOpenSearchService.Success",
                statistic=cloudwatch.Stats.AVERAGE,
                period=_FIVE_MINUTES,
            )
        ],
        width=8,
    )
    return [
        status,
        cloudwatch.AlarmWidget(
            alarm=alarms.get("opensearch-free-storage"), title=f"{subject}: free storage (MiB, least node)", width=8
        ),
        cloudwatch.AlarmWidget(alarm=alarms.get("opensearch-cpu"), title=f"{subject}: CPU (%)", width=8),
        cloudwatch.GraphWidget(title=f"{subject}: JVM memory pressure (%)", left=memory, width=8),
        delivered,
        cloudwatch.AlarmWidget(
            alarm=alarms.get("firehose-freshness"), title=f"{subject}: oldest undelivered record (s)", width=8
        ),
    ]
