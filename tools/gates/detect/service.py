"""What the scenario model knows about the reference service, what can break in it, and its traffic.

The parts of the model (:mod:`.model`, :mod:`.model_sync`) share :class:`ModelBase`: the
service, the faults injected at ``T0``, the alarms whose metrics the model feeds, and the
metric store it writes samples to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tools.gates.detect.evaluator import AlarmDefinition, MetricKey, MetricStore

MINUTE = 60
HOUR = 3600
DAY = 86400
T0 = 2 * HOUR  # every failure starts after two healthy hours
# Each host's filesystems and how full they are (% + host index): "/" the fullest, "/var/log" a second one.
FILESYSTEMS = {"/": 40.0, "/var/log": 20.0}


@dataclass(frozen=True)
class Service:
    """The reference service of one environment: what the model needs to know about it."""

    environment: str
    hosts: int
    canary_interval_minutes: int = 5
    lag_slo_minutes: int = 30
    max_sync_lag_hours: int = 24
    search_nodes: int = 1
    free_storage_mib: float = 10_000.0


@dataclass
class Faults:
    """What is broken from ``T0`` on (all false: the healthy service)."""

    disk_fill_host: int | None = None
    disk_fill_percent_per_hour: float = 0.0
    disk_fill_path: str = "/"
    dead_agents: frozenset[int] = frozenset()
    stopped_shipping: frozenset[int] = frozenset()
    subscription_broken: bool = False
    archive_delivery_failing: bool = False
    search_red: bool = False
    search_writes_blocked: bool = False
    search_storage_low: bool = False
    stream_stuck: bool = False
    table_traffic: bool = True
    sync_worker_dead: bool = False
    change_never_synced: bool = False
    replay_cannot_fix: bool = False
    masked_data: bool = False
    alarm_topic_failing: bool = False
    web_5xx_percent: float = 0.0
    web_targets_unhealthy: bool = False
    web_latency_seconds: float = 0.0


def load(t: float) -> float:
    """Traffic from 0.1 (quiet nights) to 1.0 (the daily peak at 13:00)."""
    hour = (t % DAY) / HOUR
    return 0.1 + 0.9 * max(0.0, math.cos((hour - 13) / 24 * 2 * math.pi)) ** 2


@dataclass
class ModelBase:
    service: Service
    faults: Faults
    alarms: list[AlarmDefinition]
    store: MetricStore = field(default_factory=MetricStore)
    _keys: dict[tuple[str, str | None], list[MetricKey]] = field(default_factory=dict, init=False, repr=False)

    def keys(self, metric: str, namespace: str | None = None) -> list[MetricKey]:
        """Every metric named ``metric`` (in ``namespace``) that an alarm reads."""
        if (metric, namespace) not in self._keys:
            found = {k for a in self.alarms for k in a.metrics if k.name == metric}
            chosen = (k for k in found if namespace is None or k.namespace == namespace)
            self._keys[(metric, namespace)] = sorted(chosen, key=str)
        return self._keys[(metric, namespace)]

    def readers(self, key: MetricKey) -> str:
        """The names of the alarms that read ``key``: what the metric is, by genba's alarm names."""
        return " ".join(a.name for a in self.alarms if key in a.metrics)

    def active(self, t: float) -> bool:
        return t >= T0

    def put_each(self, metric: str, namespace: str | None, t: float, value: float, delay: float) -> None:
        """One sample of ``value`` at ``t`` for every alarm-read metric named ``metric``."""
        for key in self.keys(metric, namespace):
            self.store.put(key, t, value, delay=delay)
