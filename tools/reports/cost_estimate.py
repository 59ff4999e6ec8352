"""Estimated monthly cost of each environment's genba baseline, from its templates and config.

    make cost

Counted from the synthesized templates: alarms (per metric they read), dashboards, custom
metrics (metric filters, Lambda EMF namespaces), KMS keys, Firehose streams, OpenSearch
instances and storage. From the config (`cost` section): log volume (ingestion, storage for
the configured retention, archive storage by class over its life cycle) and the sync change
rate (Lambda, SQS, DynamoDB reads). Unit prices, with their source and date: tools/reports/prices.py.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import ROOT
from tools.reports.prices import CHECKED, HOURS_PER_MONTH, OPENSEARCH_INSTANCE_HOUR, PRICES, REGION

DAYS_PER_MONTH = 30.4

# Assumptions about handlers, per change, for the sync pipeline (see docs and the sync benchmark).
SYNC_SQS_REQUESTS_PER_CHANGE = 0.1 + 0.1 + 0.1  # batched send, receive, delete
SYNC_LAMBDA_INVOCATIONS_PER_CHANGE = 0.02  # forwarder and verifier batches
SYNC_LAMBDA_GB_SECONDS_PER_CHANGE = 0.0005
SYNC_TARGET_READS_PER_CHANGE = 1.0  # one read unit per verified change (batched calls)
EMF_METRICS_PER_NAMESPACE = 6


@dataclass(frozen=True)
class LineItem:
    item: str
    quantity: float
    price: str  # key in PRICES, or "" for items priced otherwise
    usd: float


def _priced(item: str, quantity: float, price: str) -> LineItem:
    return LineItem(item, quantity, price, quantity * PRICES[price].usd)


def _resources(templates: Iterable[dict[str, Any]], resource_type: str) -> list[dict[str, Any]]:
    return [r for t in templates for r in t.get("Resources", {}).values() if r.get("Type") == resource_type]


def _alarm_metric_count(alarm: dict[str, Any]) -> tuple[int, bool]:
    props = alarm.get("Properties", {})
    metrics = props.get("Metrics")
    if metrics:
        stats = [m for m in metrics if "MetricStat" in m]
        high_res = any(m["MetricStat"].get("Period", 60) < 60 for m in stats)
        queries = [m for m in metrics if "Expression" in m and "SELECT" in str(m["Expression"]).upper()]
        return max(len(stats) + len(queries), 1), high_res
    return 1, props.get("Period", 60) < 60


def estimate(templates: list[dict[str, Any]], config: Any) -> list[LineItem]:
    """Line items of one environment's monthly cost."""
    items: list[LineItem] = []
    standard = high_res = 0
    for alarm in _resources(templates, "AWS::CloudWatch::Alarm"):
        count, is_high = _alarm_metric_count(alarm)
        high_res += count if is_high else 0
        standard += 0 if is_high else count
    items.append(_priced("alarm metrics (standard resolution)", standard, "alarm_metric"))
    if high_res:
        items.append(_priced("alarm metrics (high resolution)", high_res, "alarm_metric_high_resolution"))
    items.append(_priced("dashboards", len(_resources(templates, "AWS::CloudWatch::Dashboard")), "dashboard"))

    values = config.cost.custom_metric_values_per_dimension
    filter_metrics = sum(
        values if f["Properties"]["MetricTransformations"][0].get("Dimensions") else 1
        for f in _resources(templates, "AWS::Logs::MetricFilter")
    )
    emf_namespaces = {
        f["Properties"].get("Environment", {}).get("Variables", {}).get("POWERTOOLS_METRICS_NAMESPACE")
        for f in _resources(templates, "AWS::Lambda::Function")
    } - {None}
    custom = filter_metrics + EMF_METRICS_PER_NAMESPACE * len(emf_namespaces)
    items.append(_priced("custom metrics (metric filters, EMF)", custom, "custom_metric"))
    items.append(_priced("KMS keys", len(_resources(templates, "AWS::KMS::Key")), "kms_key"))

    gb = config.cost.log_ingestion_gb_per_month
    ratio = config.cost.log_compression_ratio
    logging = config.logging
    items.append(_priced("log ingestion, GB", gb, "logs_ingestion"))
    # Retention is split between the log groups: the longer (audit) one bounds the estimate.
    retention_months = max(logging.application_log_retention_days, logging.audit_log_retention_days) / DAYS_PER_MONTH
    items.append(_priced("log storage, GB-month (compressed)", gb * ratio * retention_months, "logs_storage"))

    streams = _resources(templates, "AWS::KinesisFirehose::DeliveryStream")
    if streams:
        items.append(_priced("Firehose ingestion, GB", gb * len(streams), "firehose_ingestion"))
        partitioned = sum(
            1
            for s in streams
            if s["Properties"]
            .get("ExtendedS3DestinationConfiguration", {})
            .get("DynamicPartitioningConfiguration", {})
            .get("Enabled")
        )
        if partitioned:
            items.append(
                _priced("Firehose dynamic partitioning, GB", gb * partitioned, "firehose_dynamic_partitioning")
            )
        archived = gb * ratio  # GB arriving in the archive per month, gzip-compressed
        standard_months = logging.archive_infrequent_access_after_days / DAYS_PER_MONTH
        ia_months = (logging.archive_glacier_after_days - logging.archive_infrequent_access_after_days) / DAYS_PER_MONTH
        glacier_months = (logging.archive_expire_after_days - logging.archive_glacier_after_days) / DAYS_PER_MONTH
        items.append(_priced("archive S3 Standard, GB-month", archived * standard_months, "s3_standard"))
        items.append(_priced("archive S3 Standard-IA, GB-month", archived * ia_months, "s3_standard_ia"))
        items.append(_priced("archive S3 Glacier, GB-month", archived * glacier_months, "s3_glacier_instant"))

    for domain in _resources(templates, "AWS::OpenSearchService::Domain"):
        props = domain["Properties"]
        cluster = props.get("ClusterConfig", {})
        for kind, type_key, count_key in (
            ("data", "InstanceType", "InstanceCount"),
            ("master", "DedicatedMasterType", "DedicatedMasterCount"),
        ):
            instance_type = cluster.get(type_key)
            count = cluster.get(count_key, 1 if kind == "data" else 0)
            if not instance_type or not count or (kind == "master" and not cluster.get("DedicatedMasterEnabled")):
                continue
            hourly = OPENSEARCH_INSTANCE_HOUR.get(instance_type)
            if hourly is None:
                raise SystemExit(
                    f"cost estimate: no price for OpenSearch instance type {instance_type} (tools/reports/prices.py)"
                )
            items.append(
                LineItem(
                    f"OpenSearch {kind} nodes ({count} x {instance_type})", count, "", count * hourly * HOURS_PER_MONTH
                )
            )
        volume = props.get("EBSOptions", {}).get("VolumeSize", 0) * cluster.get("InstanceCount", 1)
        items.append(_priced("OpenSearch storage, GB-month", volume, "opensearch_gp3_storage"))

    changes = config.cost.sync_changes_per_month
    stream_mappings = [
        m for m in _resources(templates, "AWS::Lambda::EventSourceMapping") if "StartingPosition" in m["Properties"]
    ]
    if stream_mappings:  # a stream-fed pipeline (sync verification) is priced per change
        items.append(_priced("sync: SQS requests", changes * SYNC_SQS_REQUESTS_PER_CHANGE, "sqs_request"))
        items.append(_priced("sync: Lambda requests", changes * SYNC_LAMBDA_INVOCATIONS_PER_CHANGE, "lambda_request"))
        items.append(
            _priced("sync: Lambda GB-seconds", changes * SYNC_LAMBDA_GB_SECONDS_PER_CHANGE, "lambda_gb_second_arm")
        )
        items.append(_priced("sync: target read units", changes * SYNC_TARGET_READS_PER_CHANGE, "dynamodb_read"))
    return items


def render(environment: str, items: list[LineItem]) -> str:
    lines = [f"{environment}: estimated monthly cost (USD, {REGION} list prices checked {CHECKED})"]
    for item in items:
        lines.append(f"  {item.item:<48}{item.quantity:>14,.1f}{item.usd:>12,.2f}")
    lines.append(f"  {'total':<48}{'':>14}{sum(i.usd for i in items):>12,.2f}")
    return "\n".join(lines)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from app import build_app, cdk_json_context
    from stacks.config import load_environments
    from tools.assembly import stacks_in

    context = cdk_json_context()
    configs = {c.name: c for c in load_environments(context)}
    with tempfile.TemporaryDirectory() as outdir:
        build_app(context, outdir=outdir).synth()
        stacks = stacks_in(Path(outdir))
        for name, config in configs.items():
            templates = [s.template for s in stacks if s.environment == name]
            print(render(name, estimate(templates, config)))
    print("unit prices and their sources: tools/reports/prices.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
