"""One environment: its own keys, and the sections (each in its own module) it holds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import RemovalPolicy

from genba_constructs._validation import EMAIL_PATTERN
from genba_constructs.alarms import DEFAULT_RUNBOOK_URL
from stacks.config.hosts import HostsConfig
from stacks.config.logs import LoggingConfig
from stacks.config.search import SearchConfig
from stacks.config.settings import in_range, matches, setting
from stacks.config.sync import SyncConfig
from stacks.config.web import WebConfig


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

    @property
    def removal_policy(self) -> RemovalPolicy:
        """What deleting a stack does to its stateful resources: kept, unless ``allow_destroy``."""
        return RemovalPolicy.DESTROY if self.allow_destroy else RemovalPolicy.RETAIN
