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

The parts: ``timing`` (:class:`SyncTiming`, the timing rules), ``_source`` (the table and its
stream), ``_queues`` (queues, key, ``grant_send``), ``_functions`` (forwarder, replay,
verifier), ``_canary``, ``_alarms`` (the alarm specs) and ``_dashboard``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genba_constructs._checks import require_period, require_statistic
from genba_constructs._names import claim_name
from genba_constructs._types import checked
from genba_constructs._validation import GenbaPropsError, fail, require_either, require_range
from genba_constructs.alarms import AlarmFactory, AlarmSet, default_alarm_factory
from genba_constructs.retention import retention_days as to_retention
from genba_constructs.sync_targets import SyncTarget
from genba_constructs.sync_verification._alarms import alarm_specs
from genba_constructs.sync_verification._canary import build_canary
from genba_constructs.sync_verification._contract import (
    CANARY_PARTITION_VALUE,
    CANARY_SCHEDULED_TIME_ATTRIBUTE,
    CONTRACT,
    ENV,
    MAX_DELAY_SECONDS,
    MAX_VISIBILITY_SECONDS,
    NAME,
    SYNC_METRICS,
    SYNC_METRICS_NAMESPACE,
)
from genba_constructs.sync_verification._dashboard import dashboard_widgets
from genba_constructs.sync_verification._functions import StreamProps, build_functions
from genba_constructs.sync_verification._network import build_network
from genba_constructs.sync_verification._queues import SyncQueues, grant_send
from genba_constructs.sync_verification._source import build_source_table, canary_key
from genba_constructs.sync_verification.timing import (
    ATTRIBUTE_NAME_PATTERN,
    MAX_PARALLELIZATION_FACTOR,
    STREAM_RETENTION,
    SyncTiming,
    backoff_coverage_seconds,
)

_VIEW_TYPES = (
    dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    dynamodb.StreamViewType.NEW_IMAGE,
    dynamodb.StreamViewType.KEYS_ONLY,
)


def _validate(
    *, subject: str, stream_view_type: dynamodb.StreamViewType, stream: StreamProps, timing: SyncTiming
) -> None:
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", subject or ""):
        raise fail(NAME, "subject", subject, "must be a lower-case slug such as 'user-sync'")
    if stream_view_type not in _VIEW_TYPES:
        raise fail(NAME, "stream_view_type", stream_view_type, "must be NEW_AND_OLD_IMAGES, NEW_IMAGE or KEYS_ONLY")
    if not re.fullmatch(ATTRIBUTE_NAME_PATTERN, stream.version_attribute or ""):
        raise fail(NAME, "version_attribute", stream.version_attribute, "is not a DynamoDB attribute name")
    for prop, value, problem in timing.problems():
        raise fail(NAME, prop, value.to_human_string() if isinstance(value, Duration) else value, problem)
    parallelization = stream.parallelization_factor
    require_range(NAME, "parallelization_factor", parallelization, minimum=1, maximum=MAX_PARALLELIZATION_FACTOR)
    require_range(NAME, "forwarder_batch_size", stream.forwarder_batch_size, minimum=1, maximum=10000)
    require_range(NAME, "retry_attempts", stream.retry_attempts, minimum=0, maximum=10000)
    require_range(NAME, "verifier_batch_size", stream.verifier_batch_size, minimum=1, maximum=10000)
    concurrency = stream.reserved_concurrency
    if len(concurrency) != 3 or not all(isinstance(c, int) and c >= 1 for c in concurrency):
        raise fail(
            NAME, "reserved_concurrency", concurrency, "must be three whole numbers >= 1 (forwarder, verifier, replay)"
        )
    _validate_queue_concurrency(stream)


