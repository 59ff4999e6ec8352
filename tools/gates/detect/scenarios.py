"""The failure modes of the baseline (issue 12's list), each with its detection goal, and a healthy week.

A scenario is a :class:`~tools.gates.detect.service.Faults` injected at ``T0`` into the model
(:mod:`.model`, :mod:`.model_sync`), how soon it must be detected, and the runbook anchors of the
alarms that count as detecting it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tools.gates.detect.evaluator import AlarmDefinition
from tools.gates.detect.model import Model
from tools.gates.detect.service import DAY, MINUTE, T0, Faults, Service

__all__ = ["T0", "Faults", "Model", "Scenario", "Service", "environment_alarms", "healthy_week", "scenarios"]

_DISK = ("disk-used", "disk-full-soon")
_ONE_HOST = ("agent-silent", "agent-missing", "log-silence")
_STREAM = ("stream-iterator-age", "sync-canary-silent")
_UNHEALTHY = ("unhealthy-hosts", "unhealthy-host-share", "elb-5xx-rate", "environment-health")


@dataclass(frozen=True)
class Scenario:
    """One failure mode: what breaks at T0, how soon it must be detected, and by which kind of alarm.

    :param expects: runbook anchors of the alarms that count as detecting it. Default: any alarm.
    """

    name: str
    goal_seconds: int | None  # detection within this many seconds of T0 (None: the healthy week)
    faults: Faults
    horizon: int
    expects: tuple[str, ...] = ()


def _mode(name: str, goal_minutes: float, runs_for_minutes: int, expects: tuple[str, ...], **faults: Any) -> Scenario:
    return Scenario(name, round(goal_minutes * MINUTE), Faults(**faults), T0 + runs_for_minutes * MINUTE, expects)


def scenarios(service: Service) -> list[Scenario]:
    """Every failure mode of the baseline, each with its detection goal (minutes) and how long it runs."""
    every, one = frozenset(range(service.hosts)), frozenset({0})
    max_lag, lag_slo = service.max_sync_lag_hours * 60, service.lag_slo_minutes
    second_disk = {"disk_fill_host": 0, "disk_fill_percent_per_hour": 40.0, "disk_fill_path": "/var/log"}
    return [
        _mode(
            "disk filling fast on one host (full in 2 h)",
            60,
            180,
            _DISK,
            disk_fill_host=0,
            disk_fill_percent_per_hour=30.0,
        ),
        _mode(
            "disk filling slowly on one host (full in 30 h)",
            26 * 60,
            31 * 60,
            _DISK,
            disk_fill_host=0,
            disk_fill_percent_per_hour=2.0,
        ),
        _mode(
            "disk filling on one host's second filesystem (not the fullest, full in 2 h)", 60, 180, _DISK, **second_disk
        ),
        _mode("agent dead on one host", 10, 120, _ONE_HOST, dead_agents=one),
        _mode("agent dead on every host", 10, 120, _ONE_HOST, dead_agents=every),
        _mode("log shipping stopped on one host", 10, 120, ("log-shipping-missing",), stopped_shipping=one),
        _mode("log shipping stopped on every host", 10, 120, ("log-silence",), stopped_shipping=every),
        _mode("log subscription to Firehose broken", 15, 120, ("subscription-delivery",), subscription_broken=True),
        _mode(
            "archive delivery failing",
            20,
            120,
            ("firehose-delivery", "firehose-freshness"),
            archive_delivery_failing=True,
        ),
        _mode("search cluster red", 5, 60, ("opensearch-cluster-red",), search_red=True),
        _mode("search writes blocked", 10, 60, ("opensearch-writes-blocked",), search_writes_blocked=True),
        _mode("search storage low", 5, 60, ("opensearch-free-storage",), search_storage_low=True),
        _mode("stream shard stuck, table busy", 15, 120, _STREAM, stream_stuck=True),
        _mode(
            "stream shard stuck, only the canary writes",
            15,
            120,
            ("sync-canary-silent",),
            stream_stuck=True,
            table_traffic=False,
        ),
        _mode(
            "sync worker dead, only the canary writes",
            20,
            180,
            ("sync-canary-silent", "sync-lag"),
            sync_worker_dead=True,
            table_traffic=False,
        ),
        _mode(
            "a change never synced (warning by the lag SLO + 5 min)",
            lag_slo + 5,
            max_lag + 60,
            ("sync-lag",),
            change_never_synced=True,
        ),
        _mode(
            "a change never synced (DLQ at max_sync_lag)",
            max_lag + 10,
            max_lag + 60,
            ("dlq-not-empty",),
            change_never_synced=True,
        ),
        _mode(
            "failed stream batch that replay cannot fix",
            30,
            120,
            ("sync-replay-window", "dlq-not-empty"),
            replay_cannot_fix=True,
        ),
        _mode("masked data written to a log group", 10, 60, ("log-data-protection",), masked_data=True),
        # The web tier (issue 15): what users see first.
        _mode("5xx storm from the targets (10 % of requests)", 5, 60, ("target-5xx-rate",), web_5xx_percent=10.0),
        _mode("every target unhealthy", 5, 60, _UNHEALTHY, web_targets_unhealthy=True),
        _mode("latency regression (p99 4 s)", 10, 60, ("target-response-time-p99",), web_latency_seconds=4.0),
        _mode("alarm notifications failing", 15, 60, ("dlq-not-empty",), alarm_topic_failing=True),
    ]


def healthy_week(service: Service) -> Scenario:
    return Scenario("healthy week (daily peaks, quiet nights)", None, Faults(), 7 * DAY)


def environment_alarms(alarms: Iterable[AlarmDefinition], environment: str) -> list[AlarmDefinition]:
    return [a for a in alarms if a.stack.startswith(f"genba-{environment}-")]
