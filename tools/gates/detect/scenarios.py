"""A model of the reference service that emits the samples AWS would publish, healthy or with one failure.

Each metric an alarm of the assembly reads is fed by the part of the model that AWS (or genba's
own code) publishes it from, with the documented behaviour that matters for detection:

* the CloudWatch agent on each host sends one sample a minute per metric under the
  aggregated dimensions genba's alarms use (an aggregate metric's SampleCount is the number of
  agents reporting; its Maximum the fullest disk); a dead agent sends nothing;
* CloudWatch Logs counts IncomingLogEvents per log group per minute and publishes nothing for a
  minute without events; metric filters publish their counts the same way;
* Firehose publishes DeliveryToS3/OpenSearch metrics only while records arrive (a broken
  subscription leaves them absent); SQS publishes queue metrics every 5 minutes for an active
  queue (idle queues stop after about six hours; genba's queues never idle that long here);
* a message received three or more times drops out of ApproximateAgeOfOldestMessage (SQS
  developer guide); Lambda publishes IteratorAge only while it reads records;
* OpenSearch publishes its cluster metrics every minute.

Delays: 60 s for agent, Logs and Lambda metrics, 120 s for Firehose and OpenSearch, 300 s for
SQS (SQS's metrics are collected every 5 minutes). Every scenario runs the healthy service for
two hours, injects its failure at ``t0``, and runs until its horizon.

The sync model follows today's verifier: a change counts as verified when the target holds it
*or the source moved on* (issue 11 removes the second clause) - so with the sync worker dead
and only the canary writing, the canary still counts as verified.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
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
class Model:
    service: Service
    faults: Faults
    alarms: list[AlarmDefinition]
    store: MetricStore = field(default_factory=MetricStore)

    def keys(self, metric: str, namespace: str | None = None) -> list[MetricKey]:
        found = {k for a in self.alarms for k in a.metrics if k.name == metric}
        return sorted((k for k in found if namespace is None or k.namespace == namespace), key=str)

    def active(self, t: float) -> bool:
        return t >= T0

    def run(self, end: int) -> MetricStore:
        for t in range(0, end, MINUTE):
            self._hosts(t)
            self._logs(t)
            self._search(t)
            if t % (5 * MINUTE) == 0:
                self._queues(t)
            self._sync(t)
            self._web(t)
        return self.store

    # ---- web tier: the Application Load Balancer and Elastic Beanstalk enhanced health
    def _web(self, t: int) -> None:
        """ALB metrics as "CloudWatch metrics for your Application Load Balancer" describes them:
        counts only for minutes that have them (no zero data points), host counts every minute."""
        active = self.active(t)
        requests = max(10, round(1000 * load(t)))
        unhealthy = self.faults.web_targets_unhealthy and active
        for key in self.keys("RequestCount", "AWS/ApplicationELB"):
            self.store.put(key, t + 30, float(requests), delay=MINUTE)
        if unhealthy:
            for key in self.keys("HTTPCode_ELB_5XX_Count"):
                self.store.put(key, t + 30, float(requests), delay=MINUTE)  # 503: no healthy target
        if active and self.faults.web_5xx_percent:
            for key in self.keys("HTTPCode_Target_5XX_Count"):
                self.store.put(key, t + 30, requests * self.faults.web_5xx_percent / 100, delay=MINUTE)
        slow = self.faults.web_latency_seconds if active else 0.0
        for key in self.keys("TargetResponseTime"):
            for i in range(20):
                self.store.put(key, t + i, (slow or 0.05 + 0.01 * i), delay=MINUTE)
        for key in self.keys("HealthyHostCount"):
            self.store.put(key, t + 30, 0.0 if unhealthy else float(self.service.hosts), delay=MINUTE)
        for key in self.keys("UnHealthyHostCount"):
            self.store.put(key, t + 30, float(self.service.hosts) if unhealthy else 0.0, delay=MINUTE)
        for key in self.keys("EnvironmentHealth"):
            # Enhanced health: 0 Ok ... 20 Degraded, 25 Severe.
            self.store.put(key, t + 30, 25.0 if unhealthy else 0.0, delay=MINUTE)

    # ---- hosts: the CloudWatch agent, and the Auto Scaling group's own metrics
    def _disk(self, host: int, t: float, path: str = "/") -> float:
        base = FILESYSTEMS[path] + host
        if self.faults.disk_fill_host == host and self.faults.disk_fill_path == path and self.active(t):
            return min(100.0, base + self.faults.disk_fill_percent_per_hour * (t - T0) / HOUR)
        return base

    def _agent_alive(self, host: int, t: float) -> bool:
        return not (host in self.faults.dead_agents and self.active(t))

    def _hosts(self, t: int) -> None:
        """Each agent sends every filesystem's sample to a rollup without ``path`` (the group's
        fullest), and each path's to the ``{AutoScalingGroupName, path}`` rollup."""
        values: dict[str, Callable[[int], float]] = {
            "disk_inodes_free": lambda h: 1_000_000.0,
            "mem_used_percent": lambda h: 45.0 + 25.0 * load(t),
        }
        alive = [h for h in range(self.service.hosts) if self._agent_alive(h, t)]
        for metric, value in values.items():
            for key in self.keys(metric, "CWAgent"):
                for host in alive:
                    self.store.put(key, t + 5, value(host), delay=MINUTE)
        for key in self.keys("disk_used_percent", "CWAgent"):
            path = dict(key.dimensions).get("path")
            paths = [path] if path is not None else list(FILESYSTEMS)
            for host in alive:
                for p in paths:
                    if p in FILESYSTEMS:
                        self.store.put(key, t + 5, self._disk(host, t, p), delay=MINUTE)
        # Group metrics (metrics collection enabled): one data point a minute, every instance
        # InService whether or not its agent runs.
        for key in self.keys("GroupInServiceInstances", "AWS/AutoScaling"):
            self.store.put(key, t + 30, float(self.service.hosts), delay=MINUTE)

    # ---- logs: CloudWatch Logs, its metric filters and subscriptions to Firehose
    def _shipping_hosts(self, t: float) -> list[int]:
        return [
            h
            for h in range(self.service.hosts)
            if self._agent_alive(h, t) and not (h in self.faults.stopped_shipping and self.active(t))
        ]

    def _logs(self, t: int) -> None:
        shipping = self._shipping_hosts(t)
        lines = {key: len(shipping) * max(1, round(200 * load(t))) for key in self.keys("IncomingLogEvents")}
        for key, count in lines.items():
            if count:
                self.store.put(key, t + 30, float(count), delay=MINUTE)
        if self.faults.masked_data and self.active(t):
            for key in self.keys("LogEventsWithFindings"):
                self.store.put(key, t + 30, 3.0, delay=MINUTE)
        flowing = any(lines.values()) and not (self.faults.subscription_broken and self.active(t))
        self._subscriptions(t, lines)
        if not flowing:
            return
        failing = self.faults.archive_delivery_failing and self.active(t)
        stalled_for = (t - T0) if failing else 0
        for key in self.keys("DeliveryToS3.DataFreshness"):
            self.store.put(key, t + 30, 120.0 + stalled_for, delay=2 * MINUTE)
        for key in self.keys("DeliveryToS3.Success"):
            self.store.put(key, t + 30, 0.0 if failing else 1.0, delay=2 * MINUTE)
        for key in self.keys("IncomingRecords", "AWS/Firehose"):
            self.store.put(key, t + 30, 10.0, delay=2 * MINUTE)
        blocked = (self.faults.search_writes_blocked or self.faults.search_red) and self.active(t)
        search_stalled = (t - T0) if blocked else 0
        for key in self.keys("DeliveryToAmazonOpenSearchService.Success"):
            self.store.put(key, t + 30, 0.0 if blocked else 1.0, delay=2 * MINUTE)
        for key in self.keys("DeliveryToAmazonOpenSearchService.DataFreshness"):
            self.store.put(key, t + 30, 60.0 + search_stalled, delay=2 * MINUTE)

    def _subscriptions(self, t: int, lines: dict[MetricKey, int]) -> None:
        """AWS/Logs per subscription filter (LogGroupName, DestinationType, FilterName): a healthy filter
        forwards every event its log group received; a broken one (its role denied) forwards none and
        counts each as a DeliveryError. A minute without events publishes nothing."""
        by_group = {dict(k.dimensions).get("LogGroupName"): n for k, n in lines.items()}
        broken = self.faults.subscription_broken and self.active(t)
        for metric, published in (("ForwardedLogEvents", not broken), ("DeliveryErrors", broken)):
            for key in self.keys(metric, "AWS/Logs"):
                count = by_group.get(dict(key.dimensions).get("LogGroupName"), sum(lines.values()))
                if published and count:
                    self.store.put(key, t + 30, float(count), delay=MINUTE)

    # ---- search: OpenSearch Service
    def _search(self, t: int) -> None:
        active = self.active(t)
        values = {
            "ClusterStatus.red": 1.0 if self.faults.search_red and active else 0.0,
            "ClusterStatus.yellow": 0.0,
            "ClusterIndexWritesBlocked": 1.0 if self.faults.search_writes_blocked and active else 0.0,
            "FreeStorageSpace": self.service.free_storage_mib
            * (0.1 if self.faults.search_storage_low and active else 0.8),
            "Nodes": float(self.service.search_nodes),
            "AutomatedSnapshotFailure": 0.0,
            "CPUUtilization": 20.0 + 30.0 * load(t),
            "JVMMemoryPressure": 55.0,
            "MasterCPUUtilization": 10.0,
            "MasterJVMMemoryPressure": 40.0,
        }
        for metric, value in values.items():
            for key in self.keys(metric, "AWS/ES"):
                self.store.put(key, t + 10, value, delay=2 * MINUTE)

    # ---- queues: SQS, every 5 minutes
    def readers(self, key: MetricKey) -> str:
        """The names of the alarms that read ``key``: what the queue is, by genba's alarm names."""
        return " ".join(a.name for a in self.alarms if key in a.metrics)

    def _queues(self, t: int) -> None:
        since = t - T0
        active = self.active(t)
        max_lag = self.service.max_sync_lag_hours * HOUR
        for key in self.keys("ApproximateNumberOfMessagesVisible", "AWS/SQS"):
            role = self.readers(key)
            waiting = active and (
                ("alarm-notifications" in role and self.faults.alarm_topic_failing)
                or ("stream-failure-dlq" in role and self.faults.replay_cannot_fix and since >= 3 * 5 * MINUTE)
                or ("verification-dlq" in role and self.faults.change_never_synced and since >= max_lag)
            )
            self.store.put(key, t, 1.0 if waiting else 0.0, delay=5 * MINUTE)
        for key in self.keys("ApproximateAgeOfOldestMessage", "AWS/SQS"):
            role = self.readers(key)
            age = 30.0
            if active and "stream-failures" in role and self.faults.replay_cannot_fix:
                # SQS leaves a message received 3+ times out of this metric: after three failed
                # replays (one every visibility timeout, 5 minutes here) the age falls back.
                age = float(since) if since < 15 * MINUTE else 0.0
            elif (
                active
                and "verification-queue" in role
                and (self.faults.change_never_synced or self.faults.sync_worker_dead)
            ):
                # The verifier receives a pending change again at each recheck (grace, then
                # doubling): from its third receive on the change is out of the metric.
                age = float(since) if since < 3 * MINUTE else 30.0
            self.store.put(key, t, age, delay=5 * MINUTE)

    # ---- sync: stream, forwarder, verifier, canary
    def _sync(self, t: int) -> None:
        active = self.active(t)
        traffic = self.faults.table_traffic or not active
        stuck = self.faults.stream_stuck and active
        # A stuck shard invokes nothing: Lambda publishes no IteratorAge for it, busy or not.
        if traffic and not stuck:
            for key in self.keys("IteratorAge", "AWS/Lambda"):
                self.store.put(key, t + 30, 200.0, delay=MINUTE)
        for key in self.keys("Errors", "AWS/Lambda"):
            self.store.put(key, t + 30, 0.0, delay=MINUTE)
        canary_every = self.service.canary_interval_minutes * MINUTE
        if t % canary_every == 0:
            # Today the canary is verified when the source has moved on, even if the target never
            # got it: a dead sync worker does not stop it. A stuck stream does.
            verified = not stuck
            for key in self.keys("CanaryVerified"):
                if verified:
                    self.store.put(key, t + 60, 1.0, delay=MINUTE)
        self._replay_and_forwarding(t, traffic and not stuck)
        for key in self.keys("PendingChangeAgeSeconds"):
            real_changes_pending = self.faults.change_never_synced or (
                self.faults.sync_worker_dead and self.faults.table_traffic
            )
            if active and real_changes_pending:
                # Published only at each recheck: after the grace period, then doubling.
                since = t - T0
                recheck = 60
                while recheck < since:
                    recheck *= 2
                if recheck == since:
                    self.store.put(key, t, float(since), delay=MINUTE)
            elif active and self.faults.sync_worker_dead and t % canary_every == 0:
                # Only canaries are pending, and today each one counts as verified once the next
                # canary has rewritten the item: the pending age never exceeds one interval.
                self.store.put(key, t, float(canary_every), delay=MINUTE)

    def _replay_and_forwarding(self, t: int, forwarding: bool) -> None:
        """The handlers' own record-level metrics: failed records, what replay owes, real changes."""
        if forwarding:
            for key in self.keys("SourceChangesForwarded"):
                self.store.put(key, t + 30, 50.0, delay=MINUTE)  # real changes a minute, the canary excluded
            for key in self.keys("ChangesNotForwarded"):
                self.store.put(key, t + 30, 0.0, delay=MINUTE)
        since = t - T0
        # A range replay cannot finish is received again every visibility timeout (12 minutes) and
        # each invocation publishes the age of the range it owes (its records arrived ~6 h before).
        if self.active(t) and self.faults.replay_cannot_fix and since % (12 * MINUTE) == 0:
            for key in self.keys("ReplayOwedAgeSeconds"):
                self.store.put(key, t + 30, float(6 * HOUR + since), delay=MINUTE)
            for key in self.keys("ReplayRangesFailed"):
                self.store.put(key, t + 30, 1.0, delay=MINUTE)


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