def _validate_queue_concurrency(stream: StreamProps) -> None:
    """Each SQS event source's MaximumConcurrency: 2..1000 (Lambda's range), never above reserved concurrency."""
    if stream.max_concurrency is not None and (
        len(stream.max_concurrency) != 2 or not all(isinstance(c, int) for c in stream.max_concurrency)
    ):
        raise fail(NAME, "max_concurrency", stream.max_concurrency, "must be two whole numbers (verifier, replay)")
    reserved = {"verifier": stream.reserved_concurrency[1], "replay": stream.reserved_concurrency[2]}
    for function, maximum in zip(("verifier", "replay"), stream.queue_concurrency(), strict=True):
        prop = "max_concurrency" if stream.max_concurrency is not None else "reserved_concurrency"
        if not 2 <= maximum <= 1000:
            raise fail(
                NAME, prop, maximum, f"gives the {function}'s SQS event source a MaximumConcurrency outside 2..1000"
            )
        if maximum > reserved[function]:
            raise fail(
                NAME,
                "max_concurrency",
                maximum,
                f"is above the {function}'s reserved concurrency {reserved[function]}: throttled receives "
                "would spend maxReceiveCount",
            )


def _validate_min_changes(count: int | None, window: Duration) -> None:
    if count is None:
        return
    require_range(NAME, "min_source_changes", count, minimum=1, maximum=10**9)
    if not isinstance(window, Duration) or window.to_seconds() % 60 or not 60 <= window.to_seconds() <= 86400:
        shown = window.to_human_string() if isinstance(window, Duration) else window
        raise fail(NAME, "min_source_changes_window", shown, "must be whole minutes between 1 minute and 1 day")


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
    :param max_concurrency: MaximumConcurrency of the verifier's and the replay's SQS event
        sources (2-1000, no higher than their reserved concurrency, so that Lambda's poller never
        receives a message it cannot deliver). Default: their reserved concurrency.
    :param min_source_changes: alarm (``sync-source-quiet``) when the forwarder sees fewer real
        changes (the canary excluded) than this in ``min_source_changes_window``. Default: no alarm.
    :param min_source_changes_window: the window of ``min_source_changes``. Default: 5 minutes.
    :param canary_interval: how often the canary item is written (None: no canary). Default: 5 minutes.
    :param canary_silent_for: no canary verified for this long raises the canary alarm. Default: 20 minutes.
    :param log_retention_days: the functions' log retention. Default: 30.
    :param vpc: run the forwarder, verifier and replay in this VPC. genba adds no NAT or
        endpoints: the VPC must reach SQS, DynamoDB, DynamoDB Streams and what the target needs
        (docs/constructs/sync_verification.md#in-a-vpc; synth warns for a CDK ``ec2.Vpc`` of the
        app that lacks them). Default: outside a VPC.
    :param vpc_subnets: private or isolated subnets of ``vpc``. Default: the VPC's private subnets.
    :param security_groups: of the functions. Default: one group with no ingress and HTTPS egress only.
    :param alarm_factory: makes the alarms. Default: alarms named after the stack, no actions.
    """

    @checked
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
        max_concurrency: tuple[int, int] | None = None,
        min_source_changes: int | None = None,
        min_source_changes_window: Duration = Duration.minutes(5),
        canary_interval: Duration | None = Duration.minutes(5),
        canary_silent_for: Duration = Duration.minutes(20),
        log_retention_days: int = 30,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        alarm_factory: AlarmFactory | None = None,
    ) -> None:
        require_either(NAME, ("source_table", source_table), [("source_table_name", source_table_name)])
        timing = SyncTiming(
            max_sync_lag=max_sync_lag,
            grace_period=grace_period,
            lag_slo=lag_slo,
            max_record_age=max_record_age,
            verifier_batching_window=verifier_batching_window,
            verifier_timeout=verifier_timeout,
            verification_visibility_timeout=verification_visibility_timeout,
            max_receive_count=max_receive_count,
            canary_interval=canary_interval,
            canary_silent_for=canary_silent_for,
        )
        stream = StreamProps(
            parallelization_factor=parallelization_factor,
            forwarder_batch_size=forwarder_batch_size,
            retry_attempts=retry_attempts,
            verifier_batch_size=verifier_batch_size,
            reserved_concurrency=reserved_concurrency,
            version_attribute=version_attribute,
            max_concurrency=max_concurrency,
        )
        _validate(subject=subject, stream_view_type=stream_view_type, stream=stream, timing=timing)
        _validate_min_changes(min_source_changes, min_source_changes_window)
        retention = to_retention(NAME, "log_retention_days", log_retention_days)
        super().__init__(scope, id)
        self.subject = subject
        #: fewer real source changes than this in ``min_source_changes_window`` alarms (None: no alarm).
        self.min_source_changes = min_source_changes
        self.min_source_changes_window = min_source_changes_window
        self.service_name = f"{Stack.of(self).stack_name}-{subject}"
        self.timing = timing
        self.max_sync_lag = max_sync_lag
        self.max_record_age = max_record_age
        removal = removal_policy or RemovalPolicy.RETAIN

        if source_table is None and source_table_name is not None:
            claim_name(self, "DynamoDB table name", source_table_name, owner="SyncVerification")
        self.source_table = build_source_table(
            self,
            existing=source_table,
            table_name=source_table_name,
            partition_key=partition_key,
            sort_key=sort_key,
            stream_view_type=stream_view_type,
            removal=removal,
        )
        self.canary_key = canary_key(partition_key, sort_key)

        queues = SyncQueues(self, subject=subject, timing=timing, removal=removal)
        self.encryption_key = queues.encryption_key
        self.queue: sqs.Queue = queues.verification_queue
        self.dead_letter_queue = queues.dead_letter_queue
        self.stream_failure_queue = queues.stream_failure_queue
        self.stream_failure_dead_letter_queue = queues.stream_failure_dead_letter_queue

        network = build_network(self, vpc=vpc, vpc_subnets=vpc_subnets, security_groups=security_groups, target=target)
        functions = build_functions(
            self,
            subject=subject,
            service_name=self.service_name,
            table=self.source_table,
            target=target,
            queues=queues,
            timing=timing,
            props=stream,
            canary_key=self.canary_key,
            retention=retention,
            removal=removal,
            network=network,
        )
        self.forwarder, self.replay, self.verifier = functions.forwarder, functions.replay, functions.verifier

        self.canary_schedule: scheduler.Schedule | None = None
        self.canary_dead_letter_queue: sqs.Queue | None = None
        if canary_interval is not None:
            canary = build_canary(
                self,
                subject=subject,
                table=self.source_table,
                key=self.canary_key,
                interval=canary_interval,
                version_attribute=version_attribute,
                queues=queues,
            )
            self.canary_schedule, self.canary_dead_letter_queue = canary.schedule, canary.dead_letter_queue

        factory = alarm_factory or default_alarm_factory(self)
        #: every alarm of the pipeline: ``alarms.get("sync-lag", Severity.CRITICAL, subject=...)``.
        self.alarms: AlarmSet = factory.create_all(self, subject=subject, specs=alarm_specs(self, timing))

    @checked
    def metric(self, name: str, *, statistic: str = "Sum", period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """A pipeline metric by its contract name (``verified``, ``not_yet``, ``failed``, ``sync_lag``...)."""
        if name not in SYNC_METRICS:
            raise GenbaPropsError(f"SyncVerification.metric: name={name!r} must be one of {sorted(SYNC_METRICS)}")
        require_statistic("SyncVerification.metric", "statistic", statistic)
        require_period("SyncVerification.metric", "period", period)
        return cloudwatch.Metric(
            namespace=SYNC_METRICS_NAMESPACE,
            metric_name=SYNC_METRICS[name],
            dimensions_map={"service": self.service_name},
            statistic=statistic,
            period=period,
        )

    @checked
    def metric_sync_lag(self, *, statistic: str = "p99", period: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
        """Seconds from a change to its verification (``p50``, ``p99``, ``Maximum``...)."""
        return self.metric("sync_lag", statistic=statistic, period=period)

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """Sync lag percentiles, outcomes, queue age and depths, the canary, stream iterator age."""
        return dashboard_widgets(self)


__all__ = [
    "CANARY_PARTITION_VALUE",
    "CANARY_SCHEDULED_TIME_ATTRIBUTE",
    "CONTRACT",
    "ENV",
    "MAX_DELAY_SECONDS",
    "MAX_VISIBILITY_SECONDS",
    "STREAM_RETENTION",
    "SYNC_METRICS",
    "SYNC_METRICS_NAMESPACE",
    "SyncTiming",
    "SyncVerification",
    "backoff_coverage_seconds",
    "grant_send",
]
