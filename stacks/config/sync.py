"""The ``sync`` section: the reference user table proven synced to its replica."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

from aws_cdk import Duration

from genba_constructs.sync_verification.timing import ATTRIBUTE_NAME_PATTERN, MAX_PARALLELIZATION_FACTOR, SyncTiming
from stacks.config.settings import in_range, matches, setting

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


class SyncTimingProps(TypedDict):
    """The SyncTiming fields the sync keys set, as SyncVerification's keyword props (``**sync.timing_props``)."""

    max_sync_lag: Duration
    grace_period: Duration
    lag_slo: Duration
    max_receive_count: int
    canary_interval: Duration
    canary_silent_for: Duration


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
    def timing_props(self) -> SyncTimingProps:
        """The timing keys as SyncVerification's props (the one place they are mapped)."""
        return SyncTimingProps(
            max_sync_lag=Duration.hours(self.max_sync_lag_hours),
            grace_period=Duration.seconds(self.grace_period_seconds),
            lag_slo=Duration.minutes(self.lag_slo_minutes),
            max_receive_count=self.max_receives,
            canary_interval=Duration.minutes(self.canary_interval_minutes),
            canary_silent_for=Duration.minutes(self.canary_silent_minutes),
        )

    @property
    def timing(self) -> SyncTiming:
        """The pipeline's timing, checked by the same rules SyncVerification applies."""
        return SyncTiming(**self.timing_props)

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        if not self.create_tables and self.source_stream_label is None:
            yield "source_stream_label", None, "is required when create_tables is false (names an existing stream)"
        for prop, value, problem in self.timing.problems(names=_SYNC_TIMING_KEYS):
            key = _SYNC_TIMING_KEYS.get(prop)
            yield (key, getattr(self, key), problem) if key else (prop, value, problem)
