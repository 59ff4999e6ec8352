"""Typed, validated per-environment configuration, read from cdk.json context.

Only ``app.py`` calls :func:`load_environments`; everything else receives the frozen
objects it returns. Each section is a frozen dataclass: its type hints say what a key
must hold, ``check=`` says what values are allowed, and ``problems()`` checks keys against
each other. A bad value stops synth with one line naming the key and the value.
"""

from __future__ import annotations

import dataclasses
import re
import types
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from aws_cdk import Duration

from genba_constructs._validation import EMAIL_PATTERN
from genba_constructs.alarms import DEFAULT_RUNBOOK_URL, Thresholds
from genba_constructs.cloudwatch_agent_config import timestamp_format_problem
from genba_constructs.host_monitoring.thresholds import HostThresholds
from genba_constructs.log_archive.lifecycle import LIFECYCLE_BOUNDS, QUERY_BOUNDS, ArchiveLifecycle
from genba_constructs.log_search import SearchSizing
from genba_constructs.retention import CLOUDWATCH_LOGS_RETENTION_DAYS
from genba_constructs.sync_verification.timing import ATTRIBUTE_NAME_PATTERN, MAX_PARALLELIZATION_FACTOR, SyncTiming
from genba_constructs.web_tier_monitoring import WebTierThresholds

CONTEXT_KEY = "genba"
ENVIRONMENT_SELECTOR = "env"  # cdk synth -c env=prod (comma-separated); default: every environment

# Limits of the raw context, checked before anything reaches jsii: a context nested thousands
# deep exhausted node's heap before the loader ran. genba's own sections are 4 levels deep.
MAX_CONTEXT_DEPTH = 12
MAX_CONTEXT_VALUES = 20_000
MAX_STRING_LENGTH = 2_048


class ConfigError(Exception):
    """A configuration value genba cannot use; the message names the key and the value."""


Check = Callable[[Any], str | None]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def in_range(minimum: float, maximum: float) -> Check:
    def check(value: Any) -> str | None:
        return None if minimum <= value <= maximum else f"is out of range ({minimum:g} to {maximum:g})"

    return check


def one_of(allowed: Iterable[Any], what: str) -> Check:
    allowed = tuple(allowed)

    def check(value: Any) -> str | None:
        return None if value in allowed else f"is not {what} ({', '.join(str(a) for a in allowed)})"

    return check


def matches(pattern: str, what: str) -> Check:
    # ASCII: AWS names, ids and regions are ASCII; without it \d and \w accept Unicode digits
    # and letters ('\u0661' is a \d) that AWS rejects at deploy.
    compiled = re.compile(pattern, re.ASCII)

    def check(value: Any) -> str | None:
        if isinstance(value, tuple):
            bad = [item for item in value if not compiled.fullmatch(item)]
            return f"contains {_show(bad[0])}, not {what}" if bad else None
        return None if compiled.fullmatch(value) else f"is not {what}"

    return check


def setting(default: Any = MISSING, *, check: Check | None = None) -> Any:
    """A config key: required when it has no default; ``check`` limits its values."""
    metadata = {"check": check} if check else {}
    return field(default=default, metadata=metadata)


RETENTION = one_of(CLOUDWATCH_LOGS_RETENTION_DAYS, "a retention CloudWatch Logs offers")
PERCENT = in_range(0, 100)


def _archive_setting(prop: str) -> Any:
    """``logging.archive_<prop>``: the default and the bounds LogArchive's ArchiveLifecycle has."""
    return setting(getattr(ArchiveLifecycle(), prop), check=in_range(*LIFECYCLE_BOUNDS[prop]))


