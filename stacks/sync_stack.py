"""genba-<env>-sync: the reference user table proven synced to its replica (both created in dev)."""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from genba_constructs import AlarmFactory
from genba_constructs._secure import recoverable_table
from genba_constructs.sync_targets import DynamoDbReplicaTarget
from genba_constructs.sync_verification import SyncVerification
from stacks._base import GenbaStack
from stacks.config import EnvironmentConfig, SyncConfig

USER_KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


class SyncStack(GenbaStack):
    def __init__(
        self, scope: Construct, concern: str, *, config: EnvironmentConfig, alarm_factory: AlarmFactory
    ) -> None:
        super().__init__(scope, concern, config=config)
        sync: SyncConfig | None = config.sync
        if sync is None:
            raise ValueError(f"{config.name}: SyncStack needs the 'sync' configuration section")
        removal = config.removal_policy
        source_table: dynamodb.ITable | None = None
        if sync.create_tables:
            replica: dynamodb.ITable = recoverable_table(
                self,
                "ReplicaTable",
                table_name=sync.replica_table_name,
                partition_key=USER_KEY,
                removal=removal,
                backup_reason="The replica is rebuilt from the source table; point-in-time recovery (35 days) is "
                "on, and AWS Backup plans are an account-level choice.",
            )
        else:
            replica = dynamodb.Table.from_table_name(self, "ReplicaTable", sync.replica_table_name)
            source_table = dynamodb.Table.from_table_attributes(
                self,
                "SourceTable",
                table_name=sync.source_table_name,
                table_stream_arn=f"arn:{Aws.PARTITION}:dynamodb:{Aws.REGION}:{Aws.ACCOUNT_ID}:table/"
                f"{sync.source_table_name}/stream/{sync.source_stream_label}",
            )
        self.sync = SyncVerification(
            self,
            "UserTableSync",
            subject="user-sync",
            partition_key=USER_KEY,
            source_table=source_table,
            source_table_name=sync.source_table_name if sync.create_tables else None,
            target=DynamoDbReplicaTarget(table=replica),
            version_attribute=sync.version_attribute,
            removal_policy=removal,
            **sync.timing_props,  # the config's timing keys as the construct's props
            parallelization_factor=sync.parallelization_factor,
            min_source_changes=sync.min_source_changes,
            min_source_changes_window=Duration.minutes(sync.min_source_changes_minutes),
            alarm_factory=alarm_factory,
        )
