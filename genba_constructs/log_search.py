"""Searchable logs: an OpenSearch Service domain fed from CloudWatch Logs through Firehose.

Logs that are searched often (login history, operations on mail templates) belong in a search
engine. :class:`LogSearch` defines

* an OpenSearch Service domain with secure defaults: encryption at rest with a customer
  managed key, node-to-node encryption, HTTPS only with TLS 1.2+, fine-grained access control
  with an IAM master role, an access policy that admits only the account's IAM principals,
  slow-search, slow-index, error and audit logs in encrypted log groups, hourly automated
  snapshots (OpenSearch takes them itself), RETAIN; sized by :class:`SearchSizing`;
* a Firehose delivery stream into it (decompression and message extraction of CloudWatch
  Logs records, daily index rotation, retries, every failed document backed up to S3 under
  its own prefix, delivery errors logged): :meth:`LogSearch.subscribe` adds a log group;
* an ISM policy (delete indices after ``index_retention_days``) and the delivery role's
  mapping in the domain's security plugin, applied by a custom resource that calls the
  domain's REST API with SigV4-signed requests (handler: ``lambda/opensearch_ism``);
* the alarms AWS recommends for OpenSearch Service and for Firehose delivery to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnResource, CustomResource, Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genba_constructs._firehose import cloudwatch_logs_processing
from genba_constructs._validation import fail, require_positive_duration, require_range
from genba_constructs.alarms import AlarmFactory, Severity, Thresholds, default_alarm_factory
from genba_constructs.handler_code import handler_code_path
from genba_constructs.handler_runtime import ARCHITECTURE, POWERTOOLS_SERVICE_NAME, PYTHON_RUNTIME, handler_layers
from genba_constructs.nag import acknowledge
from genba_constructs.retention import retention_days as to_retention
from genba_constructs.service_log_group import log_group_encryption_key

ISM_FUNCTION = "opensearch_ism"
ISM_CONTRACT: dict[str, Any] = json.loads((Path(handler_code_path(ISM_FUNCTION)) / "contract.json").read_text())

ES_NAMESPACE = "AWS/ES"
FIREHOSE_NAMESPACE = "AWS/Firehose"

# The domain's REST verbs, spelled out (genba grants no wildcard actions).
ES_HTTP_ACTIONS = (
    "es:ESHttpGet",
    "es:ESHttpHead",
    "es:ESHttpPost",
    "es:ESHttpPut",
    "es:ESHttpPatch",
    "es:ESHttpDelete",
)

# Multi-AZ with Standby is not offered on burstable (T) instances nor on previous generations.
_NO_STANDBY_FAMILIES = ("t2", "t3", "t4g", "m3", "r3", "i2")
_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+\.search")
_INDEX_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")
_DOMAIN_NAME = re.compile(r"[a-z][a-z0-9-]{2,27}")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class SearchSizing:
    """How big the domain is. Default: one small burstable node (a development domain).

    :param instance_type: data node instance type. Default: ``t3.small.search``.
    :param data_nodes: number of data nodes. Default: 1.
    :param volume_gib: EBS (gp3) storage per data node, GiB. Default: 10.
    :param availability_zones: zones the data nodes are spread over (1 = no zone awareness,
        2 or 3). Default: 1.
    :param master_instance_type: dedicated master instance type. Default: none.
    :param master_nodes: dedicated master nodes (0, 3 or 5). Default: 0.
    :param multi_az_with_standby: Multi-AZ with Standby (needs 3 zones, dedicated masters and
        instance types that offer it). Default: False.
    """

    instance_type: str = "t3.small.search"
    data_nodes: int = 1
    volume_gib: int = 10
    availability_zones: int = 1
    master_instance_type: str | None = None
    master_nodes: int = 0
    multi_az_with_standby: bool = False

    def problems(self) -> Iterator[tuple[str, Any, str]]:
        """Every reason OpenSearch Service would refuse (or regret) this sizing: (key, value, problem)."""
        for key in ("instance_type", "master_instance_type"):
            value = getattr(self, key)
            if value is not None and not _INSTANCE_TYPE.fullmatch(value):
                yield key, value, "is not an OpenSearch instance type such as 'r6g.large.search'"
        if not 1 <= self.data_nodes <= 1000:
            yield "data_nodes", self.data_nodes, "must be between 1 and 1000"
        if not 10 <= self.volume_gib <= 24576:
            yield "volume_gib", self.volume_gib, "must be between 10 and 24576 GiB"
        if self.availability_zones not in (1, 2, 3):
            yield "availability_zones", self.availability_zones, "must be 1 (no zone awareness), 2 or 3"
        elif self.availability_zones > 1 and self.data_nodes % self.availability_zones:
            yield (
                "data_nodes",
                self.data_nodes,
                f"must be a multiple of availability_zones ({self.availability_zones}): zone awareness "
                "places the same number of data nodes in every zone",
            )
        if self.master_nodes % 2 == 0 and self.master_nodes:
            yield (
                "master_nodes",
                self.master_nodes,
                "is even: dedicated masters need an odd number to keep a quorum (use 3 or 5)",
            )
        elif self.master_nodes not in (0, 3, 5):
            yield "master_nodes", self.master_nodes, "must be 0 (no dedicated masters), 3 or 5"
        if self.master_nodes and self.master_instance_type is None:
            yield "master_instance_type", None, f"is required with master_nodes={self.master_nodes}"
        if not self.master_nodes and self.master_instance_type is not None:
            yield "master_instance_type", self.master_instance_type, "is given but master_nodes is 0"
        if self.multi_az_with_standby:
            if self.availability_zones != 3:
                yield (
                    "availability_zones",
                    self.availability_zones,
                    "must be 3 with multi_az_with_standby (one zone holds the standby)",
                )
            if not self.master_nodes:
                yield "master_nodes", self.master_nodes, "must be 3 or 5 with multi_az_with_standby"
            for key in ("instance_type", "master_instance_type"):
                value = getattr(self, key)
                if value is not None and value.split(".", 1)[0] in _NO_STANDBY_FAMILIES:
                    yield (
                        key,
                        value,
                        f"cannot run Multi-AZ with Standby (not offered for {', '.join(_NO_STANDBY_FAMILIES)})",
                    )

    @property
    def nodes(self) -> int:
        """All nodes the domain reports in its ``Nodes`` metric: data and dedicated master nodes."""
        return self.data_nodes + self.master_nodes

    @property
    def storage_per_node_mib(self) -> int:
        """One node's storage in MiB, the unit of ``FreeStorageSpace``."""
        return self.volume_gib * 1024


