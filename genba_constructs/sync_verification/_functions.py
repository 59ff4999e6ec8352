"""The three sync functions and how they are wired: forwarder, replay and verifier.

Each is a :class:`SyncFunction` (its own log group, an explicit role, genba's runtime and
layers, the shared acknowledgements). :func:`build_functions` connects them: the stream to the
forwarder, failed stream ranges to the replay, the verification queue to the verifier, and
grants each exactly the queues it sends to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from constructs import Construct

from genba_constructs._secure import (
    REASON_INLINE_POLICY,
    REASON_NETWORK_INTERFACES,
    function_log_group,
    function_role,
    genba_function,
    network_interface_finding,
    network_interface_permissions,
    write_own_logs,
)
from genba_constructs._validation import GenbaPropsError
from genba_constructs.handler_runtime import POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME
from genba_constructs.nag import acknowledge
from genba_constructs.service_log_group import DEFAULT_MASKED_DATA, log_group_encryption_key
from genba_constructs.sync_targets import SyncTarget
from genba_constructs.sync_verification._contract import ENV, SYNC_METRICS_NAMESPACE
from genba_constructs.sync_verification._network import SyncNetwork
from genba_constructs.sync_verification._queues import (
    REPLAY_TIMEOUT,
    STREAM_FAILURE_MAX_RECEIVES,
    OnFailureQueue,
    SyncQueues,
    grant_send,
)

if TYPE_CHECKING:
    from genba_constructs.sync_verification import SyncVerification

_VPC_REASON = (
    "The sync functions call only AWS APIs (DynamoDB Streams, SQS, the target) over TLS with IAM; "
    "a VPC would add NAT or endpoints but no control over those calls."
)
_DLQ_REASON = (
    "Invoked synchronously by an event source mapping: failures go to the mapping's on-failure "
    "queue (stream) or the queue's redrive DLQ (SQS); an async DLQ would never receive anything."
)
# AwsSolutions-IAM5 on Resource::*: only actions the Service Authorization Reference lists with
# no resource type (X-Ray's, and DynamoDB's ListStreams, which Lambda's stream event source
# mapping calls: the DynamoDB guide's policy for a stream-reading Lambda function lists it).
_XRAY = "xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing)"
_EC2 = "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets (Lambda's VPC access)"
_LIST_STREAMS = "dynamodb:ListStreams (called by the stream event source mapping)"
_WILDCARD_ACTIONS = {"Forwarder": (_XRAY, _LIST_STREAMS), "Replay": (_XRAY,), "Verifier": (_XRAY,)}
_FUNCTION_ACKNOWLEDGEMENTS = (
    ("NIST.800.53.R5-LambdaDLQ", _DLQ_REASON),
    ("Serverless-LambdaDLQ", _DLQ_REASON),
)


def _wildcard_reason(function: str, *, in_vpc: bool) -> str:
    """The IAM5 ``Resource::*`` reason: exactly the actions this function's role has on '*'."""
    actions = [*_WILDCARD_ACTIONS[function], *((_EC2,) if in_vpc else ())]
    others = (
        "the stream reads name the stream and every other statement its resources"
        if function == "Replay"
        else ("every other statement names its resources")
    )
    return (
        f"Only {', '.join(actions[:-1]) + ' and ' if len(actions) > 1 else ''}{actions[-1]} are on '*': the "
        f"Service Authorization Reference lists no resource type for them; {others}."
    )


class FunctionLogGroup(TypedDict):
    """The props every sync function's log group shares (``function_log_group``'s)."""

    key: kms.IKey
    retention: logs.RetentionDays
    removal: RemovalPolicy


@dataclass(frozen=True)
class FunctionSettings:
    """What the three sync functions share: the pipeline's names, their log groups' props, the network."""

    subject: str
    service_name: str
    log_group: FunctionLogGroup
    network: SyncNetwork | None = None