@dataclass(frozen=True)
class LoggingConfig:
    """Log groups, the archive and CloudTrail of one environment.

    :param application_log_retention_days: days CloudWatch Logs keeps the application log group.
    :param audit_log_retention_days: days CloudWatch Logs keeps the audit log group (login history,
        operations on mail templates).
    :param error_lines_warning_per_5min: ERROR lines in 5 minutes that raise the ``log-errors`` warning.
    :param error_lines_critical_per_5min: ERROR lines in 5 minutes that raise the ``log-errors`` critical alarm.
    :param archive_expire_after_days: days after which archived objects expire (the end of their life).
    :param archive_infrequent_access_after_days: days after which archived objects move to Standard-IA.
    :param archive_glacier_after_days: days after which archived objects move to Glacier Instant Retrieval.
    :param archive_object_lock_days: object lock retention of archived objects, in days.
    :param archive_object_lock_mode: object lock mode. Default (none): compliance in production,
        governance elsewhere.
    :param archive_noncurrent_versions_expire_after_days: days after which noncurrent versions expire.
    :param cloudtrail_enabled: create a multi-region trail into the archive; false where an
        organization trail exists (the ``cloudtrail`` table stays, empty).
    :param athena_bytes_scanned_cutoff_gb: the Athena workgroup's per-query scan limit, enforced.
    :param athena_results_expire_after_days: days after which Athena query results expire.
    """

    application_log_retention_days: int = setting(30, check=RETENTION)
    audit_log_retention_days: int = setting(400, check=RETENTION)
    error_lines_warning_per_5min: int = setting(10, check=in_range(1, 1_000_000))
    error_lines_critical_per_5min: int = setting(100, check=in_range(1, 1_000_000))
    archive_expire_after_days: int = _archive_setting("expire_after_days")
    archive_infrequent_access_after_days: int = _archive_setting("infrequent_access_after_days")
    archive_glacier_after_days: int = _archive_setting("glacier_after_days")
    archive_object_lock_days: int = _archive_setting("object_lock_days")
    archive_object_lock_mode: Literal["governance", "compliance"] | None = None
    archive_noncurrent_versions_expire_after_days: int = _archive_setting("noncurrent_versions_expire_after_days")
    cloudtrail_enabled: bool = True
    athena_bytes_scanned_cutoff_gb: int = setting(10, check=in_range(*QUERY_BOUNDS["athena_bytes_scanned_cutoff_gb"]))
    athena_results_expire_after_days: int = setting(
        30, check=in_range(*QUERY_BOUNDS["athena_results_expire_after_days"])
    )

    @property
    def archive_lifecycle(self) -> ArchiveLifecycle:
        """The archive's life cycle, checked by the same rules LogArchive applies."""
        return ArchiveLifecycle(
            expire_after_days=self.archive_expire_after_days,
            infrequent_access_after_days=self.archive_infrequent_access_after_days,
            glacier_after_days=self.archive_glacier_after_days,
            object_lock_days=self.archive_object_lock_days,
            object_lock_mode=self.archive_object_lock_mode,
            noncurrent_versions_expire_after_days=self.archive_noncurrent_versions_expire_after_days,
        )

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        if self.error_lines_warning_per_5min > self.error_lines_critical_per_5min:
            yield (
                "error_lines_warning_per_5min",
                self.error_lines_warning_per_5min,
                f"is above error_lines_critical_per_5min ({self.error_lines_critical_per_5min})",
            )
        # The config keys are the LogArchive props with "archive_" in front.
        yield from self.archive_lifecycle.problems(prefix="archive_")
        for key in ("application_log_retention_days", "audit_log_retention_days"):
            if getattr(self, key) > self.archive_expire_after_days:
                yield (
                    key,
                    getattr(self, key),
                    f"is longer than archive_expire_after_days ({self.archive_expire_after_days}): "
                    "the archive must keep logs at least as long as CloudWatch does",
                )


TABLE_NAME = matches(r"[A-Za-z0-9_.-]{3,255}", "a DynamoDB table name")


def _amount(value: Any) -> str | None:
    # Only what a Duration can be built from; which amounts are allowed is SyncTiming's rule.
    return "must not be negative" if value < 0 else None


# The sync keys that set SyncTiming's props (its problems are reported under these keys).
_SYNC_TIMING_KEYS = {
    "max_sync_lag": "max_sync_lag_hours",
    "grace_period": "grace_period_seconds",
    "lag_slo": "lag_slo_minutes",
    "max_receive_count": "max_receives",
    "canary_interval": "canary_interval_minutes",
    "canary_silent_for": "canary_silent_minutes",
}