@dataclass(frozen=True)
class LogSearchAlarmSettings:
    """Alarm thresholds; the defaults are AWS's recommended alarms for OpenSearch Service.

    :param free_storage_percent: FreeStorageSpace (Minimum, 1 minute) at or below this share of
        one node's storage. Default: 25.
    :param cpu_utilization_percent: CPUUtilization (Maximum, 15 minutes, 3 periods). Default: 80.
    :param jvm_memory_pressure_percent: JVMMemoryPressure (Maximum, 1 minute, 3 periods). Default: 95.
    :param master_cpu_utilization_percent: MasterCPUUtilization (Maximum, 15 minutes, 3 periods). Default: 50.
    :param master_jvm_memory_pressure_percent: MasterJVMMemoryPressure (Maximum, 1 minute, 3 periods). Default: 95.
    :param yellow_minutes: minutes of yellow status before the alarm. Default: 5.
    :param delivery_freshness_seconds: age of the oldest undelivered record (Firehose's buffering
        limit is 15 minutes). Default: 900.
    :param delivery_success_ratio: DeliveryToAmazonOpenSearchService.Success (Average, 5 minutes)
        below this. Default: 1 (any document that could not be indexed).
    """

    free_storage_percent: float = 25
    cpu_utilization_percent: float = 80
    jvm_memory_pressure_percent: float = 95
    master_cpu_utilization_percent: float = 50
    master_jvm_memory_pressure_percent: float = 95
    yellow_minutes: int = 5
    delivery_freshness_seconds: int = 900
    delivery_success_ratio: float = 1


def free_storage_threshold_mib(sizing: SearchSizing, percent: float) -> int:
    """The FreeStorageSpace alarm threshold: ``percent`` of one node's storage, in MiB."""
    return int(sizing.storage_per_node_mib * percent / 100)


