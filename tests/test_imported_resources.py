"""An imported bucket or key cannot take a resource policy: genba says exactly what the owner must add."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from genba_constructs import ArchiveTrail, LogArchive

KEY_ARN = "arn:aws:kms:ap-northeast-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def warnings(stack: Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("is imported"))
    return [str(entry.entry.data) for entry in found]


def statements_in(messages: list[str]) -> dict[str, dict[str, Any]]:
    """The policy statement of each warning, by Sid: the JSON after the last ': '."""
    statements = {}
    for message in messages:
        statement = json.loads(re.sub(r"\s*\[ack: [^\]]*\]$", "", message.split("at run time: ", 1)[1]))
        statements[statement["Sid"]] = statement
    return statements


@pytest.fixture()
def imported(fresh_stack: Stack) -> tuple[Stack, LogArchive]:
    bucket = s3.Bucket.from_bucket_name(fresh_stack, "Existing", "team-archive")
    key = kms.Key.from_key_arn(fresh_stack, "ExistingKey", KEY_ARN)
    archive = LogArchive(fresh_stack, "Archive", bucket=bucket, encryption_key=key)
    ArchiveTrail(fresh_stack, "Trail", archive=archive)
    return fresh_stack, archive


def test_an_imported_key_is_accepted_and_used(imported: tuple[Stack, LogArchive]) -> None:
    stack, archive = imported
    assert archive.encryption_key.key_arn == KEY_ARN
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudTrail::Trail", {"KMSKeyId": KEY_ARN, "S3BucketName": "team-archive"}
    )


def test_log_delivery_statements_on_an_imported_bucket_become_warnings(imported: tuple[Stack, LogArchive]) -> None:
    statements = statements_in(warnings(imported[0]))
    write = statements["AWSLogDeliveryWrite"]
    assert write["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert write["Resource"] == "arn:aws:s3:::team-archive/AWSLogs/123456789012/*"
    assert write["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert statements["AWSLogDeliveryAclCheck"]["Resource"] == "arn:aws:s3:::team-archive"


def test_key_statements_on_an_imported_key_become_warnings(imported: tuple[Stack, LogArchive]) -> None:
    statements = statements_in(warnings(imported[0]))
    assert {
        "AllowCloudWatchLogsToUseTheKey",
        "AllowLogDeliveryToEncryptArchiveObjects",
        "AllowCloudTrailToEncryptLogs",
        "AllowCloudTrailToDescribeKey",
    } <= set(statements)
    logs = statements["AllowCloudWatchLogsToUseTheKey"]
    assert logs["Principal"] == {"Service": "logs.ap-northeast-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"] == {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:ap-northeast-1:123456789012:log-group:*"
    }


def test_the_trail_on_an_imported_bucket_warns_with_cloudtrails_bucket_statements(
    imported: tuple[Stack, LogArchive],
) -> None:
    statements = statements_in(warnings(imported[0]))
    write = statements["AWSCloudTrailWrite"]
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"] == "arn:aws:s3:::team-archive/cloudtrail/AWSLogs/123456789012/*"
    assert write["Condition"]["StringEquals"]["s3:x-amz-acl"] == "bucket-owner-full-control"
    assert statements["AWSCloudTrailAclCheck"]["Action"] == "s3:GetBucketAcl"


def test_owned_bucket_and_key_give_no_warning(fresh_stack: Stack) -> None:
    archive = LogArchive(fresh_stack, "Archive")
    ArchiveTrail(fresh_stack, "Trail", archive=archive)
    assert warnings(fresh_stack) == []