@dataclass(frozen=True)
class SyncConfig:
    """The sync-verification pipeline: the reference user table proven synced to its replica.

    :param source_table_name: the user table (with a stream).
    :param replica_table_name: the replica the user table is synced to.
    :param create_tables: create both tables (dev).
    :param source_stream_label: the existing table's stream label (required unless ``create_tables``).
    :param version_attribute: numeric attribute that grows with every write.
    :param max_sync_lag_hours: after this, a change not synced goes to the DLQ with its reason;
        the ``sync-lag`` critical alarm fires at half of it.
    :param grace_period_seconds: delay of each verification.
    :param lag_slo_minutes: the lag objective (the ``sync-lag`` warning).
    :param parallelization_factor: forwarder batches per shard.
    :param max_receives: receives before SQS redrives (must let the backoff reach the max lag).
    :param canary_interval_minutes: how often the canary item is written.
    :param canary_silent_minutes: silence of the canary that raises ``sync-canary-silent``.
    :param min_source_changes: fewer real changes of the user table (the canary excluded) than
        this in ``min_source_changes_minutes`` raises ``sync-source-quiet`` ("no writes for 5
        minutes is impossible"). Default: no such alarm.
    :param min_source_changes_minutes: the window of ``min_source_changes``.

    The timing keys are checked by genba_constructs' ``SyncTiming`` (the construct's own rules).
    """

    source_table_name: str = setting(check=TABLE_NAME)
    replica_table_name: str = setting(check=TABLE_NAME)
    create_tables: bool = False
    source_stream_label: str | None = setting(
        None, check=matches(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", "a stream label (2026-01-31T00:00:00.000)")
    )
    version_attribute: str = setting("version", check=matches(ATTRIBUTE_NAME_PATTERN, "an attribute name"))
    max_sync_lag_hours: int = setting(24, check=_amount)
    grace_period_seconds: int = setting(60, check=_amount)
    lag_slo_minutes: int = setting(60, check=_amount)
    parallelization_factor: int = setting(1, check=in_range(1, MAX_PARALLELIZATION_FACTOR))
    max_receives: int = 20
    canary_interval_minutes: int = setting(5, check=_amount)
    canary_silent_minutes: int = setting(20, check=_amount)
    min_source_changes: int | None = setting(None, check=in_range(1, 10**9))
    min_source_changes_minutes: int = setting(5, check=in_range(1, 1440))

    @property
    def timing(self) -> SyncTiming:
        """The pipeline's timing as ``SyncVerification`` takes it."""
        return SyncTiming(
            max_sync_lag=Duration.hours(self.max_sync_lag_hours),
            grace_period=Duration.seconds(self.grace_period_seconds),
            lag_slo=Duration.minutes(self.lag_slo_minutes),
            max_receive_count=self.max_receives,
            canary_interval=Duration.minutes(self.canary_interval_minutes),
            canary_silent_for=Duration.minutes(self.canary_silent_minutes),
        )

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        if not self.create_tables and self.source_stream_label is None:
            yield "source_stream_label", None, "is required when create_tables is false (names an existing stream)"
        for prop, value, problem in self.timing.problems(names=_SYNC_TIMING_KEYS):
            key = _SYNC_TIMING_KEYS.get(prop)
            yield (key, getattr(self, key), problem) if key else (prop, value, problem)


@dataclass(frozen=True)
class CostConfig:
    """Volumes the monthly cost estimate (`make cost`) assumes; they change no resource.

    :param log_ingestion_gb_per_month: GB of logs ingested into CloudWatch Logs a month.
    :param log_compression_ratio: archived (gzip) size as a share of the ingested size.
    :param sync_changes_per_month: changes of the synced table a month (priced only with a sync stack).
    :param custom_metric_values_per_dimension: distinct values per dimension of a metric filter
        with dimensions (each value is a custom metric).
    """

    log_ingestion_gb_per_month: float = setting(50.0, check=in_range(0, 1_000_000))
    log_compression_ratio: float = setting(0.15, check=in_range(0.01, 1))
    sync_changes_per_month: int = setting(10_000_000, check=in_range(0, 10**12))
    custom_metric_values_per_dimension: int = setting(5, check=in_range(1, 1000))


@dataclass(frozen=True)
class HostLogFileConfig:
    """One log file on the reference service's hosts, shipped by the CloudWatch agent.

    :param file_path: the file (glob) on the host.
    :param log_group: the log group it is shipped to (one stream per instance).
    :param timestamp_format: the agent's format of each line's timestamp (``%Y-%m-%dT%H:%M:%S``).
        Default: the time the agent reads the line.
    :param watch_each_host: alarm when one host in service writes no line to the log group for
        5 minutes (log-shipping-missing); only for a log every host writes each minute (the
        application log with its health checks), not an event-driven one (audit). Default: false.
    """

    file_path: str = setting(check=matches(r"/\S*", "an absolute path"))
    log_group: Literal["application", "audit"] = setting()
    timestamp_format: str | None = setting(None, check=timestamp_format_problem)
    watch_each_host: bool = False


# HostThresholds' prop paths -> the keys of the hosts section they come from.
_HOST_THRESHOLD_KEYS = {
    "disk_used_percent.warning": "disk_used_warning_percent",
    "disk_used_percent.critical": "disk_used_critical_percent",
    "disk_full_within": "disk_full_forecast_hours",
    "inodes_free.warning": "inodes_free_warning",
    "inodes_free.critical": "inodes_free_critical",
    "memory_used_percent.warning": "memory_used_warning_percent",
    "memory_used_percent.critical": "memory_used_critical_percent",
    "reapply_every": "reapply_every_minutes",
}


# Elastic Beanstalk's default instance role, shared by every environment of the account that
# did not name its own: a policy attached to it reaches every other environment's instances.
SHARED_INSTANCE_ROLES = ("aws-elasticbeanstalk-ec2-role",)


@dataclass(frozen=True)
class HostsConfig:
    """The reference service's hosts: its Auto Scaling group (an Elastic Beanstalk environment's).

    :param auto_scaling_group_name: the group (from the EB console or
        ``aws elasticbeanstalk describe-environment-resources``; never looked up at synth).
    :param instance_role_name: the instances' role; the agent's managed policy is attached to it.
        Must be the environment's own role, never the account-shared ``aws-elasticbeanstalk-ec2-role``.
        Default: not attached (the stack outputs the policy's ARN).
    :param target_tag_key: associations target instances with this tag instead of the group's
        ``aws:autoscaling:groupName`` tag (given with ``target_tag_value``).
    :param target_tag_value: the value of ``target_tag_key``.
    :param log_files: the application log files the agent ships.
    :param disk_used_warning_percent: ``disk-used`` warning threshold.
    :param disk_used_critical_percent: ``disk-used`` critical threshold.
    :param disk_full_forecast_hours: ``disk-full-soon`` fires when a filesystem would be full within these hours.
    :param disk_forecast_paths: mount points with a ``disk-full-soon`` forecast of their own (besides
        the group's fullest filesystem), up to 9.
    :param inodes_free_warning: ``inodes-low`` warning: at most this many free inodes.
    :param inodes_free_critical: ``inodes-low`` critical: at most this many free inodes.
    :param memory_used_warning_percent: ``memory-used`` warning threshold.
    :param memory_used_critical_percent: ``memory-used`` critical threshold.
    :param reapply_every_minutes: the associations run again this often, so drift heals.
    :param agent_log_retention_days: retention of the agent's own log group.
    """

    auto_scaling_group_name: str = setting(check=matches(r"\S(?:.{0,253}\S)?", "an Auto Scaling group name"))
    instance_role_name: str | None = setting(None, check=matches(r"[\w+=,.@-]{1,64}", "an IAM role name"))
    target_tag_key: str | None = setting(None, check=matches(r".{1,128}", "a tag key"))
    target_tag_value: str | None = setting(None, check=matches(r".{1,256}", "a tag value"))
    log_files: tuple[HostLogFileConfig, ...] = ()
    # The thresholds' rules live in HostThresholds (shared with HostMonitoring): see problems().
    disk_used_warning_percent: int = 80
    disk_used_critical_percent: int = 90
    disk_full_forecast_hours: int = 24
    disk_forecast_paths: tuple[str, ...] = setting(("/",), check=matches(r"/|(/[^/\s]+)+", "a mount point"))
    inodes_free_warning: int = 100_000
    inodes_free_critical: int = 20_000
    memory_used_warning_percent: int = 85
    memory_used_critical_percent: int = 95
    reapply_every_minutes: int = 30
    agent_log_retention_days: int = setting(30, check=RETENTION)

    @property
    def thresholds(self) -> HostThresholds:
        """The same object HostMonitoring checks its flat props with."""
        # Duration refuses negative amounts; 0 is out of range just as any negative value is,
        # and problems() shows the configured value, not this one.
        return HostThresholds(
            disk_used_percent=Thresholds(
                warning=self.disk_used_warning_percent, critical=self.disk_used_critical_percent
            ),
            disk_full_within=Duration.hours(max(0, self.disk_full_forecast_hours)),
            inodes_free=Thresholds(warning=self.inodes_free_warning, critical=self.inodes_free_critical),
            memory_used_percent=Thresholds(
                warning=self.memory_used_warning_percent, critical=self.memory_used_critical_percent
            ),
            reapply_every=Duration.minutes(max(0, self.reapply_every_minutes)),
        )

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        for prop, value, problem in self.thresholds.problems():
            for other, key in _HOST_THRESHOLD_KEYS.items():  # a problem may name a second prop
                problem = problem.replace(other, key)
            where = _HOST_THRESHOLD_KEYS.get(prop)
            yield (where, getattr(self, where), problem) if where else (prop, value, problem)
        if (self.target_tag_key is None) != (self.target_tag_value is None):
            yield "target_tag_key", self.target_tag_key, "and target_tag_value must be given together"
        paths = [f.file_path for f in self.log_files]
        for path in paths:
            if paths.count(path) > 1:
                yield "log_files", path, "is listed twice (the agent reads a file once)"
                break
        if self.instance_role_name in SHARED_INSTANCE_ROLES:
            yield (
                "instance_role_name",
                self.instance_role_name,
                "is the account-shared Elastic Beanstalk instance role (every environment's instances use it): "
                "give the environment its own instance profile and role, or leave the key out and attach "
                "the AgentPolicyArn output yourself",
            )


@dataclass(frozen=True)
class SearchConfig:
    """The log search domain of one environment (sizing checked by genba_constructs.SearchSizing).

    :param instance_type: data node instance type, ``<family>.<size>.search``.
    :param data_nodes: data nodes (a multiple of the zone count).
    :param volume_gib: EBS storage per data node, GiB.
    :param availability_zones: zones the data nodes are spread over.
    :param master_instance_type: dedicated master instance type (with ``master_nodes``).
    :param master_nodes: dedicated masters: 0, 3 or 5.
    :param multi_az_with_standby: Multi-AZ with Standby (needs three zones and dedicated masters).
    :param index_retention_days: indices older than this are deleted (the ISM policy).
    :param log_retention_days: retention of the domain's slow, error and audit log groups.
    :param free_storage_alarm_percent: ``opensearch-free-storage`` fires at or below this share of
        one node's storage.
    :param cpu_alarm_percent: ``opensearch-cpu`` threshold (Maximum, 3 x 15 minutes).
    :param jvm_memory_pressure_alarm_percent: ``opensearch-jvm-memory`` threshold (Maximum, 3 x 1 minute).
    :param master_principal_arns: IAM role ARNs allowed to assume the domain's fine-grained-access
        master role (an SSO permission-set role); none: no person can, only the ISM function.
    """

    instance_type: str = "t3.small.search"
    data_nodes: int = setting(1, check=in_range(1, 1000))
    volume_gib: int = setting(10, check=in_range(10, 24576))
    availability_zones: int = setting(1, check=one_of((1, 2, 3), "a zone count OpenSearch offers"))
    master_instance_type: str | None = None
    master_nodes: int = setting(0, check=in_range(0, 5))
    multi_az_with_standby: bool = False
    index_retention_days: int = setting(30, check=in_range(1, 3650))
    log_retention_days: int = setting(30, check=RETENTION)
    free_storage_alarm_percent: float = setting(25.0, check=in_range(1, 90))
    cpu_alarm_percent: float = setting(80.0, check=PERCENT)
    jvm_memory_pressure_alarm_percent: float = setting(95.0, check=PERCENT)
    master_principal_arns: tuple[str, ...] = setting(
        (),
        check=matches(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}", "an IAM role ARN"),
    )

    @property
    def sizing(self) -> SearchSizing:
        return SearchSizing(
            instance_type=self.instance_type,
            data_nodes=self.data_nodes,
            volume_gib=self.volume_gib,
            availability_zones=self.availability_zones,
            master_instance_type=self.master_instance_type,
            master_nodes=self.master_nodes,
            multi_az_with_standby=self.multi_az_with_standby,
        )

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        yield from self.sizing.problems()


@dataclass(frozen=True)
class WebTargetGroupConfig:
    """One target group of the reference service's load balancer; ``name`` names its alarms."""

    name: str = setting(check=matches(r"[a-z0-9]+(?:-[a-z0-9]+)*", "a lower-case slug such as 'app'"))
    target_group: str = setting(
        check=matches(
            r"(arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:)?targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}",
            "a target group 'targetgroup/<name>/<id>' or its ARN",
        )
    )


# WebTierThresholds field -> (warning key, critical key) of WebConfig: one rule, two spellings.
_WEB_THRESHOLD_KEYS = {
    "elb_5xx_percent": ("elb_5xx_warning_percent", "elb_5xx_critical_percent"),
    "target_5xx_percent": ("target_5xx_warning_percent", "target_5xx_critical_percent"),
    "unhealthy_hosts": ("unhealthy_hosts_warning", None),
    "unhealthy_host_percent": ("unhealthy_host_warning_percent", "unhealthy_host_critical_percent"),
    "p99_response_time_seconds": ("p99_response_time_warning_seconds", "p99_response_time_critical_seconds"),
    "rejected_connections": ("rejected_connections_warning", "rejected_connections_critical"),
    "environment_health": ("environment_health_warning", "environment_health_critical"),
}


@dataclass(frozen=True)
class WebConfig:
    """The reference service's web tier: its ALB, target groups and Elastic Beanstalk environment."""

    load_balancer: str = setting(
        check=matches(
            r"(arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/)?app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}",
            "an ALB 'app/<name>/<id>' or its ARN",
        )
    )
    target_groups: tuple[WebTargetGroupConfig, ...] = ()
    environment_name: str | None = setting(
        None, check=matches(r"[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]", "an Elastic Beanstalk environment name")
    )
    period_minutes: int = setting(1, check=in_range(1, 60))
    evaluation_periods: int = setting(5, check=in_range(1, 100))
    datapoints_to_alarm: int = setting(3, check=in_range(1, 100))
    minimum_requests: int = setting(50, check=in_range(1, 10**9))
    elb_5xx_warning_percent: float = setting(1.0, check=PERCENT)
    elb_5xx_critical_percent: float = setting(5.0, check=PERCENT)
    target_5xx_warning_percent: float = setting(1.0, check=PERCENT)
    target_5xx_critical_percent: float = setting(5.0, check=PERCENT)
    unhealthy_hosts_warning: int = setting(1, check=in_range(1, 10_000))
    unhealthy_host_warning_percent: float = setting(25.0, check=PERCENT)
    unhealthy_host_critical_percent: float = setting(50.0, check=PERCENT)
    p99_response_time_warning_seconds: float = setting(1.0, check=in_range(0.001, 4000))
    p99_response_time_critical_seconds: float = setting(3.0, check=in_range(0.001, 4000))
    rejected_connections_warning: int = setting(1, check=in_range(1, 10**9))
    rejected_connections_critical: int = setting(100, check=in_range(1, 10**9))
    environment_health_warning: int = setting(20, check=one_of((1, 5, 10, 15, 20, 25), "an EnvironmentHealth value"))
    environment_health_critical: int = setting(25, check=one_of((1, 5, 10, 15, 20, 25), "an EnvironmentHealth value"))

    @property
    def thresholds(self) -> WebTierThresholds:
        values = {
            field_name: Thresholds(
                warning=getattr(self, warning) if warning else None,
                critical=getattr(self, critical) if critical else None,
            )
            for field_name, (warning, critical) in _WEB_THRESHOLD_KEYS.items()
        }
        return WebTierThresholds(
            period=Duration.minutes(self.period_minutes),
            evaluation_periods=self.evaluation_periods,
            datapoints_to_alarm=self.datapoints_to_alarm,
            minimum_requests=self.minimum_requests,
            **values,
        )

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        names = [group.name for group in self.target_groups]
        for name in names:
            if names.count(name) > 1:
                yield "target_groups", name, "is listed twice (the name must be unique: it names the alarms)"
                break
        for key, value, problem in self.thresholds.problems():
            field_name, _, severity = key.partition(".")
            keys = _WEB_THRESHOLD_KEYS.get(field_name)
            if keys is not None and severity:
                key = keys[0] if severity == "warning" else keys[1] or key
            elif field_name == "period":
                key = "period_minutes"
            yield key, value, problem


@dataclass(frozen=True)
class EnvironmentConfig:
    """One deployment environment (a CDK Stage named after it).

    :param region: AWS region.
    :param owner: value of the ``owner`` tag on every resource.
    :param alarm_emails: addresses subscribed to the environment's alarm topic.
    :param account: 12-digit account id; leave out for an environment-agnostic synth.
    :param production: a production environment: termination protection, no destroy.
    :param allow_destroy: stateful resources are destroyed with their stack (never in production).
    :param runbook_url: the runbook every alarm description links to.
    :param logging: log retention, error-line thresholds, archive life cycle, CloudTrail, Athena.
    :param cost: volumes the cost estimate (``make cost``) assumes; no resource depends on them.
    :param hosts: the reference service's hosts. Default: no hosts stack.
    :param search: the log search domain.
    :param sync: the user table and its replica. Default: no sync stack.
    """

    name: str = field(metadata={"from_key": True})
    region: str = setting(check=matches(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d", "an AWS region name"))
    owner: str = setting(check=matches(r"[\w.@ +=:/-]{1,256}", "a tag value"))
    alarm_emails: tuple[str, ...] = setting(check=matches(EMAIL_PATTERN, "an e-mail address"))
    account: str | None = setting(None, check=matches(r"\d{12}", "a 12-digit AWS account id"))
    production: bool = False
    allow_destroy: bool = False
    runbook_url: str = setting(DEFAULT_RUNBOOK_URL, check=matches(r"https://\S+", "an https:// URL"))
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    hosts: HostsConfig | None = None
    search: SearchConfig = field(default_factory=SearchConfig)
    sync: SyncConfig | None = None
    web: WebConfig | None = None

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        if self.allow_destroy and self.production:
            yield "allow_destroy", True, "is not allowed in a production environment: stateful resources are retained"
        if self.production and not self.alarm_emails:
            # Alarms that reach nobody are the worst silent failure.
            yield "alarm_emails", list(self.alarm_emails), "is empty: a production environment needs an alarm recipient"
        repeated = sorted({address for address in self.alarm_emails if self.alarm_emails.count(address) > 1})
        if repeated:
            yield "alarm_emails", repeated[0], "is listed twice (SNS would reject the second subscription)"

    @property
    def stack_prefix(self) -> str:
        return f"genba-{self.name}"


def _type_name_without_null(hint: Any) -> str:
    if get_origin(hint) in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(hint) if a is not type(None))
    return _type_name(hint)


def _key(key: Any) -> str:
    """A key as it goes into a one-line message: as it is when plain, else quoted (a newline shows as \\n)."""
    return key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key) else repr(key)


def check_raw_context(raw: Any, path: str = CONTEXT_KEY) -> None:
    """Limits of a raw (JSON) context value, checked iteratively before it is parsed or passed to jsii.

    :raises ConfigError: naming the first place nested deeper than ``MAX_CONTEXT_DEPTH``, a
        context of more than ``MAX_CONTEXT_VALUES`` values, a string longer than
        ``MAX_STRING_LENGTH``, a key that is not a string, or a value JSON cannot hold.
    """
    pending: list[tuple[Any, str, int]] = [(raw, path, 1)]
    seen = 0
    while pending:
        value, where, depth = pending.pop()
        seen += 1
        if seen > MAX_CONTEXT_VALUES:
            raise ConfigError(f"{path}: more than {MAX_CONTEXT_VALUES} values; genba's configuration is far smaller")
        if depth > MAX_CONTEXT_DEPTH:
            raise ConfigError(f"{where}: nested deeper than {MAX_CONTEXT_DEPTH} levels")
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ConfigError(f"{where}: key {_show(key)} is not a string")
                pending.append((item, f"{where}.{_key(key)}", depth + 1))
        elif isinstance(value, list | tuple):
            pending.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            if len(value) > MAX_STRING_LENGTH:
                raise ConfigError(f"{where}: a string of {len(value)} characters (at most {MAX_STRING_LENGTH})")
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ConfigError(f"{where}: {_show(value)} is not a number JSON can hold")
        elif value is not None and not isinstance(value, bool | int):
            raise ConfigError(f"{where}: {_show(value)} is not a JSON value")


def _type_name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    origin = get_origin(hint)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(hint))
    if origin is tuple:
        return f"a list of {_type_name(get_args(hint)[0])}"
    if dataclasses.is_dataclass(hint):
        return "an object"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(hint, str(hint))


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = get_origin(hint)
    if value is None:
        # jsii drops null keys before the app sees them, so a null would silently become the
        # default (prod's `production: null` deployed deletable data): never read it as one.
        raise ConfigError(
            f"{path}: null is not a value here; give {_type_name_without_null(hint)} or leave the key out"
        )
    wrong = ConfigError(f"{path}: expected {_type_name(hint)}, got {_show(value)}")
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        given = [option for option in options if option is not type(None)]
        if len(given) == 1:  # an optional setting that is set: report its own problem, not "or null"
            return _convert(given[0], value, path)
        for option in options:
            if option is type(None):
                continue
            if dataclasses.is_dataclass(option) and isinstance(value, Mapping):
                return _convert(option, value, path)  # an optional section: its own errors name the key
            try:
                return _convert(option, value, path)
            except ConfigError:
                continue
        raise wrong
    if origin is Literal:
        if value in get_args(hint) and not isinstance(value, bool):
            return value
        raise wrong
    if origin is tuple:
        if not isinstance(value, list):
            raise wrong
        return tuple(_convert(get_args(hint)[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        return _parse_section(hint, value, path)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise wrong
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise wrong
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            return float(value)
        raise wrong
    if hint is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: expected a non-empty string, got {_show(value)}")
        bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")), None)
        if bad is not None:
            raise ConfigError(f"{path}: {_show(value)} contains the control or invisible character U+{ord(bad):04X}")
        return value
    raise ConfigError(f"{path}: genba cannot read a setting of type {hint}")  # a bug in a section


def _parse_section(cls: Any, raw: Any, path: str, **given: Any) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected an object, got {_show(raw)}")
    hints = get_type_hints(cls)
    settings = [f for f in dataclasses.fields(cls) if not f.metadata.get("from_key")]
    known = {f.name for f in settings}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{path}.{_key(key)}: unknown key (known keys: {', '.join(sorted(known))})")
    values = dict(given)
    for f in settings:
        key_path = f"{path}.{f.name}"
        if f.name not in raw:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(f"{key_path}: missing; it is required")
            continue
        value = _convert(hints[f.name], raw[f.name], key_path)
        check = f.metadata.get("check")
        if check is not None and value is not None:
            problem = check(value)
            if problem:
                raise ConfigError(f"{key_path}: {_show(raw[f.name])} {problem}")
        values[f.name] = value
    section = cls(**values)
    problems = getattr(section, "problems", None)
    for key, value, problem in problems() if problems else ():
        raise ConfigError(f"{path}.{key}: {_show(value)} {problem}")
    return section


def load_environments(context: Mapping[str, Any]) -> list[EnvironmentConfig]:
    """Parse the ``genba`` context into environment configs (those selected with ``-c env=``)."""
    if CONTEXT_KEY not in context:
        raise ConfigError(f"cdk.json context: {CONTEXT_KEY!r} is missing")
    genba = context.get(CONTEXT_KEY)
    check_raw_context(genba)
    check_raw_context(context.get(ENVIRONMENT_SELECTOR), ENVIRONMENT_SELECTOR)
    if not isinstance(genba, Mapping) or set(genba) != {"environments"}:
        raise ConfigError(f"{CONTEXT_KEY}: expected an object with the one key 'environments', got {_show(genba)}")
    raw_envs = genba["environments"]
    if not isinstance(raw_envs, Mapping) or not raw_envs:
        raise ConfigError(f"{CONTEXT_KEY}.environments: expected an object of environments, got {_show(raw_envs)}")
    environments: dict[str, EnvironmentConfig] = {}
    for name, raw in raw_envs.items():
        path = f"{CONTEXT_KEY}.environments.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9]{0,15}", name):
            raise ConfigError(f"{path}: environment name {name!r} must be 1-16 lower-case letters and digits")
        environments[name] = _parse_section(EnvironmentConfig, raw, path, name=name)

    selector = context.get(ENVIRONMENT_SELECTOR)
    if selector is None:
        return list(environments.values())
    if not isinstance(selector, str) or not selector.strip():
        raise ConfigError(f"-c {ENVIRONMENT_SELECTOR}={_show(selector)}: expected environment names, comma-separated")
    selected = []
    for name in (part.strip() for part in selector.split(",")):
        if name not in environments:
            raise ConfigError(
                f"-c {ENVIRONMENT_SELECTOR}: unknown environment {name!r} (configured: {', '.join(environments)})"
            )
        selected.append(environments[name])
    return selected
