"""Searchable logs: an OpenSearch Service domain fed from CloudWatch Logs through Firehose.

Logs that are searched often (login history, operations on mail templates) belong in a search
engine. :class:`LogSearch` composes, in named parts:

* ``_domain``: the domain with secure defaults (a customer managed key, node-to-node
  encryption, HTTPS only with TLS 1.2+, fine-grained access control with an IAM master role,
  an access policy for the account's IAM principals only, its slow-search, slow-index, error
  and audit logs in encrypted log groups, hourly automated snapshots, RETAIN), sized by
  :class:`SearchSizing` (``sizing``);
* ``_ingestion``: how logs get in: subscription -> Firehose (decompression and message
  extraction, daily index rotation, retries, every failed document backed up to S3 under its
  own prefix, delivery errors logged): :meth:`LogSearch.subscribe` adds a log group;
* ``_index_policy``: the ISM policy (delete indices after ``index_retention_days``), index
  template and the delivery role's writer mapping, applied by a custom resource
  (handler: ``lambda/opensearch_ism``);
* ``_alarms``: the alarms AWS recommends for OpenSearch Service and Firehose delivery, as data;
* ``_dashboard``: its widgets on the operations dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_s3 as s3
from constructs import Construct

from genba_constructs._checks import require_grantable
from genba_constructs._shared_props import shared_props
from genba_constructs._types import checked, register_coercion
from genba_constructs._validation import GenbaPropsError
from genba_constructs.alarms import AlarmFactory, AlarmSet, default_alarm_factory
from genba_constructs.log_search import _domain, _ingestion
from genba_constructs.log_search._alarms import SearchAlarms, search_alarm_specs
from genba_constructs.log_search._dashboard import search_widgets
from genba_constructs.log_search._domain import ES_HTTP_ACTIONS, ES_NAMESPACE
from genba_constructs.log_search._index_policy import (
    ISM_CONTRACT,
    ISM_FUNCTION,
    IndexPolicy,
    index_template,
    ism_policy,
    writer_role,
)
from genba_constructs.log_search._ingestion import FIREHOSE_NAMESPACE
from genba_constructs.log_search._props import check_props
from genba_constructs.log_search.sizing import LogSearchAlarmSettings, SearchSizing, free_storage_threshold_mib
from genba_constructs.log_subscription import subscription_alarm_specs
from genba_constructs.service_log_group import log_group_encryption_key

__all__ = [
    "ES_HTTP_ACTIONS",
    "ES_NAMESPACE",
    "FIREHOSE_NAMESPACE",
    "ISM_CONTRACT",
    "ISM_FUNCTION",
    "LogSearch",
    "LogSearchAlarmSettings",
    "SearchSizing",
    "free_storage_threshold_mib",
]


@shared_props("alarm_factory")
class LogSearch(Construct):
    """An OpenSearch Service domain for logs, its Firehose ingestion, index lifecycle and alarms.

    :param subject: slug naming this search in alarm names (``audit-search``). Default: ``log-search``.
    :param sizing: instance types, node counts, storage, zones. Default: ``SearchSizing()`` (one small node).
    :param domain_name: 3-28 lower-case letters, digits and hyphens. Default: derived from the construct path.
    :param engine_version: Default: OpenSearch 2.19.
    :param encryption_key: CMK for the domain, the stream and the default backup bucket. Default: a new rotated key.
    :param master_role: the fine-grained access control master user; must trust the ISM
        function's role (``index_policy_function.role``). Default: a new role that only that
        function and ``master_principal_arns`` may assume.
    :param master_principal_arns: IAM role ARNs (e.g. an SSO permission-set role) trusted to
        assume the master role genba makes: the people who administer the security plugin.
        Default: none (no person can assume it; add one to get access, see docs/runbooks.md).
    :param index_name: index prefix; Firehose writes ``<index_name>-YYYY-MM-DD``. Default: ``logs``.
    :param index_retention_days: ISM deletes indices older than this. Default: 30.
    :param log_retention_days: retention of the domain's own logs and delivery errors. Default: 30.
    :param backup_bucket: where failed documents are backed up (the log archive). Default: a new
        encrypted, versioned, TLS-only, access-logged bucket.
    :param vpc: place the domain (and the ingestion and ISM function) in this VPC. Default: public
        endpoint, limited by the access policy to the account's signed requests.
    :param vpc_subnets: subnets in ``vpc``, one per zone. Default: private subnets, one per zone.
    :param buffer_interval: Firehose buffering before a bulk request. Default: 60 seconds.
    :param retry_duration: how long Firehose retries a failed bulk request before backing the
        documents up to S3. Default: 300 seconds.
    :param alarm_settings: alarm thresholds. Default: AWS's recommendations.
    :param removal_policy: domain, keys, log groups, bucket. Default: RETAIN.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        subject: str = "log-search",
        sizing: SearchSizing = SearchSizing(),
        domain_name: str | None = None,
        engine_version: opensearch.EngineVersion | None = None,
        encryption_key: kms.IKey | None = None,
        master_role: iam.IRole | None = None,
        master_principal_arns: Sequence[str] = (),
        index_name: str = "logs",
        index_retention_days: int = 30,
        log_retention_days: int = 30,
        backup_bucket: s3.IBucket | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        buffer_interval: Duration = Duration.seconds(60),
        retry_duration: Duration = Duration.seconds(300),
        alarm_settings: LogSearchAlarmSettings = LogSearchAlarmSettings(),
        removal_policy: RemovalPolicy | None = None,
        alarm_factory: AlarmFactory | None = None,
    ) -> None:
        log_retention = check_props(
            subject=subject,
            sizing=sizing,
            domain_name=domain_name,
            index_name=index_name,
            index_retention_days=index_retention_days,
            log_retention_days=log_retention_days,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            buffer_interval=buffer_interval,
            retry_duration=retry_duration,
            alarm_settings=alarm_settings,
        )
        if master_role is not None and master_principal_arns:
            raise GenbaPropsError(
                f"LogSearch: master_principal_arns={list(master_principal_arns)!r} is for the master role "
                "genba makes; give it or master_role, not both"
            )
        super().__init__(scope, id)
        self.subject, self.sizing, self.index_name, self.vpc = subject, sizing, index_name, vpc
        self._master_principal_arns = tuple(master_principal_arns)
        removal = removal_policy or RemovalPolicy.RETAIN
        alarm_factory = alarm_factory or default_alarm_factory(self)
        self._alarm_factory = alarm_factory
        self.domain_name = name = domain_name or _domain.default_domain_name(self)
        _domain.claim_names(self, name)
        self.domain_arn = _domain.domain_arn(self, name)
        #: the dimensions of the domain's metrics (``DomainName`` and ``ClientId``).
        self.dimensions = _domain.domain_dimensions(self, name)
        self._build_domain(engine_version, encryption_key, master_role, log_retention, removal, vpc_subnets)
        self._build_ingestion(backup_bucket, log_retention, removal, buffer_interval, retry_duration)
        self.subscriptions: list[logs.CfnSubscriptionFilter] = []
        self._index_policy = IndexPolicy(
            self,
            "IndexPolicy",
            search=self,
            retention_days=index_retention_days,
            log_retention=log_retention,
            removal=removal,
            alarm_factory=alarm_factory,
        )
        self.index_policy = self._index_policy.resource
        # The master role made above trusts the ISM function's role (made only now).
        self._function_role.role = self._index_policy.function.role
        self.index_policy_function = self._index_policy.function
        self.index_policy_dead_letter_queue = self._index_policy.dead_letter_queue
        specs = search_alarm_specs(self, alarm_settings)
        domain_alarms = SearchAlarms(self, "Alarms", alarm_factory=alarm_factory, subject=subject, specs=specs)
        #: every alarm of this search: the ISM function's dead letters, then the domain's and delivery's.
        self.alarms: AlarmSet = self._index_policy.alarms + domain_alarms.alarms

    def _build_domain(
        self,
        engine_version: opensearch.EngineVersion | None,
        encryption_key: kms.IKey | None,
        master_role: iam.IRole | None,
        log_retention: logs.RetentionDays,
        removal: RemovalPolicy,
        vpc_subnets: ec2.SubnetSelection | None,
    ) -> None:
        """The domain and what it needs first: keys, master user, its log groups, its network (``_domain``)."""
        name = self.domain_name
        self.encryption_key: kms.IKey = encryption_key or _domain.new_domain_key(
            self, domain_name=name, removal=removal
        )
        self.log_encryption_key = log_group_encryption_key(self, "LogKey", removal_policy=removal)
        self._function_role = _domain.LaterRoleArn()
        self.master_role: iam.IRole = master_role or _domain.new_master_role(
            self, domain_name=name, function_role=self._function_role, principal_arns=self._master_principal_arns
        )
        self.log_groups, self.logs_resource_policy = _domain.domain_log_groups(
            self,
            domain_name=name,
            domain_arn=self.domain_arn,
            retention=log_retention,
            encryption_key=self.log_encryption_key,
            removal=removal,
        )
        self.subnets, group = _domain.search_network(
            self, vpc=self.vpc, vpc_subnets=vpc_subnets, zones=self.sizing.availability_zones, domain_name=name
        )
        self.security_group: ec2.ISecurityGroup | None = group
        self.domain = _domain.search_domain(self, engine_version=engine_version, removal=removal)
        self.grant_http(self.master_role)
        _domain.acknowledge_inline_policy(self.master_role)
        _domain.acknowledge_domain_paths(self.master_role, _domain.nag_domain_arn(self, name))

    def _build_ingestion(
        self,
        backup_bucket: s3.IBucket | None,
        log_retention: logs.RetentionDays,
        removal: RemovalPolicy,
        buffer_interval: Duration,
        retry_duration: Duration,
    ) -> None:
        """Backup bucket, delivery error log, Firehose and the subscription role (``_ingestion``)."""
        self.backup_bucket = backup_bucket or _ingestion.new_backup_bucket(
            self, encryption_key=self.encryption_key, removal=removal
        )
        self.delivery_log_group, self.delivery_log_stream = _ingestion.new_delivery_errors(
            self, retention=log_retention, encryption_key=self.log_encryption_key, removal=removal
        )
        self.delivery_role = _ingestion.new_delivery_role(self, domain_name=self.domain_name)
        self.delivery_stream = _ingestion.new_delivery_stream(
            self, buffer_interval=buffer_interval, retry_duration=retry_duration
        )
        self.subscription_role = _ingestion.new_subscription_role(self, delivery_stream=self.delivery_stream)
        _ingestion.acknowledge_ingestion_roles(
            self,
            delivery_role=self.delivery_role,
            subscription_role=self.subscription_role,
            backup_bucket=self.backup_bucket,
            nag_arn=_domain.nag_domain_arn(self, self.domain_name),
            index_name=self.index_name,
        )

    @checked
    def grant_http(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow ``grantee`` to call the domain's REST API (the security plugin still decides what it may do).

        :param actions: the REST verbs (``es:ESHttpGet``, ...). Default: all of them, each named.
        """
        require_grantable("LogSearch.grant_http", "grantee", grantee)
        return _domain.grant_http(grantee, self.domain_arn, actions)

    @checked
    def subscribe(
        self, log_group: logs.ILogGroup, *, filter_pattern: logs.IFilterPattern | None = None
    ) -> logs.CfnSubscriptionFilter:
        """Send ``log_group``'s events (JSON lines) into the search domain.

        A log group can have at most two subscription filters (the log archive takes the other).
        Adds the subscription's own alarms (``genba_constructs.log_subscription``: a broken
        subscription leaves every Firehose metric absent) to ``alarms``, subject ``<subject>``
        for the first log group and ``<subject>-<n>`` for the n-th.

        :param filter_pattern: events to send. Default: all.
        """
        index = len(self.subscriptions)
        filter_name = f"{self.subject}-{self.index_name}"
        subscription = _ingestion.subscribe(
            self,
            log_group,
            index=index,
            filter_name=filter_name,
            filter_pattern=filter_pattern,
            delivery_stream=self.delivery_stream,
            role=self.subscription_role,
            index_policy=self.index_policy,
        )
        self.subscriptions.append(subscription)
        # The hop before Firehose: a broken subscription leaves every Firehose metric absent.
        specs = subscription_alarm_specs(
            log_group_name=log_group.log_group_name,
            filter_name=filter_name,
            destination=f"the search domain {self.domain_name}",
            forwards_every_event=filter_pattern is None,
            group=f"Subscription{index}Alarms",
        )
        subject = self.subject if index == 0 else f"{self.subject}-{index + 1}"
        self.alarms = self.alarms + self._alarm_factory.create_all(self, subject=subject, specs=specs)
        return subscription

    @checked
    def acknowledge_public_endpoint(self, reason: str) -> None:
        """Acknowledge that the domain (and the ISM function) are outside a VPC, with your reason."""
        _domain.acknowledge_public_endpoint(self.domain, reason)
        self._index_policy.acknowledge_outside_vpc(reason)

    @checked
    def acknowledge_small_cluster(self, reason: str) -> None:
        """Acknowledge a domain without dedicated masters or zone awareness (development), with your reason."""
        _domain.acknowledge_small_cluster(self.domain, self.sizing, reason)

    @property
    def backup_prefix(self) -> str:
        """Where failed documents land in the backup bucket (Firehose adds YYYY/MM/DD/HH/)."""
        return _ingestion.backup_prefix(self.index_name)

    @property
    def error_prefix(self) -> str:
        """Where records that failed before delivery (processing errors) land."""
        return _ingestion.error_prefix(self.index_name)

    @checked
    def ism_policy(self, retention_days: int) -> dict[str, Any]:
        """The ISM policy body: indices of ``index_name`` are deleted ``retention_days`` after creation."""
        return ism_policy(self.index_name, retention_days)

    def index_template(self) -> dict[str, Any]:
        """Settings of new log indices: one copy per zone (primary + replicas), at most two on one zone."""
        return index_template(self.index_name, self.sizing)

    def writer_role(self) -> dict[str, Any]:
        """The security-plugin role Firehose's delivery role is mapped to: write its own indices, nothing else."""
        return writer_role(self.index_name)

    @checked
    def metric_domain(
        self, metric_name: str, *, statistic: str = "Maximum", period: Duration = Duration.minutes(1)
    ) -> cloudwatch.Metric:
        """A domain metric as OpenSearch Service publishes it: ``AWS/ES`` with ``DomainName`` and ``ClientId``."""
        return self.domain.metric(metric_name, dimensions_map=self.dimensions, statistic=statistic, period=period)

    @checked
    def metric_delivery(
        self, metric_name: str, *, statistic: str, period: Duration = Duration.minutes(5)
    ) -> cloudwatch.Metric:
        """A Firehose metric of the delivery stream (``DeliveryToAmazonOpenSearchService.*``)."""
        return _ingestion.delivery_metric(self.delivery_stream, metric_name, statistic=statistic, period=period)

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """Cluster health, storage, CPU and memory, and delivery into the domain (with alarm thresholds)."""
        return search_widgets(self)


# Where a domain goes (OpenSearchIndexTarget), a LogSearch stands for its domain.
register_coercion(LogSearch, opensearch.IDomain, lambda search: search.domain)
