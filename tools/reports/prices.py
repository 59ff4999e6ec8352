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

# Added for `make bench-sync` (USD per million changes). Checked 2026-12-02, without live access to
# aws.amazon.com from this machine, against what the search index holds: Lambda arm64 $0.0000133334
# per GB-s, $0.20 per million requests (https://aws.amazon.com/lambda/pricing/, as quoted by
# third-party copies); SQS: each 64 KB chunk of a request's payload is billed as one request
# (https://aws.amazon.com/sqs/pricing/, as quoted); DynamoDB Streams reads by Lambda triggers are
# free (AWS DynamoDB Developer Guide, CostOptimization_StreamsUsage.html). The SQS $0.40 per million,
# DynamoDB on-demand $0.125 per million read units and CloudWatch Logs $0.50 per GB ingested (EMF
# metrics are log events) are the values above, not re-verified. Re-check before budgeting.
SYNC_CHECKED = "2026-12-02 (search-index copies of the pages cited above; not the live pages)"
SQS_BILLING_CHUNK_BYTES = 64 * 1024
PRICES["lambda_gb_second_x86"] = Price(0.0000166667, "per GB-second (x86_64)", LAMBDA)
# Lambda allocates CPU in proportion to memory: 1,769 MB is one vCPU
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
LAMBDA_MB_PER_VCPU = 1769
