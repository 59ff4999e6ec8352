"""The source table and its stream: created with secure defaults, or an existing one checked for a stream.

Also the canary item's key, built from the table's key schema (the canary schedule writes it,
the verifier recognises it).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from genba_constructs._names import claim_name
from genba_constructs._secure import recoverable_table
from genba_constructs._validation import fail
from genba_constructs.sync_verification._contract import CANARY_PARTITION_VALUE, NAME

# The canary key's value per key type (B is base64, as DynamoDB's typed form carries it).
_CANARY_VALUES = {
    dynamodb.AttributeType.STRING: ("S", CANARY_PARTITION_VALUE),
    dynamodb.AttributeType.NUMBER: ("N", "-1"),
    dynamodb.AttributeType.BINARY: ("B", "Z2VuYmEtc3luYy1jYW5hcnk="),
}


def build_source_table(
    scope: Construct,
    *,
    existing: dynamodb.ITable | None,
    table_name: str | None,
    partition_key: dynamodb.Attribute,
    sort_key: dynamodb.Attribute | None,
    stream_view_type: dynamodb.StreamViewType,
    removal: RemovalPolicy,
) -> dynamodb.ITable:
    """``existing`` if given (it must have a stream), else a new table ``SourceTable`` with a stream."""
    table = existing
    if table is None:
        if table_name is not None:
            claim_name(scope, "DynamoDB table name", table_name, owner="SyncVerification")
        table = recoverable_table(
            scope,
            "SourceTable",
            table_name=table_name,
            partition_key=partition_key,
            sort_key=sort_key,
            stream=stream_view_type,
            removal=removal,
            backup_reason="Point-in-time recovery (35 days) is on; AWS Backup plans are an account-level choice "
            "outside this construct.",
        )
    if table.table_stream_arn is None:
        raise fail(NAME, "source_table", table.node.path, "has no stream (table_stream_arn is unset)")
    return table


def canary_key(partition_key: dynamodb.Attribute, sort_key: dynamodb.Attribute | None) -> dict[str, dict[str, str]]:
    """The canary item's key in DynamoDB's typed form."""
    key = {}
    for attribute in (partition_key, sort_key):
        if attribute is not None:
            kind, value = _CANARY_VALUES[attribute.type]
            key[attribute.name] = {kind: value}
    return key
