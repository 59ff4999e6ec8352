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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from aws_cdk import Duration

from genba_constructs._validation import EMAIL_PATTERN
from genba_constructs.alarms import DEFAULT_RUNBOOK_URL, Thresholds
from genba_constructs.cloudwatch_agent_config import timestamp_format_problem
from genba_constructs.host_monitoring.thresholds import HostThresholds
from genba_constructs.log_search import SearchSizing
from genba_constructs.retention import CLOUDWATCH_LOGS_RETENTION_DAYS
from genba_constructs.sync_verification import backoff_coverage_seconds

CONTEXT_KEY = "genba"
ENVIRONMENT_SELECTOR = "env"  # cdk synth -c env=prod (comma-separated); default: every environment


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
    compiled = re.compile(pattern)

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


@dataclass(frozen=True)
class LoggingConfig:
    """Log groups, the archive and CloudTrail of one environment."""

    application_log_retention_days: int = setting(30, check=RETENTION)
    audit_log_retention_days: int = setting(400, check=RETENTION)
    error_lines_warning_per_5min: int = setting(10, check=in_range(1, 1_000_000))
    error_lines_critical_per_5min: int = setting(100, check=in_range(1, 1_000_000))
    archive_expire_after_days: int = setting(2557, check=in_range(1, 36500))
    archive_infrequent_access_after_days: int = setting(30, check=in_range(30, 36500))
    archive_glacier_after_days: int = setting(90, check=in_range(31, 36500))
    archive_object_lock_days: int = setting(30, check=in_range(1, 36500))
    archive_object_lock_mode: Literal["governance", "compliance"] | None = None
    archive_noncurrent_versions_expire_after_days: int = setting(30, check=in_range(1, 36500))
    cloudtrail_enabled: bool = True
    athena_bytes_scanned_cutoff_gb: int = setting(10, check=in_range(1, 1024))
    athena_results_expire_after_days: int = setting(30, check=in_range(1, 3650))

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        if self.error_lines_warning_per_5min > self.error_lines_critical_per_5min:
            yield (
                "error_lines_warning_per_5min",
                self.error_lines_warning_per_5min,
                f"is above error_lines_critical_per_5min ({self.error_lines_critical_per_5min})",
            )
        if self.archive_glacier_after_days <= self.archive_infrequent_access_after_days:
            yield (
                "archive_glacier_after_days",
                self.archive_glacier_after_days,
                f"must be after archive_infrequent_access_after_days ({self.archive_infrequent_access_after_days})",
            )
        if self.archive_expire_after_days <= self.archive_glacier_after_days:
            yield (
                "archive_expire_after_days",
                self.archive_expire_after_days,
                f"must be after archive_glacier_after_days ({self.archive_glacier_after_days})",
            )
        if self.archive_object_lock_days > self.archive_expire_after_days:
            yield (
                "archive_object_lock_days",
                self.archive_object_lock_days,
                f"is longer than archive_expire_after_days ({self.archive_expire_after_days})",
            )
        for key in ("application_log_retention_days", "audit_log_retention_days"):
            if getattr(self, key) > self.archive_expire_after_days:
                yield (
                    key,
                    getattr(self, key),
                    f"is longer than archive_expire_after_days ({self.archive_expire_after_days}): "
                    "the archive must keep logs at least as long as CloudWatch does",
                )


TABLE_NAME = matches(r"[A-Za-z0-9_.-]{3,255}", "a DynamoDB table name")


