"""Unit prices the cost estimate uses, in one place, each with its source and the date read.

AWS list prices for us-east-1 (N. Virginia), on-demand, without free tiers. Other regions
differ (ap-northeast-1 is typically 10-30% higher): treat the estimate as an order of
magnitude for comparing environments and changes, not as a bill. Re-check the sources
before budgeting and update `CHECKED`.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKED = "2025-06 (AWS pricing pages; not re-verified since)"
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str


CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
S3 = "https://aws.amazon.com/s3/pricing/"
FIREHOSE = "https://aws.amazon.com/firehose/pricing/"
OPENSEARCH = "https://aws.amazon.com/opensearch-service/pricing/"
LAMBDA = "https://aws.amazon.com/lambda/pricing/"
SQS = "https://aws.amazon.com/sqs/pricing/"
KMS = "https://aws.amazon.com/kms/pricing/"
DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"

PRICES: dict[str, Price] = {
    "alarm_metric": Price(0.10, "per alarm metric-month (standard resolution)", CLOUDWATCH),
    "alarm_metric_high_resolution": Price(0.30, "per alarm metric-month (10/30 s periods)", CLOUDWATCH),
    "dashboard": Price(3.00, "per dashboard-month", CLOUDWATCH),
    "custom_metric": Price(0.30, "per custom metric-month (first 10,000)", CLOUDWATCH),
    "logs_ingestion": Price(0.50, "per GB ingested (standard class)", CLOUDWATCH),
    "logs_storage": Price(0.03, "per GB-month stored (compressed)", CLOUDWATCH),
    "s3_standard": Price(0.023, "per GB-month", S3),
    "s3_standard_ia": Price(0.0125, "per GB-month", S3),
    "s3_glacier_instant": Price(0.004, "per GB-month", S3),
    "s3_glacier_flexible": Price(0.0036, "per GB-month", S3),
    "s3_deep_archive": Price(0.00099, "per GB-month", S3),
    "firehose_ingestion": Price(0.029, "per GB ingested (first 500 TB)", FIREHOSE),
    "firehose_dynamic_partitioning": Price(0.020, "per GB processed by dynamic partitioning", FIREHOSE),
    "kms_key": Price(1.00, "per customer-managed key-month", KMS),
    "lambda_gb_second_arm": Price(0.0000133334, "per GB-second (arm64)", LAMBDA),
    "lambda_request": Price(0.20 / 1_000_000, "per request", LAMBDA),
    "sqs_request": Price(0.40 / 1_000_000, "per request (standard queue)", SQS),
    "dynamodb_write": Price(0.625 / 1_000_000, "per write request unit (on-demand)", DYNAMODB),
    "dynamodb_read": Price(0.125 / 1_000_000, "per read request unit (on-demand)", DYNAMODB),
    "opensearch_gp3_storage": Price(0.122, "per GB-month (gp3)", OPENSEARCH),
}

# OpenSearch instance hours, per instance type (on-demand, per hour).
OPENSEARCH_INSTANCE_HOUR: dict[str, float] = {
    "t3.small.search": 0.036,
    "t3.medium.search": 0.073,
    "m6g.large.search": 0.128,
    "m6g.xlarge.search": 0.256,
    "m7g.large.search": 0.136,
    "m7g.xlarge.search": 0.272,
    "r6g.large.search": 0.167,
    "r6g.xlarge.search": 0.335,
    "r7g.large.search": 0.178,
    "r7g.xlarge.search": 0.357,
    "c6g.large.search": 0.113,
    "or1.medium.search": 0.105,
    "or1.large.search": 0.209,
}
HOURS_PER_MONTH = 730
