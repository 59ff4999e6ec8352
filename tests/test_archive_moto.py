"""The archive against moto server on 127.0.0.1: Firehose delivery to the bucket, and object lock.

moto stores what a delivery stream receives in its S3 destination; it does not run the
stream's processors or render ``!{...}`` prefix expressions (those are checked, as the
contract they are, in test_archive_catalog.py). What it does check: the configuration genba
synthesizes is accepted by the Firehose API and records land under the log group's prefix, and
object lock as configured refuses to delete a locked version.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Template
from botocore.exceptions import ClientError

from genba_constructs import LogArchive, ServiceLogGroup
from tests.conftest import new_stack

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"


def synthesized(**props: Any) -> dict[str, Any]:
    stack = new_stack()
    archive = LogArchive(stack, "Archive", **props)
    archive.archive_log_group(ServiceLogGroup(stack, "AppLogs", subject="app-logs"))
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def of_type(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == type_]


def archive_bucket(template: dict[str, Any]) -> dict[str, Any]:
    (bucket,) = [b for b in of_type(template, "AWS::S3::Bucket") if "ObjectLockConfiguration" in b]
    return bucket


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def create_archive_bucket(endpoint: str, name: str, template: dict[str, Any]) -> Any:
    """The archive bucket as the template configures it: versioned, object lock and its default rule."""
    s3 = client(endpoint, "s3")
    properties = archive_bucket(template)
    assert properties["ObjectLockEnabled"] is True
    s3.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}, ObjectLockEnabledForBucket=True
    )
    retention = properties["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    s3.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}},
    )
    return s3


def test_records_put_to_the_delivery_stream_land_under_the_log_groups_prefix(endpoint: str) -> None:
    template = synthesized()
    s3 = create_archive_bucket(endpoint, "archive-firehose", template)
    (stream,) = of_type(template, "AWS::KinesisFirehose::DeliveryStream")
    config = stream["ExtendedS3DestinationConfiguration"]
    firehose = client(endpoint, "firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="genba-archive-app-logs",
        DeliveryStreamType=stream["DeliveryStreamType"],
        ExtendedS3DestinationConfiguration={
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
            "BucketARN": "arn:aws:s3:::archive-firehose",
            "Prefix": config["Prefix"],
            "ErrorOutputPrefix": config["ErrorOutputPrefix"],
            "BufferingHints": config["BufferingHints"],
            "CompressionFormat": config["CompressionFormat"],
            "ProcessingConfiguration": config["ProcessingConfiguration"],
        },
    )
    lines = [
        {"timestamp": "2026-11-29T09:30:12.001Z", "level": "INFO", "request_id": "r-1", "message": "signed in"},
        {"timestamp": "2026-11-29T09:30:12.002Z", "level": "ERROR", "request_id": "r-1", "message": "failed"},
    ]
    records = [{"Data": (json.dumps(line) + "\n").encode()} for line in lines]
    response = firehose.put_record_batch(DeliveryStreamName="genba-archive-app-logs", Records=records)
    assert response["FailedPutCount"] == 0

    static_prefix = config["Prefix"].split("!{", 1)[0]
    assert static_prefix == "logs/log_group=app-logs/dt="
    objects = s3.list_objects_v2(Bucket="archive-firehose")["Contents"]
    assert [o["Key"] for o in objects if not o["Key"].startswith(static_prefix)] == []
    body = b"".join(s3.get_object(Bucket="archive-firehose", Key=o["Key"])["Body"].read() for o in objects)
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    assert [json.loads(line) for line in body.decode().splitlines()] == lines


def test_object_lock_refuses_to_delete_a_locked_version_in_governance_mode(endpoint: str) -> None:
    s3 = create_archive_bucket(endpoint, "archive-governance", synthesized())
    version = s3.put_object(Bucket="archive-governance", Key="logs/a.gz", Body=b"x")["VersionId"]
    with pytest.raises(ClientError) as raised:
        s3.delete_object(Bucket="archive-governance", Key="logs/a.gz", VersionId=version)
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert (
        s3.head_object(Bucket="archive-governance", Key="logs/a.gz", VersionId=version)["ObjectLockMode"]
        == "GOVERNANCE"
    )


def test_object_lock_refuses_to_delete_a_locked_version_in_compliance_mode_even_with_bypass(endpoint: str) -> None:
    s3 = create_archive_bucket(endpoint, "archive-compliance", synthesized(production=True))
    version = s3.put_object(Bucket="archive-compliance", Key="logs/a.gz", Body=b"x")["VersionId"]
    with pytest.raises(ClientError) as raised:
        s3.delete_object(
            Bucket="archive-compliance", Key="logs/a.gz", VersionId=version, BypassGovernanceRetention=True
        )
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert (
        s3.head_object(Bucket="archive-compliance", Key="logs/a.gz", VersionId=version)["ObjectLockMode"]
        == "COMPLIANCE"
    )


def test_deleting_without_a_version_only_hides_the_locked_object(endpoint: str) -> None:
    s3 = create_archive_bucket(endpoint, "archive-marker", synthesized())
    version = s3.put_object(Bucket="archive-marker", Key="logs/a.gz", Body=b"kept")["VersionId"]
    s3.delete_object(Bucket="archive-marker", Key="logs/a.gz")  # a delete marker, not a deletion
    kept = s3.get_object(Bucket="archive-marker", Key="logs/a.gz", VersionId=version)["Body"].read()
    assert kept == b"kept"