@dataclass(frozen=True)
class SyncConfig:
    """The sync-verification pipeline: the reference user table proven synced to its replica."""

    source_table_name: str = setting(check=TABLE_NAME)
    replica_table_name: str = setting(check=TABLE_NAME)
    create_tables: bool = False
    source_stream_label: str | None = setting(
        None, check=matches(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", "a stream label (2026-01-31T00:00:00.000)")
    )
    version_attribute: str = setting("version", check=matches(r"[A-Za-z0-9_.-]{1,255}", "an attribute name"))
    max_sync_lag_hours: int = setting(24, check=in_range(1, 240))
    grace_period_seconds: int = setting(60, check=in_range(0, 900))
    lag_slo_minutes: int = setting(60, check=in_range(1, 20160))
    parallelization_factor: int = setting(1, check=in_range(1, 10))
    max_receives: int = setting(20, check=in_range(1, 1000))
    canary_interval_minutes: int = setting(5, check=in_range(1, 60))
    canary_silent_minutes: int = setting(20, check=in_range(2, 1440))

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        if not self.create_tables and self.source_stream_label is None:
            yield "source_stream_label", None, "is required when create_tables is false (names an existing stream)"
        if self.max_sync_lag_hours * 3600 <= self.grace_period_seconds:
            yield "max_sync_lag_hours", self.max_sync_lag_hours, "must be longer than grace_period_seconds"
        if not self.grace_period_seconds < self.lag_slo_minutes * 60 < self.max_sync_lag_hours * 3600:
            yield (
                "lag_slo_minutes",
                self.lag_slo_minutes,
                "must be longer than grace_period_seconds and shorter than max_sync_lag_hours",
            )
        needed = 2 * self.canary_interval_minutes * 60 + self.grace_period_seconds
        if self.canary_silent_minutes * 60 < needed:
            yield (
                "canary_silent_minutes",
                self.canary_silent_minutes,
                f"must be at least 2 x canary_interval_minutes + grace_period_seconds ({needed / 60:g} minutes)",
            )
        covered = backoff_coverage_seconds(self.grace_period_seconds, self.max_receives)
        if covered < self.max_sync_lag_hours * 3600:
            yield (
                "max_receives",
                self.max_receives,
                f"is too small: the verifier's backoff covers only {covered / 3600:.1f} h of max_sync_lag_hours",
            )


@dataclass(frozen=True)
class CostConfig:
    """Volumes the monthly cost estimate (`make cost`) assumes; they change no resource."""

    log_ingestion_gb_per_month: float = setting(50.0, check=in_range(0, 1_000_000))
    log_compression_ratio: float = setting(0.15, check=in_range(0.01, 1))
    sync_changes_per_month: int = setting(10_000_000, check=in_range(0, 10**12))
    custom_metric_values_per_dimension: int = setting(5, check=in_range(1, 1000))


@dataclass(frozen=True)
class HostLogFileConfig:
    """One log file on the reference service's hosts, shipped by the CloudWatch agent."""

    file_path: str = setting(check=matches(r"/\S*", "an absolute path"))
    log_group: Literal["application", "audit"] = setting()
    timestamp_format: str | None = setting(None, check=timestamp_format_problem)


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


@dataclass(frozen=True)
class HostsConfig:
    """The reference service's hosts: its Auto Scaling group (an Elastic Beanstalk environment's)."""

    auto_scaling_group_name: str = setting(check=matches(r"\S(?:.{0,253}\S)?", "an Auto Scaling group name"))
    instance_role_name: str | None = setting(None, check=matches(r"[\w+=,.@-]{1,64}", "an IAM role name"))
    target_tag_key: str | None = setting(None, check=matches(r".{1,128}", "a tag key"))
    target_tag_value: str | None = setting(None, check=matches(r".{1,256}", "a tag value"))
    log_files: tuple[HostLogFileConfig, ...] = ()
    # The thresholds' rules live in HostThresholds (shared with HostMonitoring): see problems().
    disk_used_warning_percent: int = 80
    disk_used_critical_percent: int = 90
    disk_full_forecast_hours: int = 24
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


@dataclass(frozen=True)
class SearchConfig:
    """The log search domain of one environment (sizing checked by genba_constructs.SearchSizing)."""

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
class EnvironmentConfig:
    """One deployment environment (a CDK Stage named after it)."""

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

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        if self.allow_destroy and self.production:
            yield "allow_destroy", True, "is not allowed in a production environment: stateful resources are retained"

    @property
    def stack_prefix(self) -> str:
        return f"genba-{self.name}"


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
    wrong = ConfigError(f"{path}: expected {_type_name(hint)}, got {_show(value)}")
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None:
            if type(None) in options:
                return None
            raise wrong
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
        if isinstance(value, str) and value.strip():
            return value
        raise ConfigError(f"{path}: expected a non-empty string, got {_show(value)}")
    raise ConfigError(f"{path}: genba cannot read a setting of type {hint}")  # a bug in a section


def _parse_section(cls: Any, raw: Any, path: str, **given: Any) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected an object, got {_show(raw)}")
    hints = get_type_hints(cls)
    settings = [f for f in dataclasses.fields(cls) if not f.metadata.get("from_key")]
    known = {f.name for f in settings}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{path}.{key}: unknown key (known keys: {', '.join(sorted(known))})")
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
    genba = context.get(CONTEXT_KEY)
    if genba is None:
        raise ConfigError(f"cdk.json context: {CONTEXT_KEY!r} is missing")
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