class LogSearch(Construct):
    """An OpenSearch Service domain for logs, its Firehose ingestion, index lifecycle and alarms.

    :param subject: slug naming this search in alarm names (``audit-search``). Default: ``log-search``.
    :param sizing: instance types, node counts, storage, zones. Default: ``SearchSizing()`` (one small node).
    :param domain_name: 3-28 lower-case letters, digits and hyphens. Default: derived from the construct path.
    :param engine_version: Default: OpenSearch 2.19.
    :param encryption_key: CMK for the domain, the stream and the default backup bucket. Default: a new rotated key.
    :param master_role: the fine-grained access control master user; must trust this account.
        Default: a new role any IAM principal of this account may be allowed to assume.
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
    :param alarm_factory: makes the alarms. Default: alarms named after the stack, no actions.
    """

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
        name = "LogSearch"
        for key, value, problem in sizing.problems():
            raise fail(name, f"sizing.{key}", value, problem)
        if not _SLUG.fullmatch(subject or ""):
            raise fail(name, "subject", subject, "must be a lower-case slug such as 'audit-search'")
        if domain_name is not None and not Token.is_unresolved(domain_name) and not _DOMAIN_NAME.fullmatch(domain_name):
            raise fail(
                name, "domain_name", domain_name, "must be 3-28 lower-case letters, digits or '-', first a letter"
            )
        if not _INDEX_NAME.fullmatch(index_name or ""):
            raise fail(name, "index_name", index_name, "must be 1-60 lower-case letters, digits, '-' or '_'")
        require_range(name, "index_retention_days", index_retention_days, minimum=1, maximum=36500)
        log_retention = to_retention(name, "log_retention_days", log_retention_days)
        require_positive_duration(name, "retry_duration", retry_duration)
        require_positive_duration(name, "buffer_interval", buffer_interval)
        if not retry_duration.is_unresolved() and retry_duration.to_seconds() > 7200:
            raise fail(name, "retry_duration", retry_duration.to_human_string(), "must be at most 2 hours")
        if not buffer_interval.is_unresolved() and buffer_interval.to_seconds() > 900:
            raise fail(name, "buffer_interval", buffer_interval.to_human_string(), "must be at most 15 minutes")
        if vpc_subnets is not None and vpc is None:
            raise fail(name, "vpc_subnets", vpc_subnets, "needs vpc")
        require_range(
            name, "alarm_settings.free_storage_percent", alarm_settings.free_storage_percent, minimum=1, maximum=90
        )
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.subject = subject
        self.sizing = sizing
        self.index_name = index_name
        removal = removal_policy or RemovalPolicy.RETAIN
        alarm_factory = alarm_factory or default_alarm_factory(self)
        self.domain_name = domain_name or self._default_domain_name()

        self.encryption_key: kms.IKey = encryption_key or kms.Key(
            self,
            "Key",
            description=f"Encrypts the log search domain {self.domain_name}, its ingestion and backups",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=Duration.days(30) if removal == RemovalPolicy.RETAIN else Duration.days(7),
        )
        self.log_encryption_key = log_group_encryption_key(self, "LogKey", removal_policy=removal)
        self.master_role: iam.IRole = master_role or iam.Role(
            self,
            "MasterRole",
            assumed_by=iam.AccountRootPrincipal(),
            description=f"Fine-grained access control master user of {self.domain_name}",
        )
        self.domain_arn = stack.format_arn(
            service="es", resource="domain", resource_name=self.domain_name, arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )

        self.log_groups = self._domain_log_groups(log_retention, removal)
        self.vpc = vpc
        self.security_group: ec2.ISecurityGroup | None = None
        self.subnets: list[ec2.ISubnet] = []
        if vpc is not None:
            selection = vpc_subnets or ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, one_per_az=True
            )
            # One subnet per zone the domain uses (a single-node domain takes exactly one).
            self.subnets = vpc.select_subnets(**selection._values).subnets[: sizing.availability_zones]
            self.security_group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=vpc,
                description=f"{self.domain_name}: HTTPS from ingestion and ISM",
                allow_all_outbound=False,
            )
            self.security_group.add_ingress_rule(
                self.security_group, ec2.Port.tcp(443), "HTTPS within the search group"
            )
            self.security_group.add_egress_rule(self.security_group, ec2.Port.tcp(443), "HTTPS to the domain")
        self.domain = self._domain(engine_version, removal, vpc)
        self.grant_http(self.master_role)

        self.backup_bucket = backup_bucket or self._backup_bucket(removal)
        self.delivery_log_group = logs.LogGroup(
            self,
            "DeliveryErrors",
            retention=log_retention,
            encryption_key=self.log_encryption_key,
            removal_policy=removal,
        )
        self.delivery_log_stream = logs.LogStream(
            self,
            "DeliveryErrorStream",
            log_group=self.delivery_log_group,
            log_stream_name="OpenSearchDelivery",
            removal_policy=removal,
        )
        self.delivery_role = iam.Role(
            self,
            "DeliveryRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"Firehose delivery into {self.domain_name} and failed documents into S3",
        )
        self.delivery_stream = self._delivery_stream(buffer_interval, retry_duration)
        self.subscription_role = iam.Role(
            self,
            "SubscriptionRole",
            assumed_by=iam.ServicePrincipal(
                f"logs.{stack.region}.amazonaws.com",
                conditions={
                    "StringLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            ),
            description=f"CloudWatch Logs subscriptions into {self.delivery_stream.ref}",
        )
        self.subscription_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["firehose:PutRecord", "firehose:PutRecordBatch"], resources=[self.delivery_stream.attr_arn]
            )
        )
        self.subscriptions: list[logs.CfnSubscriptionFilter] = []

        self._acknowledge_own_policies()
        self.index_policy = self._index_policy(index_retention_days, log_retention, removal, alarm_factory)
        self.alarms = self._alarms(alarm_factory, alarm_settings)

    # ------------------------------------------------------------------------ acknowledgements
    def _acknowledge_own_policies(self) -> None:
        domain_paths = f"Resource::{self._nag_arn()}/*"
        for each in (self.master_role, self.delivery_role, self.subscription_role):
            self._acknowledge_inline_policy(each)
        for role in (self.master_role, self.delivery_role):
            if isinstance(role, iam.Role):
                acknowledge(
                    role,
                    "AwsSolutions-IAM5",
                    "REST paths of this one domain; the domain's security plugin decides what each role may do.",
                    finding=domain_paths,
                )
        bucket = self.backup_bucket.node.default_child
        if isinstance(bucket, s3.CfnBucket) and Stack.of(bucket) is Stack.of(self):
            # A bucket from another stack shows up differently in the finding: its owner acknowledges.
            acknowledge(
                self.delivery_role,
                "AwsSolutions-IAM5",
                "Firehose writes failed documents under this construct's own prefixes of the backup bucket.",
                finding=f"Resource::<{Stack.of(self).get_logical_id(bucket)}.Arn>/search-*",
            )

    def _nag_arn(self) -> str:
        """The domain ARN as cdk-nag prints it in finding ids (pseudo parameters as <AWS::...>)."""
        stack = Stack.of(self)
        parts = [
            (stack.partition, "<AWS::Partition>"),
            (stack.region, "<AWS::Region>"),
            (stack.account, "<AWS::AccountId>"),
        ]
        partition, region, account = (shown if Token.is_unresolved(value) else value for value, shown in parts)
        return f"arn:{partition}:es:{region}:{account}:domain/{self.domain_name}"

    def _acknowledge_inline_policy(self, role: iam.IRole) -> None:
        if isinstance(role, iam.Role):
            acknowledge(
                role,
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "The policy grants exactly what this one role needs and is deleted with it; "
                "as a managed policy it could be attached elsewhere.",
            )

    def acknowledge_public_endpoint(self, reason: str) -> None:
        """Acknowledge that the domain (and the ISM function) are outside a VPC, with your reason."""
        for rule in ("AwsSolutions-OS1", "NIST.800.53.R5-OpenSearchInVPCOnly"):
            acknowledge(self.domain, rule, reason)
        acknowledge(self.index_policy_function, "NIST.800.53.R5-LambdaInsideVPC", reason)

    def acknowledge_small_cluster(self, reason: str) -> None:
        """Acknowledge a domain without dedicated masters or zone awareness (development), with your reason."""
        if not self.sizing.master_nodes:
            acknowledge(self.domain, "AwsSolutions-OS4", reason)
        if self.sizing.availability_zones < 2:
            acknowledge(self.domain, "AwsSolutions-OS7", reason)

    # ----------------------------------------------------------------------------------- domain
    def _default_domain_name(self) -> str:
        raw = Names.unique_resource_name(self, max_length=28, separator="-").lower()
        raw = re.sub(r"[^a-z0-9-]", "", raw)
        return ("s" + raw)[:28] if not raw[:1].isalpha() else raw[:28]

    def _domain_log_groups(self, retention: logs.RetentionDays, removal: RemovalPolicy) -> dict[str, logs.LogGroup]:
        groups = {
            kind: logs.LogGroup(
                self,
                f"{kind}Logs",
                log_group_name=f"/aws/opensearch/{self.domain_name}/{kind.lower()}",
                retention=retention,
                encryption_key=self.log_encryption_key,
                removal_policy=removal,
            )
            for kind in ("SlowSearch", "SlowIndex", "Error", "Audit")
        }
        # OpenSearch writes its logs with this account's CloudWatch Logs resource policy.
        self.logs_resource_policy = logs.ResourcePolicy(
            self,
            "LogsResourcePolicy",
            resource_policy_name=f"{self.domain_name}-opensearch-logs",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[group.log_group_arn for group in groups.values()],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                        "ArnLike": {"aws:SourceArn": self.domain_arn},
                    },
                )
            ],
        )
        return groups

    def _domain(
        self, engine_version: opensearch.EngineVersion | None, removal: RemovalPolicy, vpc: ec2.IVpc | None
    ) -> opensearch.Domain:
        sizing = self.sizing
        zones = sizing.availability_zones
        domain = opensearch.Domain(
            self,
            "Resource",
            domain_name=self.domain_name,
            version=engine_version or opensearch.EngineVersion.OPENSEARCH_2_19,
            capacity=opensearch.CapacityConfig(
                data_node_instance_type=sizing.instance_type,
                data_nodes=sizing.data_nodes,
                master_node_instance_type=sizing.master_instance_type,
                master_nodes=sizing.master_nodes or None,
                multi_az_with_standby_enabled=sizing.multi_az_with_standby,
            ),
            ebs=opensearch.EbsOptions(volume_size=sizing.volume_gib, volume_type=ec2.EbsDeviceVolumeType.GP3),
            zone_awareness=opensearch.ZoneAwarenessConfig(
                enabled=zones > 1, availability_zone_count=zones if zones > 1 else None
            ),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True, kms_key=self.encryption_key),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=self.master_role.role_arn),
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=self.log_groups["SlowSearch"],
                slow_index_log_enabled=True,
                slow_index_log_group=self.log_groups["SlowIndex"],
                app_log_enabled=True,
                app_log_group=self.log_groups["Error"],
                audit_log_enabled=True,
                audit_log_group=self.log_groups["Audit"],
            ),
            suppress_logs_resource_policy=True,
            enable_auto_software_update=True,
            off_peak_window_enabled=True,
            removal_policy=removal,
            vpc=vpc,
            vpc_subnets=[ec2.SubnetSelection(subnets=self.subnets)] if self.subnets else None,
            security_groups=[self.security_group] if self.security_group else None,
        )
        domain.node.add_dependency(self.logs_resource_policy)
        # The access policy is set on the CloudFormation resource itself (the L2 would add a
        # custom resource for it): only this account's IAM principals, with signed requests.
        cfn = domain.node.default_child
        assert isinstance(cfn, opensearch.CfnDomain)
        cfn.access_policies = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="AccountPrincipalsOnly",
                    principals=[iam.AccountRootPrincipal()],
                    actions=list(ES_HTTP_ACTIONS),
                    resources=[f"{self.domain_arn}/*"],
                )
            ]
        ).to_json()
        acknowledge(
            domain,
            "AwsSolutions-OS3",
            "Access is by this account's IAM principals with SigV4-signed requests and fine-grained access control, "
            "not by source IP.",
        )
        return domain

    def grant_http(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow ``grantee`` to call the domain's REST API (the security plugin still decides what it may do)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(actions or ES_HTTP_ACTIONS),
            resource_arns=[self.domain_arn, f"{self.domain_arn}/*"],
        )

    # ---------------------------------------------------------------------------- ingestion
    def _backup_bucket(self, removal: RemovalPolicy) -> s3.Bucket:
        access_logs = s3.Bucket(
            self,
            "BackupAccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only encryption S3 server access logging supports
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            # Ownership left to CDK: ACL-based log delivery (apps without the bucket-policy feature
            # flag) needs ObjectWriter; with the flag S3's default (owner enforced) applies.
            removal_policy=removal,
        )
        acknowledge(
            access_logs,
            "AwsSolutions-S1",
            "This bucket is the destination of the backup bucket's server access logs; logging it would loop.",
        )
        acknowledge(
            access_logs,
            "NIST.800.53.R5-S3BucketLoggingEnabled",
            "This bucket is the destination of the backup bucket's server access logs; logging it would loop.",
        )
        acknowledge(
            access_logs,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "S3 server access logging delivers only to buckets encrypted with SSE-S3, not SSE-KMS.",
        )
        for rule in ("NIST.800.53.R5-S3BucketReplicationEnabled",):
            acknowledge(
                access_logs,
                rule,
                "Access logs of the failed-document backup; cross-region replication is the log archive's concern.",
            )
        bucket = s3.Bucket(
            self,
            "BackupBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.encryption_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="backup-bucket/",
            removal_policy=removal,
        )
        acknowledge(
            bucket,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "Holds only documents OpenSearch rejected, for replay; cross-region durability is the log archive's job.",
        )
        return bucket

    @property
    def backup_prefix(self) -> str:
        """Where failed documents land in the backup bucket (Firehose adds YYYY/MM/DD/HH/)."""
        return f"search-failed/{self.index_name}/"

    @property
    def error_prefix(self) -> str:
        """Where records that failed before delivery (processing errors) land."""
        return f"search-errors/{self.index_name}/"

    def _delivery_stream(self, buffer_interval: Duration, retry_duration: Duration) -> firehose.CfnDeliveryStream:
        role = self.delivery_role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DescribeDomain",
                actions=["es:DescribeDomain", "es:DescribeDomains", "es:DescribeDomainConfig"],
                resources=[self.domain_arn, f"{self.domain_arn}/*"],
            )
        )
        self.grant_http(role, "es:ESHttpGet", "es:ESHttpPost", "es:ESHttpPut")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="BackupFailedDocuments",
                actions=[
                    "s3:AbortMultipartUpload",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutObject",
                ],
                resources=[self.backup_bucket.bucket_arn, self.backup_bucket.arn_for_objects("search-*")],
            )
        )
        bucket_key = self.backup_bucket.encryption_key
        if bucket_key is not None:
            bucket_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LogDeliveryErrors",
                actions=["logs:PutLogEvents"],
                resources=[self.delivery_log_group.log_group_arn],
            )
        )
        if self.subnets:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="DeliverIntoTheVpc",
                    actions=[
                        "ec2:DescribeVpcs",
                        "ec2:DescribeVpcAttribute",
                        "ec2:DescribeSubnets",
                        "ec2:DescribeSecurityGroups",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:CreateNetworkInterface",
                        "ec2:CreateNetworkInterfacePermission",
                        "ec2:DeleteNetworkInterface",
                    ],
                    resources=["*"],  # ENIs Firehose creates do not exist yet: EC2 takes no narrower resource
                )
            )
            acknowledge(
                role,
                "AwsSolutions-IAM5",
                "Firehose creates and describes its network interfaces in the VPC; these EC2 actions take no "
                "resource narrower than '*'.",
                finding="Resource::*",
            )
        logging_options = firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
            enabled=True,
            log_group_name=self.delivery_log_group.log_group_name,
            log_stream_name=self.delivery_log_stream.log_stream_name,
        )
        stream = firehose.CfnDeliveryStream(
            self,
            "DeliveryStream",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="CUSTOMER_MANAGED_CMK", key_arn=self.encryption_key.key_arn
            ),
            amazonopensearchservice_destination_configuration=firehose.CfnDeliveryStream.AmazonopensearchserviceDestinationConfigurationProperty(
                domain_arn=self.domain.domain_arn,
                index_name=self.index_name,
                index_rotation_period="OneDay",
                role_arn=role.role_arn,
                buffering_hints=firehose.CfnDeliveryStream.AmazonopensearchserviceBufferingHintsProperty(
                    interval_in_seconds=int(buffer_interval.to_seconds()), size_in_m_bs=5
                ),
                retry_options=firehose.CfnDeliveryStream.AmazonopensearchserviceRetryOptionsProperty(
                    duration_in_seconds=int(retry_duration.to_seconds())
                ),
                s3_backup_mode="FailedDocumentsOnly",
                s3_configuration=firehose.CfnDeliveryStream.S3DestinationConfigurationProperty(
                    bucket_arn=self.backup_bucket.bucket_arn,
                    role_arn=role.role_arn,
                    prefix=self.backup_prefix,
                    error_output_prefix=self.error_prefix,
                    compression_format="GZIP",
                    buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                        interval_in_seconds=300, size_in_m_bs=5
                    ),
                    encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                        kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                            awskms_key_arn=bucket_key.key_arn
                        )
                    )
                    if bucket_key is not None
                    else None,
                    cloud_watch_logging_options=logging_options,
                ),
                processing_configuration=cloudwatch_logs_processing(one_line_per_event=False),
                cloud_watch_logging_options=logging_options,
                document_id_options=firehose.CfnDeliveryStream.DocumentIdOptionsProperty(
                    default_document_id_format="FIREHOSE_DEFAULT"
                ),
                vpc_configuration=firehose.CfnDeliveryStream.VpcConfigurationProperty(
                    role_arn=role.role_arn,
                    subnet_ids=[subnet.subnet_id for subnet in self.subnets],
                    security_group_ids=[self.security_group.security_group_id],
                )
                if self.subnets and self.security_group is not None
                else None,
            ),
        )
        # The role's policy must exist before Firehose checks it while creating the stream.
        stream.node.add_dependency(self._default_policy(role))
        return stream

    @staticmethod
    def _default_policy(role: iam.Role) -> CfnResource:
        policy = role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, CfnResource)
        return policy

    def subscribe(
        self, log_group: logs.ILogGroup, *, filter_pattern: logs.IFilterPattern | None = None
    ) -> logs.CfnSubscriptionFilter:
        """Send ``log_group``'s events (JSON lines) into the search domain.

        A log group can have at most two subscription filters (the log archive takes the other).

        :param filter_pattern: events to send. Default: all.
        """
        index = len(self.subscriptions)
        subscription = logs.CfnSubscriptionFilter(
            self,
            f"Subscription{index}" if index else "Subscription",
            log_group_name=log_group.log_group_name,
            destination_arn=self.delivery_stream.attr_arn,
            role_arn=self.subscription_role.role_arn,
            filter_pattern=(filter_pattern or logs.FilterPattern.all_events()).log_pattern_string,
            filter_name=f"{self.subject}-{self.index_name}",
        )
        subscription.node.add_dependency(self._default_policy(self.subscription_role))
        # Events flow only once the domain lets the delivery role write (the writer role mapping).
        subscription.node.add_dependency(self.index_policy)
        self.subscriptions.append(subscription)
        return subscription

    def _function_security_group(self, scope: Construct) -> ec2.SecurityGroup:
        """The ISM function calls STS and answers CloudFormation's pre-signed S3 URL: it needs egress."""
        assert self.vpc is not None and self.security_group is not None
        group = ec2.SecurityGroup(
            scope,
            "FunctionSecurityGroup",
            vpc=self.vpc,
            description=f"{self.domain_name} ISM function: HTTPS to the domain, STS and CloudFormation",
            allow_all_outbound=True,
        )
        self.security_group.add_ingress_rule(group, ec2.Port.tcp(443), "HTTPS from the ISM function")
        return group

    # --------------------------------------------------------------------- index lifecycle
    def ism_policy(self, retention_days: int) -> dict[str, Any]:
        """The ISM policy body: indices of ``index_name`` are deleted ``retention_days`` after creation."""
        return {
            "policy": {
                "description": f"genba: delete {self.index_name} indices {retention_days} days after creation",
                "default_state": "hot",
                "states": [
                    {
                        "name": "hot",
                        "actions": [],
                        "transitions": [
                            {"state_name": "delete", "conditions": {"min_index_age": f"{retention_days}d"}}
                        ],
                    },
                    {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
                ],
                "ism_template": [{"index_patterns": [f"{self.index_name}-*"], "priority": 100}],
            }
        }

    def index_template(self) -> dict[str, Any]:
        """Settings of new log indices: one copy per zone (primary + replicas), at most two on one zone."""
        zones = self.sizing.availability_zones
        copies = zones if zones > 1 else min(2, self.sizing.data_nodes)
        return {
            "index_patterns": [f"{self.index_name}-*"],
            "priority": 100,
            "template": {"settings": {"index": {"number_of_shards": 1, "number_of_replicas": copies - 1}}},
        }

    def writer_role(self) -> dict[str, Any]:
        """The security-plugin role Firehose's delivery role is mapped to: write its own indices, nothing else."""
        return {
            "cluster_permissions": ["cluster_composite_ops", "cluster_monitor"],
            "index_permissions": [
                {"index_patterns": [f"{self.index_name}-*"], "allowed_actions": ["create_index", "crud", "manage"]}
            ],
        }

    def _index_policy(
        self,
        retention_days: int,
        log_retention: logs.RetentionDays,
        removal: RemovalPolicy,
        alarm_factory: AlarmFactory,
    ) -> CustomResource:
        scope = Construct(self, "IndexPolicy")
        dead_letters = sqs.Queue(
            scope,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.encryption_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal,
        )
        function_logs = logs.LogGroup(
            scope,
            "FunctionLogs",
            retention=log_retention,
            encryption_key=self.log_encryption_key,
            removal_policy=removal,
        )
        function_role = iam.Role(
            scope,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"The ISM policy function of {self.domain_name}: its own logs, the master role",
        )
        if self.subnets:  # ENIs in the VPC: AWS's managed policy is the documented way
            function_role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
            )
            acknowledge(
                function_role,
                "AwsSolutions-IAM4",
                "AWS's managed policy is the documented minimum for a function's network interfaces in a VPC.",
                finding="Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
            )
        function = lambda_.Function(
            scope,
            "Function",
            role=function_role,
            description=f"Applies the ISM policy and log writer role of {self.domain_name}",
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            layers=handler_layers(scope),
            code=lambda_.Code.from_asset(handler_code_path(ISM_FUNCTION), exclude=["__pycache__", "*.pyc"]),
            handler="index.handler",
            timeout=Duration.minutes(2),
            memory_size=256,
            environment={
                ISM_CONTRACT["environment"]["master_role_arn"]: self.master_role.role_arn,
                POWERTOOLS_SERVICE_NAME: "genba-opensearch-ism",
            },
            tracing=lambda_.Tracing.ACTIVE,
            log_group=function_logs,
            dead_letter_queue=dead_letters,
            retry_attempts=2,
            reserved_concurrent_executions=1,
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=self.subnets) if self.subnets else None,
            security_groups=[self._function_security_group(scope)] if self.vpc is not None else None,
        )
        self.master_role.grant_assume_role(function_role)
        # Lambda sends failed events to the dead-letter queue as the function: the queue's key too.
        self.encryption_key.grant(function_role, "kms:GenerateDataKey", "kms:Decrypt")
        # Its own log group instead of AWSLambdaBasicExecutionRole's logs:* on every log group.
        function_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[function_logs.log_group_arn],
            )
        )
        # CDK repeats the role (already a GetAtt) in DependsOn; wait only for its policy.
        cfn_function = function.node.default_child
        assert isinstance(cfn_function, CfnResource)
        cfn_function.add_override("DependsOn", [Stack.of(self).get_logical_id(self._default_policy(function_role))])
        self._acknowledge_inline_policy(function_role)
        acknowledge(
            function_role,
            "AwsSolutions-IAM5",
            "X-Ray's PutTraceSegments and PutTelemetryRecords accept no resource narrower than '*'.",
            finding="Resource::*",
        )
        acknowledge(
            function,
            "Serverless-LambdaAsyncFailureDestination",
            "Events that fail every retry go to the function's dead-letter queue, which has a 'DLQ not empty' alarm.",
        )
        for rule in ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"):
            acknowledge(
                function,
                rule,
                "genba pins one Python runtime for all handlers (handler_runtime.PYTHON_RUNTIME) to match its layers.",
            )
        acknowledge(
            dead_letters,
            "Serverless-SQSRedrivePolicy",
            "This queue is the dead-letter queue of the ISM policy function; nothing consumes it automatically.",
        )
        alarm_factory.create(
            scope,
            subject=f"{self.subject}-index-policy",
            runbook="dlq-not-empty",
            summary=f"A deployment event for the ISM policy of {self.domain_name} failed every retry.",
            first_check="the messages in the dead-letter queue and the function's log group.",
            metric=dead_letters.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=Duration.minutes(5)
            ),
            thresholds=Thresholds(critical=1),
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        props = ISM_CONTRACT["properties"]
        resource = CustomResource(
            scope,
            "Resource",
            service_token=function.function_arn,
            resource_type=ISM_CONTRACT["resource_type"],
            properties={
                props["endpoint"]: self.domain.domain_endpoint,
                props["policy_id"]: f"{self.index_name}-retention",
                props["policy"]: json.dumps(self.ism_policy(retention_days), sort_keys=True),
                props["index_template_name"]: f"{self.index_name}-template",
                props["index_template"]: json.dumps(self.index_template(), sort_keys=True),
                props["writer_role_name"]: f"{self.index_name}_writer",
                props["writer_role"]: json.dumps(self.writer_role(), sort_keys=True),
                props["writer_backend_roles"]: [self.delivery_role.role_arn],
            },
            removal_policy=RemovalPolicy.RETAIN if removal == RemovalPolicy.RETAIN else RemovalPolicy.DESTROY,
        )
        self.index_policy_function = function
        self.index_policy_dead_letter_queue = dead_letters
        return resource

    # ------------------------------------------------------------------------------ alarms
    def metric_domain(
        self, metric_name: str, *, statistic: str = "Maximum", period: Duration = Duration.minutes(1)
    ) -> cloudwatch.Metric:
        """A domain metric as OpenSearch Service publishes it: ``AWS/ES`` with ``DomainName`` and ``ClientId``."""
        return cloudwatch.Metric(
            namespace=ES_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"DomainName": self.domain_name, "ClientId": Stack.of(self).account},
            statistic=statistic,
            period=period,
        )

    def metric_delivery(
        self, metric_name: str, *, statistic: str, period: Duration = Duration.minutes(5)
    ) -> cloudwatch.Metric:
        """A Firehose metric of the delivery stream (``DeliveryToAmazonOpenSearchService.*``)."""
        return cloudwatch.Metric(
            namespace=FIREHOSE_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"DeliveryStreamName": self.delivery_stream.ref},
            statistic=statistic,
            period=period,
        )

    def _alarms(self, factory: AlarmFactory, settings: LogSearchAlarmSettings) -> list[cloudwatch.Alarm]:
        scope = Construct(self, "Alarms")
        gte = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        domain = self.domain_name
        made: list[dict[Severity, cloudwatch.Alarm]] = []
        self.alarms_by_runbook: dict[str, cloudwatch.Alarm] = {}

        def alarm(
            runbook: str,
            summary: str,
            first_check: str,
            metric: cloudwatch.IMetric,
            thresholds: Thresholds,
            **kwargs: Any,
        ) -> None:
            by_severity = factory.create(
                scope,
                subject=self.subject,
                runbook=runbook,
                summary=summary,
                first_check=first_check,
                metric=metric,
                thresholds=thresholds,
                comparison=kwargs.pop("comparison", gte),
                missing_data=kwargs.pop("missing_data", quiet),
                **kwargs,
            )
            made.append(by_severity)
            self.alarms_by_runbook[runbook] = next(iter(by_severity.values()))

        alarm(
            "opensearch-cluster-red",
            f"At least one primary shard of {domain} and its replicas are unassigned: searches miss data.",
            "GET _cluster/allocation/explain and the domain's error logs; free storage and JVM pressure.",
            self.metric_domain("ClusterStatus.red"),
            Thresholds(critical=1),
        )
        alarm(
            "opensearch-cluster-yellow",
            f"At least one replica shard of {domain} is not allocated: one more node failure may lose data.",
            "GET _cluster/allocation/explain; a single-node domain is always yellow when indices have replicas.",
            self.metric_domain("ClusterStatus.yellow"),
            Thresholds(warning=1),
            evaluation_periods=settings.yellow_minutes,
        )
        alarm(
            "opensearch-free-storage",
            f"A node of {domain} has {settings.free_storage_percent:g}% or less of its storage free; "
            "at the flood-stage watermark OpenSearch blocks writes.",
            "the ISM policy (old indices deleted?), index sizes (GET _cat/indices), then add storage.",
            self.metric_domain("FreeStorageSpace", statistic="Minimum"),
            Thresholds(critical=free_storage_threshold_mib(self.sizing, settings.free_storage_percent)),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        alarm(
            "opensearch-writes-blocked",
            f"{domain} blocks write requests: Firehose retries, then backs documents up to S3.",
            "FreeStorageSpace and JVMMemoryPressure, then GET _cluster/settings for index.blocks.",
            self.metric_domain("ClusterIndexWritesBlocked", period=Duration.minutes(5)),
            Thresholds(critical=1),
        )
        alarm(
            "opensearch-nodes",
            f"{domain} has had fewer than its {self.sizing.nodes} configured nodes for a day.",
            "the domain's health in the console and the service events (a failed node not replaced).",
            self.metric_domain("Nodes", statistic="Minimum", period=Duration.days(1)),
            Thresholds(critical=self.sizing.nodes),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm(
            "opensearch-snapshot-failure",
            f"An automated snapshot of {domain} failed, often because the cluster is red.",
            "GET _snapshot/cs-automated-enc/_all and the cluster status.",
            self.metric_domain("AutomatedSnapshotFailure"),
            Thresholds(warning=1),
        )
        alarm(
            "opensearch-cpu",
            f"The data nodes of {domain} ran at {settings.cpu_utilization_percent:g}% CPU or more for 45 minutes.",
            "search and index slow logs for expensive queries, then a larger instance type or more nodes.",
            self.metric_domain("CPUUtilization", period=Duration.minutes(15)),
            Thresholds(warning=settings.cpu_utilization_percent),
            evaluation_periods=3,
        )
        alarm(
            "opensearch-jvm-memory",
            f"JVM memory pressure of {domain}: {settings.jvm_memory_pressure_percent:g}% or more: near out of memory.",
            "shard count and size (GET _cat/shards), heavy aggregations, then scale up.",
            self.metric_domain("JVMMemoryPressure"),
            Thresholds(critical=settings.jvm_memory_pressure_percent),
            evaluation_periods=3,
        )
        if self.sizing.master_nodes:
            alarm(
                "opensearch-master-cpu",
                f"Masters of {domain} ran at {settings.master_cpu_utilization_percent:g}% CPU+ for 45 min.",
                "the shard and index count, then a larger master instance type.",
                self.metric_domain("MasterCPUUtilization", period=Duration.minutes(15)),
                Thresholds(warning=settings.master_cpu_utilization_percent),
                evaluation_periods=3,
            )
            alarm(
                "opensearch-master-jvm-memory",
                f"JVM memory pressure of the dedicated masters of {domain} is at "
                f"{settings.master_jvm_memory_pressure_percent:g}% or more.",
                "the shard and index count, then a larger master instance type.",
                self.metric_domain("MasterJVMMemoryPressure"),
                Thresholds(critical=settings.master_jvm_memory_pressure_percent),
                evaluation_periods=3,
            )
        alarm(
            "opensearch-kms-key-error",
            f"The KMS key that encrypts {domain} is disabled: the domain cannot read or write its data.",
            "the key's state in KMS (enable it); the metric exists only while the key has a problem.",
            self.metric_domain("KMSKeyError"),
            Thresholds(critical=1),
        )
        alarm(
            "opensearch-kms-key-inaccessible",
            f"The KMS key that encrypts {domain} was deleted or its grants revoked.",
            "the key's state and grants in KMS and CloudTrail; restore from a snapshot if the key is gone.",
            self.metric_domain("KMSKeyInaccessible"),
            Thresholds(critical=1),
        )
        alarm(
            "firehose-delivery",
            f"Firehose could not index some documents into {domain}; they are backed up to "
            f"s3://{{backup bucket}}/{self.backup_prefix}.",
            "the delivery error log group, then replay the backed-up documents once fixed.",
            self.metric_delivery("DeliveryToAmazonOpenSearchService.Success", statistic="Average"),
            Thresholds(warning=settings.delivery_success_ratio),
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        )
        alarm(
            "firehose-freshness",
            f"The oldest log record waiting for delivery into {domain} is older than "
            f"{settings.delivery_freshness_seconds} seconds: search results are stale.",
            "the delivery error log group and the domain's write block and cluster status alarms.",
            self.metric_delivery("DeliveryToAmazonOpenSearchService.DataFreshness", statistic="Maximum"),
            Thresholds(critical=settings.delivery_freshness_seconds),
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        return [a for by_severity in made for a in by_severity.values()]

    # --------------------------------------------------------------------------- dashboard
    def dashboard_widgets(self) -> list[cloudwatch.IWidget]:
        """Cluster health, storage, CPU and memory, and delivery into the domain (with alarm thresholds)."""
        by = self.alarms_by_runbook
        status = cloudwatch.GraphWidget(
            title=f"{self.subject}: cluster status",
            left=[
                self.metric_domain("ClusterStatus.red").with_(label="red", color=cloudwatch.Color.RED),
                self.metric_domain("ClusterStatus.yellow").with_(label="yellow", color=cloudwatch.Color.ORANGE),
                self.metric_domain("ClusterIndexWritesBlocked").with_(label="writes blocked"),
            ],
            width=8,
        )
        memory = [self.metric_domain("JVMMemoryPressure").with_(label="data nodes")]
        if self.sizing.master_nodes:
            memory.append(self.metric_domain("MasterJVMMemoryPressure").with_(label="masters"))
        delivered = cloudwatch.GraphWidget(
            title=f"{self.subject}: documents delivered",
            left=[
                self.metric_delivery("DeliveryToAmazonOpenSearchService.Records", statistic="Sum").with_(
                    label="indexed"
                ),
                self.metric_delivery("IncomingRecords", statistic="Sum").with_(label="received"),
            ],
            right=[self.metric_delivery("DeliveryToAmazonOpenSearchService.Success", statistic="Average")],
            width=8,
        )
        return [
            status,
            cloudwatch.AlarmWidget(
                alarm=by["opensearch-free-storage"], title=f"{self.subject}: free storage (MiB, least node)", width=8
            ),
            cloudwatch.AlarmWidget(alarm=by["opensearch-cpu"], title=f"{self.subject}: CPU (%)", width=8),
            cloudwatch.GraphWidget(title=f"{self.subject}: JVM memory pressure (%)", left=memory, width=8),
            delivered,
            cloudwatch.AlarmWidget(
                alarm=by["firehose-freshness"], title=f"{self.subject}: oldest undelivered record (s)", width=8
            ),
        ]
