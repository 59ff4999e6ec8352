"""The cost estimate, on a fixed template and config, so each line can be checked by hand."""

from __future__ import annotations

import json

import pytest

from stacks.config import CostConfig, EnvironmentConfig, LoggingConfig
from tests.conftest import ROOT
from tools.reports.cost_estimate import estimate, render
from tools.reports.prices import CHECKED, PRICES

TEMPLATE = json.loads((ROOT / "tests" / "data" / "cost_template.json").read_text())
CONFIG = EnvironmentConfig(
    name="test",
    region="us-east-1",
    owner="o",
    alarm_emails=("a@example.com",),
    logging=LoggingConfig(
        application_log_retention_days=30,
        audit_log_retention_days=60,
        archive_infrequent_access_after_days=30,
        archive_glacier_after_days=90,
        archive_expire_after_days=365,
    ),
    cost=CostConfig(
        log_ingestion_gb_per_month=100,
        log_compression_ratio=0.1,
        sync_changes_per_month=1_000_000,
        custom_metric_values_per_dimension=4,
    ),
)


@pytest.fixture(scope="module")
def items() -> dict[str, float]:
    return {item.item: round(item.usd, 4) for item in estimate([TEMPLATE], CONFIG)}


def test_alarms_cost_per_metric_they_read(items: dict[str, float]) -> None:
    assert items["alarm metrics (standard resolution)"] == round(3 * 0.10, 4)  # 1 + 2 metrics


def test_dashboards_keys_and_custom_metrics(items: dict[str, float]) -> None:
    assert items["dashboards"] == 3.00
    assert items["KMS keys"] == 1.00
    # 4 values of the Level dimension + 1 plain filter metric + 6 EMF metrics of one namespace
    assert items["custom metrics (metric filters, EMF)"] == round(11 * 0.30, 4)


def test_logs_firehose_and_archive_by_class(items: dict[str, float]) -> None:
    assert items["log ingestion, GB"] == 50.00
    assert items["log storage, GB-month (compressed)"] == round(100 * 0.1 * 60 / 30.4 * 0.03, 4)
    assert items["Firehose ingestion, GB"] == round(100 * 0.029, 4)
    assert items["Firehose dynamic partitioning, GB"] == round(100 * 0.020, 4)
    assert items["archive S3 Standard, GB-month"] == round(10 * 30 / 30.4 * 0.023, 4)
    assert items["archive S3 Standard-IA, GB-month"] == round(10 * 60 / 30.4 * 0.0125, 4)
    assert items["archive S3 Glacier, GB-month"] == round(10 * 275 / 30.4 * 0.004, 4)


def test_opensearch_instances_and_storage(items: dict[str, float]) -> None:
    assert items["OpenSearch data nodes (3 x r6g.large.search)"] == round(3 * 0.167 * 730, 4)
    assert items["OpenSearch master nodes (3 x m6g.large.search)"] == round(3 * 0.128 * 730, 4)
    assert items["OpenSearch storage, GB-month"] == round(300 * 0.122, 4)


def test_sync_pipeline_is_priced_per_change(items: dict[str, float]) -> None:
    assert items["sync: SQS requests"] == round(1_000_000 * 0.3 * 0.40 / 1_000_000, 4)
    assert items["sync: target read units"] == round(1_000_000 * 0.125 / 1_000_000, 4)


def test_report_states_prices_date_and_total() -> None:
    text = render("test", estimate([TEMPLATE], CONFIG))
    assert CHECKED in text
    total = sum(item.usd for item in estimate([TEMPLATE], CONFIG))
    assert text.rstrip().endswith(f"{total:,.2f}")


def test_every_price_names_its_source() -> None:
    assert all(price.source.startswith("https://aws.amazon.com/") and price.unit for price in PRICES.values())
