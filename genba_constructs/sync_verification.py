"""Prove that every change of a DynamoDB table reached the system it is synced to.

A DynamoDB Streams -> Lambda sync has no metric that tells "nothing changed" from "a shard
is stuck". This construct puts every change on a verification queue as well; a verifier
deletes a change's message only when the target confirms it. The queue's age is the sync
lag, and "a change not synced within 24 hours must never happen" becomes an alarm::

    source table stream --(forwarder)--> verification queue --(verifier)--> target check
          | failed batches: shard + sequence range                |  failed / too late
          v                                                         v
    stream on-failure queue --(replay: re-read the stream)--> verification DLQ (with reason)

A canary item written on a schedule keeps the pipeline busy, so a stuck shard shows up as
"no canary verified" even when nothing else changes. The handlers live in
``lambda/sync_forwarder``, ``lambda/sync_verifier`` and ``lambda/sync_replay``; the names they
share with this construct are in ``lambda/_shared/python/genba_sync_contract.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genba_constructs._validation import fail, require_either, require_range
from genba_constructs.alarms import AlarmFactory, Severity, Thresholds, default_alarm_factory
from genba_constructs.handler_code import handler_code_path
from genba_constructs.handler_runtime import (
    ARCHITECTURE,
    POWERTOOLS_LOG_LEVEL,
    POWERTOOLS_METRICS_NAMESPACE,
    POWERTOOLS_SERVICE_NAME,
    PYTHON_RUNTIME,
    handler_layers,
)
from genba_constructs.nag import acknowledge
from genba_constructs.retention import retention_days as to_retention
from genba_constructs.service_log_group import log_group_encryption_key
from genba_constructs.sync_targets import SyncTarget

CONTRACT: dict[str, Any] = json.loads(
    (Path(handler_code_path("_shared")) / "python" / "genba_sync_contract.json").read_text()
)
ENV: dict[str, str] = CONTRACT["environment"]
SYNC_METRICS_NAMESPACE: str = CONTRACT["metrics_namespace"]
SYNC_METRICS: dict[str, str] = CONTRACT["metrics"]
MAX_VISIBILITY_SECONDS: int = CONTRACT["max_visibility_timeout_seconds"]
MAX_DELAY_SECONDS: int = CONTRACT["max_delay_seconds"]
STREAM_RETENTION = Duration.hours(24)
CANARY_PARTITION_VALUE = "genba-sync-canary"
CANARY_SCHEDULED_TIME_ATTRIBUTE = "genba_canary_scheduled_time"
_NAME = "SyncVerification"
_VIEW_TYPES = (
    dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    dynamodb.StreamViewType.NEW_IMAGE,
    dynamodb.StreamViewType.KEYS_ONLY,
)


def _seconds(value: Duration) -> float | None:
    return None if value.is_unresolved() else value.to_seconds()


@jsii.implements(lambda_.IEventSourceDlq)
class _OnFailureQueue:
    """A stream mapping's on-failure destination whose send permission is granted explicitly.

    (aws-cdk-lib's ``SqsDlq`` grants ``kms:GenerateDataKey*`` and ``kms:ReEncrypt*``; genba's
    policies name exact actions.)
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(
        self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        return lambda_.DlqDestinationConfig(destination=self.queue.queue_arn)


def grant_send(grantee: iam.IGrantable, queue: sqs.IQueue) -> None:
    """SendMessage (and SendMessageBatch) to a KMS-encrypted queue, with exact KMS actions."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])
    )
    if queue.encryption_master_key is not None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[queue.encryption_master_key.key_arn]
            )
        )


def backoff_coverage_seconds(grace_seconds: int, receives: int) -> int:
    """How long the verifier's growing backoff keeps a change on the queue over ``receives`` receives."""
    return sum(min(max(grace_seconds, 1) * 2 ** min(n, 20), MAX_VISIBILITY_SECONDS) for n in range(receives))


class SyncVerification(Construct):
    """DynamoDB Streams -> verification queue -> verifier: every change proven synced, or in a DLQ with its reason.

    :param partition_key: the source table's partition key (the canary item's key is built from it).
    :param target: where changes must arrive (``genba_constructs.sync_targets``).
    :param subject: slug naming this pipeline in alarm and metric names. Default: ``sync``.
    :param source_table: an existing source table with a stream. Default: create one.
    :param source_table_name: name of the new source table. Default: generated by CloudFormation.
    :param sort_key: the source table's sort key, if it has one. Default: none.
    :param stream_view_type: the stream's view type (NEW_AND_OLD_IMAGES, NEW_IMAGE or
        KEYS_ONLY; with KEYS_ONLY the verifier reads the source's version attribute). Default:
        NEW_AND_OLD_IMAGES.
    :param version_attribute: the numeric attribute that grows with every write of an item. Default: ``version``.
    :param removal_policy: for the new table, queues, keys and log groups. Default: RETAIN.
    :param max_sync_lag: a change not confirmed this long after it was written goes to the DLQ
        with its reason. Default: 24 hours.
    :param grace_period: how long a sync normally needs; each verification message is delayed
        by it (at most 15 minutes, SQS's limit) and the backoff starts from it. Default: 1 minute.
    :param lag_slo: the sync lag objective: oldest change on the queue older than this is a
        warning. Default: 1 hour.
    :param parallelization_factor: concurrent forwarder batches per shard (1-10). Default: 1.
    :param forwarder_batch_size: stream records per forwarder invocation. Default: 100.
    :param retry_attempts: retries of a failed stream batch before its range goes to the
        on-failure queue. Default: 5.
    :param max_record_age: stream records older than this go to the on-failure queue (below the
        24 h retention, leaving time to replay). Default: 6 hours.
    :param verifier_batch_size: changes per verifier invocation (one BatchGetItem per 100). Default: 100.
    :param verifier_batching_window: how long the verifier's mapping gathers a batch. Default: 20 seconds.
    :param verifier_timeout: the verifier's timeout. Default: 60 seconds.
    :param verification_visibility_timeout: the verification queue's visibility timeout (at
        least 6 x the verifier's timeout). Default: 6 x verifier_timeout.
    :param max_receive_count: receives before SQS itself moves a message to the DLQ (the
        backoff must cover max_sync_lag first, so that the verifier records the reason). Default: 20.
    :param reserved_concurrency: per function (forwarder, verifier, replay). Default: 20, 10, 2.
    :param canary_interval: how often the canary item is written (None: no canary). Default: 5 minutes.
    :param canary_silent_for: no canary verified for this long raises the canary alarm. Default: 20 minutes.
    :param log_retention_days: the functions' log retention. Default: 30.
    :param alarm_factory: makes the alarms. Default: alarms named after the stack, no actions.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        partition_key: dynamodb.Attribute,
        target: SyncTarget,
        subject: str = "sync",
        source_table: dynamodb.ITable | None = None,
        source_table_name: str | None = None,
        sort_key: dynamodb.Attribute | None = None,
        stream_view_type: dynamodb.StreamViewType = dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        version_attribute: str = "version",
        removal_policy: RemovalPolicy | None = None,
        max_sync_lag: Duration = Duration.hours(24),
        grace_period: Duration = Duration.minutes(1),
        lag_slo: Duration = Duration.hours(1),
        parallelization_factor: int = 1,
        forwarder_batch_size: int = 100,
        retry_attempts: int = 5,
        max_record_age: Duration = Duration.hours(6),
        verifier_batch_size: int = 100,
        verifier_batching_window: Duration = Duration.seconds(20),
        verifier_timeout: Duration = Duration.seconds(60),
        verification_visibility_timeout: Duration | None = None,
        max_receive_count: int = 20,
        reserved_concurrency: tuple[int, int, int] = (20, 10, 2),
        canary_interval: Duration | None = Duration.minutes(5),
        canary_silent_for: Duration = Duration.minutes(20),
        log_retention_days: int = 30,
        alarm_factory: AlarmFactory | None = None,
    ) -> None:
        require_either(_NAME, ("source_table", source_table), [("source_table_name", source_table_name)])
        self._validate(
            subject=subject,
            source_table=source_table,
            stream_view_type=stream_view_type,
            version_attribute=version_attribute,
            max_sync_lag=max_sync_lag,
            grace_period=grace_period,
            lag_slo=lag_slo,
            parallelization_factor=parallelization_factor,
            forwarder_batch_size=forwarder_batch_size,
            retry_attempts=retry_attempts,
            max_record_age=max_record_age,
            verifier_batch_size=verifier_batch_size,
            verifier_batching_window=verifier_batching_window,
            verifier_timeout=verifier_timeout,
            verification_visibility_timeout=verification_visibility_timeout,
            max_receive_count=max_receive_count,
            reserved_concurrency=reserved_concurrency,
            canary_interval=canary_interval,
            canary_silent_for=canary_silent_for,
        )
        retention = to_retention(_NAME, "log_retention_days", log_retention_days)
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.subject = subject
        self.service_name = f"{stack.stack_name}-{subject}"
        self.max_sync_lag = max_sync_lag
        self.max_record_age = max_record_age
        alarm_factory = alarm_factory or default_alarm_factory(self)
        removal = removal_policy or RemovalPolicy.RETAIN
        grace_seconds = int(grace_period.to_seconds())

        # ---- source table and its stream -------------------------------------------------
        if source_table is None:
            source_table = dynamodb.Table(
                self,
                "SourceTable",
                table_name=source_table_name,
                partition_key=partition_key,
                sort_key=sort_key,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                stream=stream_view_type,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                removal_policy=removal,
                deletion_protection=removal == RemovalPolicy.RETAIN,
            )
            acknowledge(
                source_table,
                "NIST.800.53.R5-DynamoDBInBackupPlan",
                "Point-in-time recovery (35 days) is on; AWS Backup plans are an account-level choice "
                "outside this construct.",
            )
        if source_table.table_stream_arn is None:
            raise fail(_NAME, "source_table", source_table.node.path, "has no stream (table_stream_arn is unset)")
        self.source_table = source_table
        self.canary_key = self._canary_key(partition_key, sort_key)

        # ---- queues ---------------------------------------------------------------------
        self.encryption_key = kms.Key(
            self,
            "QueueKey",
            description=f"Encrypts the sync verification queues of {stack.stack_name}/{subject}",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=Duration.days(30) if removal == RemovalPolicy.RETAIN else Duration.days(7),
        )
        self.dead_letter_queue = self._queue("DeadLetterQueue", removal, retention=Duration.days(14))
        visibility = verification_visibility_timeout or Duration.seconds(6 * int(verifier_timeout.to_seconds()))
        self.queue = self._queue(
            "Queue",
            removal,
            retention=Duration.seconds(min(int(max_sync_lag.to_seconds()) + 3 * 24 * 3600, 14 * 24 * 3600)),
            visibility_timeout=visibility,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=max_receive_count),
        )
        self.stream_failure_dead_letter_queue = self._queue(
            "StreamFailureDeadLetterQueue", removal, retention=Duration.days(14)
        )
        replay_timeout = Duration.minutes(2)
        self.stream_failure_queue = self._queue(
            "StreamFailureQueue",
            removal,
            retention=Duration.days(4),
            visibility_timeout=Duration.seconds(6 * int(replay_timeout.to_seconds())),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.stream_failure_dead_letter_queue, max_receive_count=10),
        )

        # ---- functions ------------------------------------------------------------------
        log_key = log_group_encryption_key(self, "LogKey", removal_policy=removal)
        common_env = {
            ENV["verification_queue_url"]: self.queue.queue_url,
            ENV["verification_dlq_url"]: self.dead_letter_queue.queue_url,
            ENV["grace_period_seconds"]: str(grace_seconds),
            ENV["max_sync_lag_seconds"]: str(int(max_sync_lag.to_seconds())),
            ENV["version_attribute"]: version_attribute,
            ENV["canary_key"]: json.dumps(self.canary_key),
        }
        forwarder_concurrency, verifier_concurrency, replay_concurrency = reserved_concurrency
        self.forwarder = self._function(
            "Forwarder",
            "sync_forwarder",
            "forwards each stream change to the verification queue",
            env=common_env,
            timeout=Duration.seconds(60),
            concurrency=forwarder_concurrency,
            log_key=log_key,
            retention=retention,
            removal=removal,
        )
        self.forwarder.add_event_source(
            sources.DynamoEventSource(
                source_table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=forwarder_batch_size,
                bisect_batch_on_error=True,
                retry_attempts=retry_attempts,
                max_record_age=max_record_age,
                report_batch_item_failures=True,
                parallelization_factor=parallelization_factor,
                on_failure=_OnFailureQueue(self.stream_failure_queue),
            )
        )
        self.replay = self._function(
            "Replay",
            "sync_replay",
            "re-reads failed stream ranges from the stream and forwards them",
            env=common_env,
            timeout=replay_timeout,
            concurrency=replay_concurrency,
            log_key=log_key,
            retention=retention,
            removal=removal,
        )
        source_table.grant_stream_read(self.replay)
        self.replay.add_event_source(
            sources.SqsEventSource(self.stream_failure_queue, batch_size=1, report_batch_item_failures=True)
        )
        verifier_env = {
            **common_env,
            ENV["source_table_name"]: source_table.table_name,
            ENV["target_kind"]: target.kind,
        }
        self.verifier = self._function(
            "Verifier",
            "sync_verifier",
            "checks each change against the sync target",
            env=verifier_env,
            timeout=verifier_timeout,
            concurrency=verifier_concurrency,
            log_key=log_key,
            retention=retention,
            removal=removal,
        )
        self.verifier.add_environment(
            ENV["target_config"],
            stack.to_json_string(target.bind(self.verifier, version_attribute=version_attribute)),
        )
        source_table.grant(self.verifier, "dynamodb:BatchGetItem")
        self.verifier.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=verifier_batch_size,
                max_batching_window=verifier_batching_window if verifier_batch_size > 10 else None,
                report_batch_item_failures=True,
            )
        )
        for function in (self.verifier, self.replay):
            acknowledge(
                function,
                "Serverless-LambdaEventSourceMappingDestination",
                "An SQS event source mapping has no on-failure destination: a message that keeps failing "
                "goes to the queue's redrive DLQ, which has a 'DLQ not empty' alarm.",
            )
        grant_send(self.forwarder, self.stream_failure_queue)
        for function in (self.forwarder, self.replay):
            grant_send(function, self.queue)
        for function in (self.forwarder, self.replay, self.verifier):
            grant_send(function, self.dead_letter_queue)
        # (The event source grants the verifier ReceiveMessage, DeleteMessage and ChangeMessageVisibility,
        # which its backoff uses.)

        # ---- canary ---------------------------------------------------------------------
        self.canary_schedule: scheduler.Schedule | None = None
        self.canary_dead_letter_queue: sqs.Queue | None = None
        if canary_interval is not None:
            self._canary(canary_interval, version_attribute, removal)

        # The role is already a GetAtt dependency: keep only the policy in DependsOn (cfn-lint W3005).
        for function in (self.forwarder, self.replay, self.verifier):
            policy = function.role.node.try_find_child("DefaultPolicy") if function.role else None
            if policy is not None:
                function_cfn = function.node.default_child
                assert isinstance(function_cfn, lambda_.CfnFunction)
                policy_cfn = policy.node.default_child
                assert isinstance(policy_cfn, iam.CfnPolicy)
                function_cfn.add_override("DependsOn", [stack.get_logical_id(policy_cfn)])

        # ---- alarms ---------------------------------------------------------------------
        self.alarms: dict[str, dict[Severity, cloudwatch.Alarm]] = {}
        self._alarms(alarm_factory, lag_slo=lag_slo, canary_silent_for=canary_silent_for)

    # ---- validation ---------------------------------------------------------------------
    @staticmethod
    def _validate(**props: Any) -> None:
        import re

        if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", props["subject"] or ""):
            raise fail(_NAME, "subject", props["subject"], "must be a lower-case slug such as 'user-sync'")
        if props["stream_view_type"] not in _VIEW_TYPES:
            raise fail(
                _NAME,
                "stream_view_type",
                props["stream_view_type"],
                "must be NEW_AND_OLD_IMAGES, NEW_IMAGE or KEYS_ONLY",
            )
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,255}", props["version_attribute"] or ""):
            raise fail(_NAME, "version_attribute", props["version_attribute"], "is not a DynamoDB attribute name")
        durations = (
            "max_sync_lag",
            "grace_period",
            "lag_slo",
            "max_record_age",
            "verifier_batching_window",
            "verifier_timeout",
            "verification_visibility_timeout",
            "canary_interval",
            "canary_silent_for",
        )
        seconds: dict[str, float | None] = {}
        for name in durations:
            value = props[name]
            if value is None:
                seconds[name] = None
                continue
            if not isinstance(value, Duration):
                raise fail(_NAME, name, value, "must be an aws_cdk.Duration")
            seconds[name] = _seconds(value)
            if value.is_unresolved():
                raise fail(_NAME, name, value.to_human_string(), "must be known at synth (not a token)")
        lag, grace = seconds["max_sync_lag"] or 0, seconds["grace_period"] or 0
        show = {name: props[name].to_human_string() for name in durations if props[name] is not None}
        require_range(_NAME, "grace_period (seconds)", grace, minimum=0, maximum=MAX_DELAY_SECONDS)
        if not 3600 <= lag <= 10 * 24 * 3600:
            raise fail(
                _NAME, "max_sync_lag", show["max_sync_lag"], "must be between 1 hour and 10 days (SQS keeps 14 at most)"
            )
        if lag <= grace:
            raise fail(
                _NAME,
                "max_sync_lag",
                show["max_sync_lag"],
                f"must be longer than grace_period ({show['grace_period']})",
            )
        slo = seconds["lag_slo"] or 0
        if not grace < slo < lag:
            raise fail(
                _NAME, "lag_slo", show["lag_slo"], "must be longer than grace_period and shorter than max_sync_lag"
            )
        record_age = seconds["max_record_age"] or 0
        if not 60 <= record_age < STREAM_RETENTION.to_seconds():
            raise fail(
                _NAME,
                "max_record_age",
                show["max_record_age"],
                "must be at least 60 seconds and below the stream's 24 h retention",
            )
        require_range(_NAME, "parallelization_factor", props["parallelization_factor"], minimum=1, maximum=10)
        require_range(_NAME, "forwarder_batch_size", props["forwarder_batch_size"], minimum=1, maximum=10000)
        require_range(_NAME, "retry_attempts", props["retry_attempts"], minimum=0, maximum=10000)
        require_range(_NAME, "verifier_batch_size", props["verifier_batch_size"], minimum=1, maximum=10000)
        require_range(
            _NAME, "verifier_batching_window (seconds)", seconds["verifier_batching_window"], minimum=0, maximum=300
        )
        timeout = seconds["verifier_timeout"] or 0
        require_range(_NAME, "verifier_timeout (seconds)", timeout, minimum=1, maximum=900)
        visibility = seconds["verification_visibility_timeout"]
        if visibility is not None and visibility < 6 * timeout:
            raise fail(
                _NAME,
                "verification_visibility_timeout",
                show["verification_visibility_timeout"],
                f"must be at least 6 x verifier_timeout ({show['verifier_timeout']}): "
                "Lambda's guidance for SQS event sources",
            )
        if visibility is not None and visibility > MAX_VISIBILITY_SECONDS:
            raise fail(
                _NAME,
                "verification_visibility_timeout",
                show["verification_visibility_timeout"],
                "must be at most 12 hours",
            )
        receives = props["max_receive_count"]
        require_range(_NAME, "max_receive_count", receives, minimum=1, maximum=1000)
        covered = backoff_coverage_seconds(int(grace), int(receives))
        if covered < lag:
            raise fail(
                _NAME,
                "max_receive_count",
                receives,
                f"is too small: the verifier's backoff covers only {covered / 3600:.1f} h of max_sync_lag "
                f"({show['max_sync_lag']}); SQS would move changes to the DLQ without a reason first",
            )
        concurrency = props["reserved_concurrency"]
        if len(concurrency) != 3 or not all(isinstance(c, int) and c >= 1 for c in concurrency):
            raise fail(
                _NAME,
                "reserved_concurrency",
                concurrency,
                "must be three whole numbers >= 1 (forwarder, verifier, replay)",
            )
        interval = seconds["canary_interval"]
        if interval is not None:
            if not 60 <= interval <= 3600 or interval % 60:
                raise fail(_NAME, "canary_interval", show["canary_interval"], "must be 1 to 60 whole minutes")
            silent = seconds["canary_silent_for"] or 0
            if silent % 60 or silent > 24 * 3600 or silent < 2 * interval + grace:
                raise fail(
                    _NAME,
                    "canary_silent_for",
                    show["canary_silent_for"],
                    "must be whole minutes, at most 1 day, and at least 2 x canary_interval + grace_period",
                )

    @staticmethod
    def _canary_key(
        partition_key: dynamodb.Attribute, sort_key: dynamodb.Attribute | None
    ) -> dict[str, dict[str, str]]:
        values = {
            dynamodb.AttributeType.STRING: ("S", CANARY_PARTITION_VALUE),
            dynamodb.AttributeType.NUMBER: ("N", "-1"),
            dynamodb.AttributeType.BINARY: ("B", "Z2VuYmEtc3luYy1jYW5hcnk="),
        }
        key = {}
        for attribute in (partition_key, sort_key):
            if attribute is not None:
                kind, value = values[attribute.type]
                key[attribute.name] = {kind: value}
        return key

    # ---- building blocks ----------------------------------------------------------------
    def _queue(
        self,
        id: str,
        removal: RemovalPolicy,
        *,
        retention: Duration,
        visibility_timeout: Duration | None = None,
        dead_letter_queue: sqs.DeadLetterQueue | None = None,
    ) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            id,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.encryption_key,
            enforce_ssl=True,
            retention_period=retention,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=dead_letter_queue,
            removal_policy=removal,
        )
        if dead_letter_queue is None and id.endswith("DeadLetterQueue"):
            acknowledge(
                queue,
                "Serverless-SQSRedrivePolicy",
                "This queue is a dead-letter queue, the end of its chain: its messages wait for a person, "
                "and its 'DLQ not empty' alarm calls one.",
            )
        return queue

    def _function(
        self,
        id: str,
        code: str,
        purpose: str,
        *,
        env: dict[str, str],
        timeout: Duration,
        concurrency: int,
        log_key: kms.IKey,
        retention: logs.RetentionDays,
        removal: RemovalPolicy,
    ) -> lambda_.Function:
        scope = Construct(self, id)
        log_group = logs.LogGroup(
            scope, "LogGroup", retention=retention, encryption_key=log_key, removal_policy=removal
        )
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this log group only.
        role = iam.Role(
            scope,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"genba sync verification ({self.subject}): {purpose}",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],  # the Arn attribute ends in ":*" (its streams)
            )
        )
        function = lambda_.Function(
            scope,
            "Resource",
            description=f"genba sync verification ({self.subject}): {purpose}",
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            layers=handler_layers(self),
            code=lambda_.Code.from_asset(handler_code_path(code)),
            handler="index.handler",
            role=role,
            timeout=timeout,
            memory_size=256,
            reserved_concurrent_executions=concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment={
                **env,
                POWERTOOLS_SERVICE_NAME: self.service_name,
                POWERTOOLS_METRICS_NAMESPACE: SYNC_METRICS_NAMESPACE,
                POWERTOOLS_LOG_LEVEL: "INFO",
            },
        )
        for rule, reason in (
            (
                "NIST.800.53.R5-LambdaInsideVPC",
                "The sync functions call only AWS APIs (DynamoDB Streams, SQS, the target) over TLS with IAM; "
                "a VPC would add NAT or endpoints but no control over those calls.",
            ),
            (
                "NIST.800.53.R5-LambdaDLQ",
                "Invoked synchronously by an event source mapping: failures go to the mapping's on-failure "
                "queue (stream) or the queue's redrive DLQ (SQS); an async DLQ would never receive anything.",
            ),
            (
                "Serverless-LambdaDLQ",
                "Invoked synchronously by an event source mapping: failures go to the mapping's on-failure "
                "queue (stream) or the queue's redrive DLQ (SQS); an async DLQ would never receive anything.",
            ),
            (
                "AwsSolutions-L1",
                "The runtime is pinned in genba_constructs/handler_runtime.py to the newest Python for which "
                "the pinned Powertools layer is published; it moves with that layer.",
            ),
            (
                "Serverless-LambdaLatestVersion",
                "The runtime is pinned in genba_constructs/handler_runtime.py to the newest Python for which "
                "the pinned Powertools layer is published; it moves with that layer.",
            ),
        ):
            acknowledge(function, rule, reason)
        self._acknowledge_role(role)
        return function

    @staticmethod
    def _acknowledge_role(role: iam.Role) -> None:
        acknowledge(
            role,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "The statements are least-privilege grants for this one role's resources (named queues, "
            "tables, key, log group), created and deleted with it; a managed policy would add nothing.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "X-Ray's PutTraceSegments/PutTelemetryRecords and DynamoDB's ListStreams support no "
            "resource-level permissions; every other statement names its resources.",
            finding="Resource::*",
        )

    def _canary(self, interval: Duration, version_attribute: str, removal: RemovalPolicy) -> None:
        self.canary_dead_letter_queue = self._queue("CanaryDeadLetterQueue", removal, retention=Duration.days(14))
        acknowledge(
            self.canary_dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is the canary schedule's dead-letter queue (EventBridge Scheduler target DLQ), "
            "which cdk-nag does not recognise as a DLQ use.",
        )
        table = self.source_table
        role = iam.Role(
            self,
            "CanaryRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description=f"genba sync canary ({self.subject}): writes the canary item",
        )
        grant_send(role, self.canary_dead_letter_queue)
        acknowledge(
            role,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "Two statements for this one role (UpdateItem on the source table, SendMessage to the canary "
            "DLQ), created and deleted with it; a managed policy would add nothing.",
        )
        self.canary_schedule = scheduler.Schedule(
            self,
            "CanarySchedule",
            description=f"genba sync canary ({self.subject}): bumps the canary item's version in the source table",
            schedule=scheduler.ScheduleExpression.rate(interval),
            target=scheduler_targets.Universal(
                service="dynamodb",
                action="updateItem",
                input=scheduler.ScheduleTargetInput.from_object(
                    {
                        "TableName": table.table_name,
                        "Key": self.canary_key,
                        "UpdateExpression": "ADD #v :one SET #t = :t",
                        "ExpressionAttributeNames": {"#v": version_attribute, "#t": CANARY_SCHEDULED_TIME_ATTRIBUTE},
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":t": {"S": scheduler.ContextAttribute.scheduled_time},
                        },
                    }
                ),
                policy_statements=[iam.PolicyStatement(actions=["dynamodb:UpdateItem"], resources=[table.table_arn])],
                dead_letter_queue=self.canary_dead_letter_queue,
                role=role,
                retry_attempts=2,
                max_event_age=Duration.minutes(5),
            ),
        )

    # ---- metrics --------------------------------------------------------------------------
    def metric(self, name: str, *, statistic: str = "Sum", period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """A pipeline metric by its contract name (``verified``, ``not_yet``, ``failed``, ``sync_lag``...)."""
        return cloudwatch.Metric(
            namespace=SYNC_METRICS_NAMESPACE,
            metric_name=SYNC_METRICS[name],
            dimensions_map={"service": self.service_name},
            statistic=statistic,
            period=period,
        )

    def metric_sync_lag(self, *, statistic: str = "p99", period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """Seconds from a change to its verification (``p50``, ``p99``, ``Maximum``...)."""
        return self.metric("sync_lag", statistic=statistic, period=period)

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """Sync lag percentiles, outcomes, queue age and depths, the canary, stream iterator age."""
        title = self.subject
        return [
            cloudwatch.GraphWidget(
                title=f"{title}: sync lag (s)",
                left=[self.metric_sync_lag(statistic=s).with_(label=s) for s in ("p50", "p99", "Maximum")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{title}: changes verified / not yet / failed",
                left=[self.metric(name).with_(label=name) for name in ("verified", "not_yet", "failed")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{title}: canary verified",
                left=[self.metric("canary_verified").with_(label="canaries")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{title}: oldest change on the verification queue (s)",
                left=[self._queue_metric(self.queue, "ApproximateAgeOfOldestMessage").with_(label="oldest")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{title}: queue depths",
                left=[
                    self._queue_metric(queue, "ApproximateNumberOfMessagesVisible").with_(label=label)
                    for label, queue in (
                        ("verification", self.queue),
                        ("DLQ (not synced)", self.dead_letter_queue),
                        ("stream failures", self.stream_failure_queue),
                    )
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{title}: stream iterator age (ms)",
                left=[self._lambda_metric(self.forwarder, "IteratorAge", "Maximum").with_(label="forwarder")],
                width=8,
            ),
        ]

    @staticmethod
    def _queue_metric(queue: sqs.IQueue, name: str, statistic: str = "Maximum") -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/SQS",
            metric_name=name,
            dimensions_map={"QueueName": queue.queue_name},
            statistic=statistic,
            period=Duration.minutes(5),
        )

    @staticmethod
    def _lambda_metric(function: lambda_.IFunction, name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=name,
            dimensions_map={"FunctionName": function.function_name},
            statistic=statistic,
            period=Duration.minutes(5),
        )

    def _alarms(self, factory: AlarmFactory, *, lag_slo: Duration, canary_silent_for: Duration) -> None:
        subject = self.subject
        lag_seconds = int(self.max_sync_lag.to_seconds())
        hours = lag_seconds / 3600
        above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING

        def add(name: str, **kwargs: Any) -> None:
            self.alarms[name] = factory.create(Construct(self, f"{name}Alarms"), **kwargs)

        add(
            "OldestChange",
            subject=f"{subject}-verification-queue",
            runbook="sync-lag",
            summary=f"A change has waited on the sync verification queue longer than the lag objective; "
            f"at {hours:g} h it goes to the DLQ as not synced.",
            first_check="the verifier's 'change not synced yet' log lines (their reason) and the sync worker.",
            metric=self._queue_metric(self.queue, "ApproximateAgeOfOldestMessage"),
            thresholds=Thresholds(warning=int(lag_slo.to_seconds()), critical=lag_seconds // 2),
            comparison=above,
            missing_data=quiet,
        )
        # SQS stops counting a message received 3+ times in ApproximateAgeOfOldestMessage: the
        # verifier publishes the age of every change it leaves for later.
        add(
            "PendingChange",
            subject=f"{subject}-pending-changes",
            runbook="sync-lag",
            summary="The verifier found a change still not synced after the lag objective.",
            first_check="the verifier's 'change not synced yet' log lines (their reason) and the sync worker.",
            metric=self.metric("pending_age", statistic="Maximum"),
            thresholds=Thresholds(warning=int(lag_slo.to_seconds()), critical=lag_seconds // 2),
            comparison=above,
            missing_data=quiet,
        )
        dlqs = [
            (
                "VerificationDlq",
                f"{subject}-verification-dlq",
                self.dead_letter_queue,
                "Changes were not synced (or could not be checked); each message's genba-reason attribute says why.",
                "the genba-reason attribute of the messages, then resync those keys.",
            ),
            (
                "StreamFailureDlq",
                f"{subject}-stream-failure-dlq",
                self.stream_failure_dead_letter_queue,
                "The replay function gave up on failed stream ranges: those changes were never verified.",
                "the replay function's errors; replay the ranges by hand while the 24 h stream retention lasts.",
            ),
        ]
        if self.canary_dead_letter_queue is not None:
            dlqs.append(
                (
                    "CanaryDlq",
                    f"{subject}-canary-dlq",
                    self.canary_dead_letter_queue,
                    "The scheduler could not write the canary item to the source table.",
                    "the messages' ERROR_CODE / ERROR_MESSAGE attributes and the scheduler role.",
                )
            )
        for name, dlq_subject, queue, summary, first_check in dlqs:
            add(
                name,
                subject=dlq_subject,
                runbook="dlq-not-empty",
                summary=summary,
                first_check=first_check,
                metric=self._queue_metric(queue, "ApproximateNumberOfMessagesVisible"),
                thresholds=Thresholds(critical=0),
                comparison=above,
                missing_data=quiet,
            )
        window = STREAM_RETENTION.to_seconds() - self.max_record_age.to_seconds()
        add(
            "ReplayWindow",
            subject=f"{subject}-stream-failures",
            runbook="sync-replay-window",
            summary=f"Failed stream ranges wait for replay. Their records are at most "
            f"{self.max_record_age.to_hours():g} h old when they arrive and expire at 24 h: at warning about "
            f"{(window - 900) / 3600:.1f} h are left, at critical about 6 h.",
            first_check="the replay function's errors and the stream failure queue; "
            "fix the cause before the records expire.",
            metric=self._queue_metric(self.stream_failure_queue, "ApproximateAgeOfOldestMessage"),
            thresholds=Thresholds(warning=900, critical=int(max(window - 6 * 3600, 1800))),
            comparison=above,
            missing_data=quiet,
        )
        add(
            "IteratorAge",
            subject=f"{subject}-forwarder",
            runbook="stream-iterator-age",
            summary="The forwarder is behind the source table's stream; records expire 24 h after they were written.",
            first_check="the forwarder's errors and throttles, and its reserved concurrency.",
            metric=self._lambda_metric(self.forwarder, "IteratorAge", "Maximum"),
            thresholds=Thresholds(warning=600_000, critical=int(self.max_record_age.to_seconds() * 1000 / 2)),
            comparison=above,
            missing_data=quiet,
        )
        for name, function in (("Forwarder", self.forwarder), ("Verifier", self.verifier), ("Replay", self.replay)):
            add(
                f"{name}Errors",
                subject=f"{subject}-{name.lower()}",
                runbook="lambda-errors",
                summary=f"The sync {name.lower()} function failed invocations.",
                first_check="the function's ERROR log lines (request_id is the table key and sequence number).",
                metric=self._lambda_metric(function, "Errors", "Sum"),
                thresholds=Thresholds(warning=0, critical=10),
                comparison=above,
                missing_data=quiet,
            )
        if self.canary_schedule is not None:
            minutes = int(canary_silent_for.to_minutes())
            add(
                "CanarySilent",
                subject=f"{subject}-canary",
                runbook="sync-canary-silent",
                summary=f"No canary change was verified for {minutes} minutes: the stream, forwarder, sync or "
                "verifier is stuck (even if nothing else changed).",
                first_check="the forwarder's IteratorAge, the verification queue's age and the canary DLQ.",
                metric=self.metric("canary_verified", period=canary_silent_for),
                thresholds=Thresholds(critical=1),
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                missing_data=cloudwatch.TreatMissingData.BREACHING,
            )


__all__ = ["SyncVerification", "backoff_coverage_seconds"]
