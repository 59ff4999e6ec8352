"""The limits host monitoring alarms on, and the rules they obey, written once.

:class:`HostMonitoring` builds a :class:`HostThresholds` from its flat keyword props and
raises the first problem; the config loader (``stacks/config.py``) builds the same object
from cdk.json and reports each problem under its own key path. No rule is written twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration

from genba_constructs.alarms import Thresholds

# SSM State Manager accepts association schedules from 30 minutes to 30 days.
REAPPLY_MINUTES = (30, 30 * 1440)
# The forecast looks at most 30 days ahead: further out, one period's growth rate says nothing.
FORECAST_HOURS = (1, 24 * 30)


@dataclass(frozen=True)
class HostThresholds:
    """When the host alarms fire, and how often the agent's configuration is applied again.

    :param disk_used_percent: disk used alarm thresholds, on the fullest filesystem of any
        instance. Default: warning 80, critical 90.
    :param disk_full_within: the "disk full soon" alarm fires when the fullest filesystem,
        growing as fast as over the last period, would be full within this time (1 to 720
        whole hours). Default: 24 hours.
    :param inodes_free: free-inode alarm thresholds (fewest free inodes of any filesystem of
        any instance; warning above critical). Default: warning 100,000, critical 20,000.
    :param memory_used_percent: memory used alarm thresholds (busiest instance). Default:
        warning 85, critical 95.
    :param reapply_every: how often the associations run again (drift heals, missed
        instances are caught); 30 minutes to 30 days, whole minutes. Default: 30 minutes.
    """

    disk_used_percent: Thresholds = Thresholds(warning=80, critical=90)
    disk_full_within: Duration = Duration.hours(24)
    inodes_free: Thresholds = Thresholds(warning=100_000, critical=20_000)
    memory_used_percent: Thresholds = Thresholds(warning=85, critical=95)
    reapply_every: Duration = Duration.minutes(30)

    def problems(self) -> Iterator[tuple[str, Any, str]]:
        """Every reason these limits cannot work: (prop, value, problem).

        A problem that involves a second prop names it by its prop path
        (``disk_used_percent.critical``), which the config loader rewrites to its own key.
        """
        yield from _percent_problems("disk_used_percent", self.disk_used_percent)
        yield from _whole_problems("disk_full_within", self.disk_full_within, "hours", FORECAST_HOURS)
        yield from _inode_problems(self.inodes_free)
        yield from _percent_problems("memory_used_percent", self.memory_used_percent)
        yield from _whole_problems("reapply_every", self.reapply_every, "minutes", REAPPLY_MINUTES)

    @property
    def disk_full_within_hours(self) -> int:
        """``disk_full_within`` in whole hours (valid only when ``problems()`` yields nothing)."""
        return int(self.disk_full_within.to_hours())

    @property
    def reapply_every_minutes(self) -> int:
        """``reapply_every`` in whole minutes (valid only when ``problems()`` yields nothing)."""
        return int(self.reapply_every.to_minutes())


def _thresholds_problems(prop: str, thresholds: Any) -> Iterator[tuple[str, Any, str]]:
    if not isinstance(thresholds, Thresholds):
        yield prop, thresholds, "must be genba_constructs.Thresholds"
    elif not thresholds.items():
        yield prop, thresholds, "gives neither warning nor critical"


def _percent_problems(prop: str, thresholds: Any) -> Iterator[tuple[str, Any, str]]:
    found = list(_thresholds_problems(prop, thresholds))
    if found:
        yield from found
        return
    for severity, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 100:
            yield f"{prop}.{severity.value}", value, "must be a percentage above 0 and below 100"
    warning, critical = thresholds.warning, thresholds.critical
    if warning is not None and critical is not None and warning > critical:
        yield f"{prop}.warning", warning, f"is above {prop}.critical ({critical})"


def _inode_problems(thresholds: Any) -> Iterator[tuple[str, Any, str]]:
    prop = "inodes_free"
    found = list(_thresholds_problems(prop, thresholds))
    if found:
        yield from found
        return
    for severity, inodes in thresholds.items():
        if isinstance(inodes, bool) or not isinstance(inodes, int) or inodes < 1:
            yield f"{prop}.{severity.value}", inodes, "must be a whole number of inodes above 0"
    warning, critical = thresholds.warning, thresholds.critical
    if warning is not None and critical is not None and warning < critical:
        yield f"{prop}.warning", warning, f"is below {prop}.critical ({critical}): fewer free inodes is worse"


def _whole_problems(prop: str, value: Any, unit: str, bounds: tuple[int, int]) -> Iterator[tuple[str, Any, str]]:
    if not isinstance(value, Duration) or value.is_unresolved():
        yield prop, value, "must be a concrete aws_cdk.Duration"
        return
    size = {"minutes": 60, "hours": 3600}[unit]
    seconds = value.to_seconds()
    minimum, maximum = bounds
    if seconds % size or not minimum <= seconds // size <= maximum:
        yield prop, value.to_human_string(), f"must be {minimum} to {maximum} whole {unit}"