class SyncFunction(Construct):
    """One sync function (:func:`genba_constructs._secure.genba_function`): ``LogGroup``, ``Role``, ``Resource``."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        code: str,
        purpose: str,
        env: dict[str, str],
        timeout: Duration,
        concurrency: int,
        settings: FunctionSettings,
    ) -> None:
        super().__init__(scope, id)
        subject, network = settings.subject, settings.network
        description = f"genba sync verification ({subject}): {purpose}"
        # Stream records and DLQ bodies can carry personal data (an e-mail address as a key):
        # masked like every genba service log group (the handlers log key digests only).
        masking = logs.DataProtectionPolicy(
            name=f"{subject}-{id.lower()}-masking",
            description="Masks sensitive data in genba sync verification logs",
            identifiers=list(DEFAULT_MASKED_DATA),
        )
        self.log_group = function_log_group(self, "LogGroup", **settings.log_group, masking=masking)
        # An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this log group only.
        self.role = function_role(self, "Role", description=description)
        write_own_logs(self.role, self.log_group)
        self.function = genba_function(
            self,
            "Resource",
            code=code,
            description=description,
            role=self.role,
            log_group=self.log_group,
            timeout=timeout,
            reserved_concurrency=concurrency,
            vpc=network.vpc if network is not None else None,
            subnets=network.subnets if network is not None else (),
            security_groups=network.security_groups if network is not None else None,
            environment={
                **env,
                POWERTOOLS_SERVICE_NAME: settings.service_name,
                POWERTOOLS_METRICS_NAMESPACE: SYNC_METRICS_NAMESPACE,
                POWERTOOLS_LOG_LEVEL: "INFO",
            },
        )
        if network is None:
            acknowledge(self.function, "NIST.800.53.R5-LambdaInsideVPC", _VPC_REASON)
        else:
            network_interface_permissions(self.role, subnets=network.subnets, security_groups=network.security_groups)
            acknowledge(
                self.role, "AwsSolutions-IAM5", REASON_NETWORK_INTERFACES, finding=network_interface_finding(self.role)
            )
        for rule, reason in _FUNCTION_ACKNOWLEDGEMENTS:
            acknowledge(self.function, rule, reason)
        acknowledge(self.role, "NIST.800.53.R5-IAMNoInlinePolicy", REASON_INLINE_POLICY)
        acknowledge(
            self.role, "AwsSolutions-IAM5", _wildcard_reason(id, in_vpc=network is not None), finding="Resource::*"
        )

    def depend_on_policy_only(self) -> None:
        """The role is already a GetAtt dependency: keep only the policy in DependsOn (cfn-lint W3005)."""
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is None:
            return
        function_cfn = self.function.node.default_child
        assert isinstance(function_cfn, lambda_.CfnFunction)
        policy_cfn = policy.node.default_child
        assert isinstance(policy_cfn, iam.CfnPolicy)
        function_cfn.add_override("DependsOn", [Stack.of(self).get_logical_id(policy_cfn)])


@dataclass(frozen=True)
class StreamProps:
    """How the forwarder reads the stream and the verifier reads its queue (validated by the construct)."""

    parallelization_factor: int
    forwarder_batch_size: int
    retry_attempts: int
    verifier_batch_size: int
    reserved_concurrency: tuple[int, int, int]
    version_attribute: str
    #: MaximumConcurrency of the verifier's and the replay's SQS event sources (None: their reserved concurrency).
    max_concurrency: tuple[int, int] | None = None

    def queue_concurrency(self) -> tuple[int, int]:
        """(verifier, replay) maximum concurrency of their SQS event sources.

        No higher than the function's reserved concurrency: Lambda's poller then never receives
        a message it cannot deliver (a throttled receive spends one of maxReceiveCount).
        """
        if self.max_concurrency is not None:
            return self.max_concurrency
        return self.reserved_concurrency[1], self.reserved_concurrency[2]


@dataclass(frozen=True)
class SyncFunctions:
    forwarder: lambda_.Function
    replay: lambda_.Function
    verifier: lambda_.Function


def build_functions(
    sync: SyncVerification,
    *,
    target: SyncTarget,
    queues: SyncQueues,
    props: StreamProps,
    retention: logs.RetentionDays,
    removal: RemovalPolicy,
    network: SyncNetwork | None = None,
) -> SyncFunctions:
    """Forwarder, replay and verifier with their event sources and grants, in the order their policies list them.

    The pipeline's own parts come from ``sync`` (its subject, service name, source table, timing
    and canary key), as for its alarms and dashboard.
    """
    table, timing = sync.source_table, sync.timing
    log_key = log_group_encryption_key(sync, "LogKey", removal_policy=removal)
    log_group = FunctionLogGroup(key=log_key, retention=retention, removal=removal)
    settings = FunctionSettings(sync.subject, sync.service_name, log_group, network)
    common_env = {
        ENV["verification_queue_url"]: queues.verification_queue.queue_url,
        ENV["verification_dlq_url"]: queues.dead_letter_queue.queue_url,
        ENV["grace_period_seconds"]: str(timing.grace_seconds),
        ENV["max_sync_lag_seconds"]: str(int(timing.max_sync_lag.to_seconds())),
        ENV["version_attribute"]: props.version_attribute,
        ENV["canary_key"]: json.dumps(sync.canary_key),
    }
    forwarder_concurrency, verifier_concurrency, replay_concurrency = props.reserved_concurrency
    verifier_queue_concurrency, replay_queue_concurrency = props.queue_concurrency()

    def function(
        id: str, code: str, purpose: str, env: dict[str, str], timeout: Duration, concurrency: int
    ) -> SyncFunction:
        return SyncFunction(
            sync, id, code=code, purpose=purpose, env=env, timeout=timeout, concurrency=concurrency, settings=settings
        )

    forwarder = function(
        "Forwarder",
        "sync_forwarder",
        "forwards each stream change to the verification queue",
        common_env,
        Duration.seconds(60),
        forwarder_concurrency,
    )
    # The mapping's grant includes dynamodb:ListStreams on '*' (no resource type: Service
    # Authorization Reference, list_amazondynamodb.html); its stream reads name the stream.
    forwarder.function.add_event_source(
        sources.DynamoEventSource(
            table,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=props.forwarder_batch_size,
            bisect_batch_on_error=True,
            retry_attempts=props.retry_attempts,
            max_record_age=timing.max_record_age,
            report_batch_item_failures=True,
            parallelization_factor=props.parallelization_factor,
            on_failure=OnFailureQueue(queues.stream_failure_queue),
        )
    )
    replay = function(
        "Replay",
        "sync_replay",
        "re-reads failed stream ranges from the stream and forwards them",
        {**common_env, ENV["replay_max_receives"]: str(STREAM_FAILURE_MAX_RECEIVES)},
        REPLAY_TIMEOUT,
        replay_concurrency,
    )
    # The replay reads a failed range with GetShardIterator and GetRecords only (the range names
    # the stream and shard): no ListStreams on '*' or DescribeStream, which grant_stream_read adds.
    if table.table_stream_arn is None:
        raise GenbaPropsError(f"SyncVerification: table={table.node.path} has no stream ARN to replay from")
    replay.role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="ReadFailedRanges",
            actions=["dynamodb:GetShardIterator", "dynamodb:GetRecords"],
            resources=[table.table_stream_arn],
        )
    )
    _grant_table_key(table, replay.function)
    replay.function.add_event_source(
        sources.SqsEventSource(
            queues.stream_failure_queue,
            batch_size=1,
            report_batch_item_failures=True,
            max_concurrency=replay_queue_concurrency,
        )
    )
    verifier_env = {**common_env, ENV["source_table_name"]: table.table_name, ENV["target_kind"]: target.kind}
    verifier = function(
        "Verifier",
        "sync_verifier",
        "checks each change against the sync target",
        verifier_env,
        timing.verifier_timeout,
        verifier_concurrency,
    )
    verifier.function.add_environment(
        ENV["target_config"],
        Stack.of(sync).to_json_string(target.bind(verifier.function, version_attribute=props.version_attribute)),
    )
    table.grant(verifier.function, "dynamodb:BatchGetItem")
    _grant_table_key(table, verifier.function)
    verifier.function.add_event_source(
        sources.SqsEventSource(
            queues.verification_queue,
            batch_size=props.verifier_batch_size,
            max_batching_window=timing.verifier_batching_window if props.verifier_batch_size > 10 else None,
            report_batch_item_failures=True,
            max_concurrency=verifier_queue_concurrency,
        )
    )
    for queue_consumer in (verifier, replay):
        acknowledge(
            queue_consumer.function,
            "Serverless-LambdaEventSourceMappingDestination",
            "An SQS event source mapping has no on-failure destination: a message that keeps failing "
            "goes to the queue's redrive DLQ, which has a 'DLQ not empty' alarm.",
        )
    grant_send(forwarder.function, queues.stream_failure_queue)
    for sender in (forwarder, replay):
        grant_send(sender.function, queues.verification_queue)
    for sender in (forwarder, replay, verifier):
        grant_send(sender.function, queues.dead_letter_queue)
        # (The event source grants the verifier ReceiveMessage, DeleteMessage and ChangeMessageVisibility,
        # which its backoff uses.)
        sender.depend_on_policy_only()
    return SyncFunctions(forwarder=forwarder.function, replay=replay.function, verifier=verifier.function)


def _grant_table_key(table: dynamodb.ITable, grantee: iam.IGrantable) -> iam.Grant | None:
    """A table encrypted with a customer managed key serves items and stream records only to
    whom the key lets decrypt (what grant_stream_read / grant_read_data add, and ``table.grant``
    does not): https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html"""
    key = table.encryption_key
    return key.grant(grantee, "kms:Decrypt", "kms:DescribeKey") if key is not None else None
