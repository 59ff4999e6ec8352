"""The sync timing as one typed value, with every rule it must meet written once.

:class:`SyncTiming` holds what the pipeline's timing is built from (the lag a change may take,
the grace period and backoff, the stream's record age, the verifier's timeout and queue
visibility, the canary) and lists its own problems. ``SyncVerification`` raises the first one
as a GenbaPropsError naming its prop; ``stacks/config.py`` builds the same object from its
``sync`` keys and reports the problem under the key that set it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from aws_cdk import Duration

from genba_constructs.sync_verification._contract import MAX_DELAY_SECONDS, MAX_VISIBILITY_SECONDS

STREAM_RETENTION = Duration.hours(24)
# Lambda's limit for a stream mapping's concurrent batches per shard.
MAX_PARALLELIZATION_FACTOR = 10
# What DynamoDB accepts as an attribute name (the version attribute).
ATTRIBUTE_NAME_PATTERN = r"[A-Za-z0-9_.-]{1,255}"
_OPTIONAL = ("verification_visibility_timeout", "canary_interval")
_DAY = 24 * 3600


# What the verifier leaves out of SQS's 12 h (from the receive) when it asks for a backoff
# (lambda/sync_verifier/visibility.py): Lambda's longest batching window and twice a clock-skew margin.
VISIBILITY_MARGIN_SECONDS = 300 + 2 * 60
# Receives a change may spend on an early look: the verifier comes back just after the
# pending-change alarm's critical threshold (max_sync_lag / 2), whatever the backoff.
THRESHOLD_LOOKS = 1


def grantable_visibility_seconds(verifier_timeout_seconds: float) -> int:
    """The shortest visibility the verifier may ask for at its longest backoff: SQS grants 12 h from
    the receive, and the receive was up to a batching window plus one invocation earlier."""
    return int(MAX_VISIBILITY_SECONDS - VISIBILITY_MARGIN_SECONDS - verifier_timeout_seconds)


def backoff_coverage_seconds(
    grace_seconds: int, receives: int, *, grantable_seconds: int = MAX_VISIBILITY_SECONDS
) -> int:
    """How long the verifier's growing backoff keeps a change on the queue over ``receives`` receives,
    each wait at most ``grantable_seconds`` (what SQS grants; Default: its 12 h maximum)."""
    cap = min(grantable_seconds, MAX_VISIBILITY_SECONDS)
    return sum(min(max(grace_seconds, 1) * 2 ** min(n, 20), cap) for n in range(receives))


def _human(value: Duration) -> str:
    return value.to_human_string()


@dataclass(frozen=True)
class SyncTiming:
    """How long a change may take to sync, and the timing of everything that proves it.

    :param max_sync_lag: a change not confirmed this long after it was written goes to the DLQ
        with its reason (1 hour to 10 days). Default: 24 hours.
    :param grace_period: how long a sync normally needs; each verification message is delayed
        by it and the backoff starts from it (at most 15 minutes). Default: 1 minute.
    :param lag_slo: the sync lag objective, between grace_period and max_sync_lag. Default: 1 hour.
    :param max_record_age: stream records older than this go to the on-failure queue (below the
        24 h retention, leaving time to replay). Default: 6 hours.
    :param verifier_batching_window: how long the verifier's mapping gathers a batch (at most 5
        minutes). Default: 20 seconds.
    :param verifier_timeout: the verifier's timeout (at most 15 minutes). Default: 60 seconds.
    :param verification_visibility_timeout: the verification queue's visibility timeout (at least
        6 x verifier_timeout, at most 12 hours). Default: 6 x verifier_timeout.
    :param max_receive_count: receives before SQS moves a message to the DLQ; the backoff must
        cover max_sync_lag first, so that the verifier records the reason. Default: 20.
    :param canary_interval: how often the canary item is written (None: no canary). Default: 5 minutes.
    :param canary_silent_for: no canary verified for this long raises the canary alarm (at least
        2 x canary_interval + grace_period). Default: 20 minutes.
    """

    max_sync_lag: Duration = Duration.hours(24)
    grace_period: Duration = Duration.minutes(1)
    lag_slo: Duration = Duration.hours(1)
    max_record_age: Duration = Duration.hours(6)
    verifier_batching_window: Duration = Duration.seconds(20)
    verifier_timeout: Duration = Duration.seconds(60)
    verification_visibility_timeout: Duration | None = None
    max_receive_count: int = 20
    canary_interval: Duration | None = Duration.minutes(5)
    canary_silent_for: Duration = Duration.minutes(20)

    def problems(self, names: Mapping[str, str] | None = None) -> Iterator[tuple[str, Any, str]]:
        """Every rule this timing breaks: (prop, value, problem).

        :param names: how the caller spells the props a problem mentions (the config's keys).
            Default: the props' own names.
        """
        known = dict(names or {})

        def name(prop: str) -> str:
            return known.get(prop, prop)

        if problems := list(self._type_problems()):
            yield from problems
            return  # the rules below compute with the values
        lag, grace = self.max_sync_lag.to_seconds(), self.grace_period.to_seconds()
        if not 0 <= grace <= MAX_DELAY_SECONDS:
            yield (
                "grace_period",
                self.grace_period,
                "is out of range (0 to 15 minutes, the longest delay SQS allows)",
            )
        if not 3600 <= lag <= 10 * _DAY:
            yield (
                "max_sync_lag",
                self.max_sync_lag,
                "is out of range (1 hour to 10 days: the queue keeps a change 3 days longer, SQS 14 days at most)",
            )
        elif lag <= grace:
            yield (
                "max_sync_lag",
                self.max_sync_lag,
                f"must be longer than {name('grace_period')} ({_human(self.grace_period)})",
            )
        if not grace < self.lag_slo.to_seconds() < lag:
            yield (
                "lag_slo",
                self.lag_slo,
                f"must be longer than {name('grace_period')} ({_human(self.grace_period)}) and shorter than "
                f"{name('max_sync_lag')} ({_human(self.max_sync_lag)})",
            )
        if not 60 <= self.max_record_age.to_seconds() < STREAM_RETENTION.to_seconds():
            yield (
                "max_record_age",
                self.max_record_age,
                "must be at least 60 seconds and below the stream's 24 h retention",
            )
        if not 0 <= self.verifier_batching_window.to_seconds() <= 300:
            yield "verifier_batching_window", self.verifier_batching_window, "is out of range (0 to 5 minutes)"
        timeout = self.verifier_timeout.to_seconds()
        if not 1 <= timeout <= 900:
            yield "verifier_timeout", self.verifier_timeout, "is out of range (1 second to 15 minutes, Lambda's limit)"
        yield from self._visibility_problems(name)
        receives = self.max_receive_count
        if not 1 <= receives <= 1000:
            yield "max_receive_count", receives, "is out of range (1 to 1000)"
        elif (
            covered := backoff_coverage_seconds(
                int(grace), receives - THRESHOLD_LOOKS, grantable_seconds=grantable_visibility_seconds(timeout)
            )
        ) < lag:
            yield (
                "max_receive_count",
                receives,
                f"is too small: the verifier's backoff covers only {covered / 3600:.1f} h of {name('max_sync_lag')} "
                f"({_human(self.max_sync_lag)}); SQS would move changes to the DLQ without a reason first",
            )
        yield from self._canary_problems(name)

    def _type_problems(self) -> Iterator[tuple[str, Any, str]]:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "max_receive_count":
                if isinstance(value, bool) or not isinstance(value, int):
                    yield field.name, value, "must be a whole number"
            elif value is None and field.name in _OPTIONAL:
                continue
            elif not isinstance(value, Duration):
                yield field.name, value, "must be an aws_cdk.Duration"
            elif value.is_unresolved():
                yield field.name, value, "must be known at synth (not a token)"
            elif value.to_milliseconds() % 1000:
                # Every one ends up in a whole-seconds setting (SQS, Lambda, alarm periods).
                yield field.name, value.to_human_string(), "must be whole seconds"

    def _visibility_problems(self, name: Any) -> Iterator[tuple[str, Any, str]]:
        visibility = self.verification_visibility_timeout
        if visibility is None:
            return
        if visibility.to_seconds() < 6 * self.verifier_timeout.to_seconds():
            yield (
                "verification_visibility_timeout",
                visibility,
                f"must be at least 6 x {name('verifier_timeout')} ({_human(self.verifier_timeout)}): "
                "Lambda's guidance for SQS event sources",
            )
        if visibility.to_seconds() > MAX_VISIBILITY_SECONDS:
            yield "verification_visibility_timeout", visibility, "must be at most 12 hours"

    def _canary_problems(self, name: Any) -> Iterator[tuple[str, Any, str]]:
        if self.canary_interval is None:
            return
        interval = self.canary_interval.to_seconds()
        if not 60 <= interval <= 3600 or interval % 60:
            yield "canary_interval", self.canary_interval, "must be 1 to 60 whole minutes"
        silent = self.canary_silent_for.to_seconds()
        needed = 2 * interval + self.grace_period.to_seconds()
        if silent % 60 or silent > _DAY or silent < needed:
            yield (
                "canary_silent_for",
                self.canary_silent_for,
                f"must be whole minutes, at most 1 day, and at least 2 x {name('canary_interval')} + "
                f"{name('grace_period')} ({needed / 60:g} minutes)",
            )

    @property
    def grace_seconds(self) -> int:
        """The grace period in whole seconds (the handlers' setting)."""
        return int(self.grace_period.to_seconds())

    @property
    def visibility_timeout(self) -> Duration:
        """The verification queue's visibility timeout: as given, or 6 x the verifier's timeout."""
        return self.verification_visibility_timeout or Duration.seconds(6 * int(self.verifier_timeout.to_seconds()))

    @property
    def queue_retention(self) -> Duration:
        """How long the verification queue keeps a change: 3 days past max_sync_lag, 14 days at most."""
        return Duration.seconds(min(int(self.max_sync_lag.to_seconds()) + 3 * _DAY, 14 * _DAY))

    @property
    def replay_window_seconds(self) -> float:
        """How long a failed stream range is replayable when it arrives: retention minus max_record_age."""
        return STREAM_RETENTION.to_seconds() - self.max_record_age.to_seconds()