def scenarios(service: Service) -> list[Scenario]:
    """Every failure mode of the baseline, each with its detection goal (issue 12's list)."""
    everyone = frozenset(range(service.hosts))
    one = frozenset({0})
    max_lag = service.max_sync_lag_hours * HOUR
    lag_slo = service.lag_slo_minutes * MINUTE
    return [
        Scenario(
            "disk filling fast on one host (full in 2 h)",
            60 * MINUTE,
            Faults(disk_fill_host=0, disk_fill_percent_per_hour=30.0),
            T0 + 3 * HOUR,
            ("disk-used", "disk-full-soon"),
        ),
        Scenario(
            "disk filling slowly on one host (full in 30 h)",
            26 * HOUR,
            Faults(disk_fill_host=0, disk_fill_percent_per_hour=2.0),
            T0 + 31 * HOUR,
            ("disk-used", "disk-full-soon"),
        ),
        Scenario(
            "disk filling on one host's second filesystem (not the fullest, full in 2 h)",
            60 * MINUTE,
            Faults(disk_fill_host=0, disk_fill_percent_per_hour=40.0, disk_fill_path="/var/log"),
            T0 + 3 * HOUR,
            ("disk-used", "disk-full-soon"),
        ),
        Scenario(
            "agent dead on one host",
            10 * MINUTE,
            Faults(dead_agents=one),
            T0 + 2 * HOUR,
            ("agent-silent", "agent-missing", "log-silence"),
        ),
        Scenario(
            "agent dead on every host",
            10 * MINUTE,
            Faults(dead_agents=everyone),
            T0 + 2 * HOUR,
            ("agent-silent", "agent-missing", "log-silence"),
        ),
        Scenario(
            "log shipping stopped on one host",
            10 * MINUTE,
            Faults(stopped_shipping=one),
            T0 + 2 * HOUR,
            ("log-silence",),
        ),
        Scenario(
            "log shipping stopped on every host",
            10 * MINUTE,
            Faults(stopped_shipping=everyone),
            T0 + 2 * HOUR,
            ("log-silence",),
        ),
        Scenario(
            "log subscription to Firehose broken",
            15 * MINUTE,
            Faults(subscription_broken=True),
            T0 + 2 * HOUR,
            ("subscription-delivery",),
        ),
        Scenario(
            "archive delivery failing",
            20 * MINUTE,
            Faults(archive_delivery_failing=True),
            T0 + 2 * HOUR,
            ("firehose-delivery", "firehose-freshness"),
        ),
        Scenario("search cluster red", 5 * MINUTE, Faults(search_red=True), T0 + HOUR, ("opensearch-cluster-red",)),
        Scenario(
            "search writes blocked",
            10 * MINUTE,
            Faults(search_writes_blocked=True),
            T0 + HOUR,
            ("opensearch-writes-blocked",),
        ),
        Scenario(
            "search storage low", 5 * MINUTE, Faults(search_storage_low=True), T0 + HOUR, ("opensearch-free-storage",)
        ),
        Scenario(
            "stream shard stuck, table busy",
            15 * MINUTE,
            Faults(stream_stuck=True),
            T0 + 2 * HOUR,
            ("stream-iterator-age", "sync-canary-silent"),
        ),
        Scenario(
            "stream shard stuck, only the canary writes",
            15 * MINUTE,
            Faults(stream_stuck=True, table_traffic=False),
            T0 + 2 * HOUR,
            ("sync-canary-silent",),
        ),
        Scenario(
            "sync worker dead, only the canary writes",
            20 * MINUTE,
            Faults(sync_worker_dead=True, table_traffic=False),
            T0 + 3 * HOUR,
            ("sync-canary-silent", "sync-lag"),
        ),
        Scenario(
            "a change never synced (warning by the lag SLO + 5 min)",
            lag_slo + 5 * MINUTE,
            Faults(change_never_synced=True),
            T0 + max_lag + HOUR,
            ("sync-lag",),
        ),
        Scenario(
            "a change never synced (DLQ at max_sync_lag)",
            max_lag + 10 * MINUTE,
            Faults(change_never_synced=True),
            T0 + max_lag + HOUR,
            ("dlq-not-empty",),
        ),
        Scenario(
            "failed stream batch that replay cannot fix",
            30 * MINUTE,
            Faults(replay_cannot_fix=True),
            T0 + 2 * HOUR,
            ("sync-replay-window", "dlq-not-empty"),
        ),
        Scenario(
            "masked data written to a log group",
            10 * MINUTE,
            Faults(masked_data=True),
            T0 + HOUR,
            ("log-data-protection",),
        ),
        *web_scenarios(service),
        Scenario(
            "alarm notifications failing", 15 * MINUTE, Faults(alarm_topic_failing=True), T0 + HOUR, ("dlq-not-empty",)
        ),
    ]


def web_scenarios(service: Service) -> list[Scenario]:
    """The web tier's failure modes (issue 15): what users see first."""
    return [
        Scenario(
            "5xx storm from the targets (10 % of requests)",
            5 * MINUTE,
            Faults(web_5xx_percent=10.0),
            T0 + HOUR,
            ("target-5xx-rate",),
        ),
        Scenario(
            "every target unhealthy",
            5 * MINUTE,
            Faults(web_targets_unhealthy=True),
            T0 + HOUR,
            ("unhealthy-hosts", "unhealthy-host-share", "elb-5xx-rate", "environment-health"),
        ),
        Scenario(
            "latency regression (p99 4 s)",
            10 * MINUTE,
            Faults(web_latency_seconds=4.0),
            T0 + HOUR,
            ("target-response-time-p99",),
        ),
    ]


def healthy_week(service: Service) -> Scenario:
    return Scenario("healthy week (daily peaks, quiet nights)", None, Faults(), 7 * DAY)


def environment_alarms(alarms: Iterable[AlarmDefinition], environment: str) -> list[AlarmDefinition]:
    return [a for a in alarms if a.stack.startswith(f"genba-{environment}-")]
