"""The archive's Athena queries parse as Trino SQL, and its Glue tables accept what the archive holds.

Sample lines are written by genba_logging itself, wrapped into a CloudWatch Logs subscription
record, and put through what the delivery stream is configured to do (decompress, extract the
messages, one line each, gzip) under the S3 key its prefix produces. The Glue table must then
find that key through its partition projection and read every field into a column of a
compatible type.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlglot
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from sqlglot import exp

from genba_constructs import LogArchive, ServiceLogGroup
from genba_constructs import archive_catalog as catalog
from tests.conftest import ROOT, new_stack

sys.path.insert(0, str(ROOT / "lambda" / "_shared" / "python"))

import genba_logging

BUCKET = "genba-archive-test"
ACCOUNT = "123456789012"
NOW = datetime(2026, 11, 29, 9, 30, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    stack = new_stack()
    archive = LogArchive(stack, "Archive", bucket=s3.Bucket.from_bucket_name(stack, "Bucket", BUCKET))
    archive.archive_log_group(ServiceLogGroup(stack, "AppLogs", subject="app-logs"))
    archive.archive_log_group(ServiceLogGroup(stack, "AuditLogs", subject="audit-logs"))
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def of_type(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == type_]


def table(template: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [t["TableInput"] for t in of_type(template, "AWS::Glue::Table") if t["TableInput"]["Name"] == name]
    return found  # type: ignore[no-any-return]


def stream_prefix(template: dict[str, Any], subject: str) -> str:
    prefixes = [
        s["ExtendedS3DestinationConfiguration"]["Prefix"]
        for s in of_type(template, "AWS::KinesisFirehose::DeliveryStream")
    ]
    (prefix,) = [p for p in prefixes if f"={subject}/" in p]
    return prefix


# ---- the named queries ---------------------------------------------------------------------


def deployed_queries(template: dict[str, Any]) -> dict[str, str]:
    return {q["Name"]: q["QueryString"] for q in of_type(template, "AWS::Athena::NamedQuery")}


def test_there_are_three_named_queries(template: dict[str, Any]) -> None:
    assert len(deployed_queries(template)) == 3


@pytest.mark.parametrize("dialect", ["trino", "presto"])
def test_every_named_query_parses(template: dict[str, Any], dialect: str) -> None:
    for name, sql in deployed_queries(template).items():
        parsed = sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
        assert len(parsed) == 1, name
        assert isinstance(parsed[0], exp.Select), name


def table_columns(template: dict[str, Any], name: str) -> set[str]:
    t = table(template, name)
    return {c["Name"] for c in t["StorageDescriptor"]["Columns"]} | {k["Name"] for k in t["PartitionKeys"]}


def test_every_column_a_query_reads_exists_in_its_table(template: dict[str, Any]) -> None:
    checked = 0
    for name, sql in deployed_queries(template).items():
        parsed = sqlglot.parse_one(sql, read="trino")
        (source,) = list(parsed.find_all(exp.Table))
        columns = table_columns(template, source.name)
        aliases = {a.alias for a in parsed.find_all(exp.Alias)}
        for column in parsed.find_all(exp.Column):
            # useridentity.arn parses as column "arn" of "useridentity": the struct column is the root.
            root = column.table or column.name
            if root in aliases:
                continue
            assert root in columns, f"{name}: {root} is not a column of {source.name}"
            checked += 1
    assert checked > 10


def test_queries_bound_their_scan_by_a_partition_key(template: dict[str, Any]) -> None:
    for name, sql in deployed_queries(template).items():
        where = sqlglot.parse_one(sql, read="trino").find(exp.Where)
        assert where is not None, name
        used = {c.name for c in where.find_all(exp.Column)}
        assert used & {catalog.DATE_KEY, catalog.CLOUDTRAIL_DAY_KEY}, f"{name} scans every partition"


# ---- sample archived lines -----------------------------------------------------------------


def sample_lines() -> list[str]:
    stream = io.StringIO()
    logger = genba_logging.get_logger("genba-catalog-sample", stream=stream)

    class Context:
        function_name = "genba-sample"
        memory_limit_in_mb = 128
        invoked_function_arn = f"arn:aws:lambda:ap-northeast-1:{ACCOUNT}:function:genba-sample"
        aws_request_id = "9d1c1f64-7d4a-4c4f-9a57-3e0f7c0d2b11"

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> None:
        logger.set_correlation_id(event["request_id"])
        logger.info("user signed in")
        logger.warning("slow upstream", extra={"duration_ms": 812.4})
        try:
            raise TimeoutError("mail server did not answer")
        except TimeoutError:
            logger.exception("sending mail failed")
        logger.info("request completed", extra={"duration_ms": 1043})

    handler({"request_id": "0f4b7c1e-2d3a-4e5f-8a9b-0c1d2e3f4a5b"}, Context())
    logger.info("outside any request")
    return [line for line in stream.getvalue().splitlines() if line.strip()]


def subscription_record(lines: list[str], log_group: str) -> bytes:
    """What CloudWatch Logs puts to Firehose: a gzipped DATA_MESSAGE envelope."""
    envelope = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": log_group,
        "logStream": "2026/11/29/[$LATEST]abc",
        "subscriptionFilters": ["genba-archive"],
        "logEvents": [
            {"id": str(i), "timestamp": int(NOW.timestamp() * 1000), "message": line} for i, line in enumerate(lines)
        ],
    }
    return gzip.compress(json.dumps(envelope).encode())


def firehose_object(records: list[bytes], processors: list[dict[str, Any]], compression: str) -> bytes:
    """The S3 object the configured processors and output compression produce from ``records``."""
    out = b""
    for record in records:
        data = [record]
        for processor in processors:
            params = {p["ParameterName"]: p["ParameterValue"] for p in processor.get("Parameters", [])}
            if processor["Type"] == "Decompression":
                assert params["CompressionFormat"] == "GZIP"
                data = [gzip.decompress(d) for d in data]
            elif processor["Type"] == "CloudWatchLogProcessing":
                assert params["DataMessageExtraction"] == "true"
                data = [e["message"].encode() for d in data for e in json.loads(d)["logEvents"]]
            elif processor["Type"] == "AppendDelimiterToRecord":
                data = [d + params["Delimiter"].encode().decode("unicode_escape").encode() for d in data]
            else:
                raise AssertionError(f"unexpected processor {processor['Type']}")
        out += b"".join(data)
    assert compression == "GZIP"
    return gzip.compress(out)


def firehose_key(prefix: str, when: datetime) -> str:
    """Firehose's rendering of !{timestamp:<java format>} in a prefix (the record's arrival time, UTC)."""

    def render(match: re.Match[str]) -> str:
        java = match.group(1)
        python = java.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d").replace("HH", "%H")
        return when.strftime(python)

    rendered = re.sub(r"!\{timestamp:([^}]+)\}", render, prefix)
    assert "!{" not in rendered
    return f"{rendered}genba-archive-1-2026-11-29-09-30-12-abcd.gz"


def projected_partition(parameters: dict[str, str], key: str, now: datetime) -> dict[str, str]:
    """The partition values Athena's projection finds ``key`` under, or an AssertionError."""
    template = parameters["storage.location.template"]
    names = re.findall(r"\$\{([a-z_]+)\}", template)
    pattern = re.escape(template)
    for name in names:
        value_pattern = "[^/]+"
        if parameters[f"projection.{name}.type"] == "date":  # a date format may contain "/"
            java = parameters[f"projection.{name}.format"]
            value_pattern = re.escape(java).replace("yyyy", r"\d{4}").replace("MM", r"\d{2}").replace("dd", r"\d{2}")
        pattern = pattern.replace(re.escape(f"${{{name}}}"), f"(?P<{name}>{value_pattern})")
    match = re.match(pattern, f"s3://{BUCKET}/{key}")
    assert match, f"{key} is not under {template}"
    values = match.groupdict()
    for name, value in values.items():
        kind = parameters[f"projection.{name}.type"]
        if kind == "enum":
            assert value in parameters[f"projection.{name}.values"].split(","), (name, value)
        elif kind == "date":
            java = parameters[f"projection.{name}.format"]
            day = datetime.strptime(value, java.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d"))
            start, end = parameters[f"projection.{name}.range"].split(",")
            days = int(re.fullmatch(r"NOW-(\d+)DAYS", start).group(1))  # type: ignore[union-attr]
            assert end == "NOW"
            assert (now - timedelta(days=days)).date() <= day.date() <= now.date(), (name, value)
        else:
            raise AssertionError(f"unexpected projection type {kind}")
    return values


GLUE_TYPES = {str: {"string"}, bool: {"boolean"}, int: {"double", "bigint", "int"}, float: {"double"}, dict: {"string"}}


@pytest.mark.parametrize("subject", ["app-logs", "audit-logs"])
def test_archived_lines_land_where_the_table_projects_them(template: dict[str, Any], subject: str) -> None:
    key = firehose_key(stream_prefix(template, subject), NOW)
    values = projected_partition(table(template, catalog.APPLICATION_LOGS_TABLE)["Parameters"], key, NOW)
    assert values == {"log_group": subject, "dt": "2026-11-29"}


def test_table_location_contains_every_archived_key(template: dict[str, Any]) -> None:
    location = table(template, catalog.APPLICATION_LOGS_TABLE)["StorageDescriptor"]["Location"]
    assert f"s3://{BUCKET}/{firehose_key(stream_prefix(template, 'app-logs'), NOW)}".startswith(location)


def test_every_field_of_an_archived_line_is_a_column_of_a_compatible_type(template: dict[str, Any]) -> None:
    (stream,) = [
        s["ExtendedS3DestinationConfiguration"]
        for s in of_type(template, "AWS::KinesisFirehose::DeliveryStream")
        if "app-logs" in s["ExtendedS3DestinationConfiguration"]["Prefix"]
    ]
    lines = sample_lines()
    records = [
        subscription_record(lines[:3], "/genba/test/application"),
        subscription_record(lines[3:], "/genba/test/application"),
    ]
    body = gzip.decompress(
        firehose_object(records, stream["ProcessingConfiguration"]["Processors"], stream["CompressionFormat"])
    )
    rows = [json.loads(line) for line in body.decode().split("\n") if line]
    assert len(rows) == len(lines) == 5
    t = table(template, catalog.APPLICATION_LOGS_TABLE)
    columns = {c["Name"]: c["Type"] for c in t["StorageDescriptor"]["Columns"]}
    partition_keys = {k["Name"] for k in t["PartitionKeys"]}
    for row in rows:
        for field, value in row.items():
            # The openx JSON SerDe matches keys to columns case-insensitively.
            column = field.lower()
            assert column in columns, f"{field} has no column"
            assert column not in partition_keys, f"{field} would be shadowed by a partition key"
            assert columns[column] in GLUE_TYPES[type(value)], f"{field}={value!r} cannot be read as {columns[column]}"


def test_every_archived_line_has_the_convention_fields(template: dict[str, Any]) -> None:
    for line in sample_lines():
        row = json.loads(line)
        assert {"timestamp", "level", "request_id", "message"} <= set(row)
        assert row["request_id"]


def test_convention_timestamps_parse_as_athena_iso_8601(template: dict[str, Any]) -> None:
    # from_iso8601_timestamp() in the queries: the timestamp must be ISO 8601 with a zone.
    for line in sample_lines():
        parsed = datetime.fromisoformat(json.loads(line)["timestamp"].replace("Z", "+00:00"))
        assert parsed.tzinfo is not None


# ---- CloudTrail ----------------------------------------------------------------------------


def test_cloudtrail_keys_land_where_the_table_projects_them(template: dict[str, Any]) -> None:
    key = (
        f"{catalog.CLOUDTRAIL_PREFIX}/AWSLogs/{ACCOUNT}/CloudTrail/ap-northeast-1/2026/11/29/"
        f"{ACCOUNT}_CloudTrail_ap-northeast-1_20261129T0930Z_abcdef.json.gz"
    )
    values = projected_partition(table(template, catalog.CLOUDTRAIL_TABLE)["Parameters"], key, NOW)
    assert values == {"region": "ap-northeast-1", "day": "2026/11/29"}


def test_cloudtrail_record_fields_are_columns(template: dict[str, Any]) -> None:
    record = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/alice"},
        "eventTime": "2026-11-29T09:30:12Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "AttachRolePolicy",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2",
        "requestParameters": {"roleName": "ops"},
        "responseElements": None,
        "requestID": "r-1",
        "eventID": "e-1",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
        "tlsDetails": {"tlsVersion": "TLSv1.3"},
    }
    columns = {c["Name"] for c in table(template, catalog.CLOUDTRAIL_TABLE)["StorageDescriptor"]["Columns"]}
    assert {key.lower() for key in record} <= columns


def test_a_base64_subscription_record_round_trips() -> None:
    # CloudWatch Logs sends the gzip bytes; the API carries them base64-encoded.
    record = subscription_record(["{}"], "/x")
    assert gzip.decompress(base64.b64decode(base64.b64encode(record)))
