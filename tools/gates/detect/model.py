"""A model of the reference service that emits the samples AWS would publish, healthy or with one failure.

Each metric an alarm of the assembly reads is fed by the part of the model that AWS (or genba's
own code) publishes it from, with the documented behaviour that matters for detection:

* the CloudWatch agent on each host sends one sample a minute per metric under the
  aggregated dimensions genba's alarms use (an aggregate metric's SampleCount is the number of
  agents reporting; its Maximum the fullest disk); a dead agent sends nothing;
* CloudWatch Logs counts IncomingLogEvents per log group per minute and publishes nothing for a
  minute without events; metric filters publish their counts the same way; a Contributor
  Insights rule keyed on the log stream reports the streams (hosts) that wrote in a minute as
  ``UniqueContributors``, and nothing for a minute without events;
* Firehose publishes DeliveryToS3/OpenSearch metrics only while records arrive (a broken
  subscription leaves them absent); SQS publishes queue metrics every 5 minutes for an active
  queue (idle queues stop after about six hours; genba's queues never idle that long here);
* Lambda publishes IteratorAge only while it reads records; OpenSearch publishes its cluster
  metrics every minute; the sync pipeline as :mod:`.model_sync` describes it.

Delays: 60 s for agent, Logs, Contributor Insights and Lambda metrics, 120 s for Firehose and
OpenSearch, 300 s for SQS (SQS's metrics are collected every 5 minutes). Every scenario runs the
healthy service for two hours, injects its failure at ``T0``, and runs until its horizon.
"""

from __future__ import annotations

from collections.abc import Callable

from tools.gates.detect.evaluator import MetricKey, MetricStore
from tools.gates.detect.model_sync import SyncModel
from tools.gates.detect.service import FILESYSTEMS, HOUR, MINUTE, T0, load
from tools.gates.detect.templates import INSIGHT_RULE_NAMESPACE


class Model(SyncModel):
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
        hosts = float(self.service.hosts)
        self.put_each("RequestCount", "AWS/ApplicationELB", t + 30, float(requests), MINUTE)
        if unhealthy:
            self.put_each("HTTPCode_ELB_5XX_Count", None, t + 30, float(requests), MINUTE)  # 503: no healthy target
        if active and self.faults.web_5xx_percent:
            self.put_each(
                "HTTPCode_Target_5XX_Count", None, t + 30, requests * self.faults.web_5xx_percent / 100, MINUTE
            )
        slow = self.faults.web_latency_seconds if active else 0.0
        for i in range(20):
            self.put_each("TargetResponseTime", None, t + i, slow or 0.05 + 0.01 * i, MINUTE)
        self.put_each("HealthyHostCount", None, t + 30, 0.0 if unhealthy else hosts, MINUTE)
        self.put_each("UnHealthyHostCount", None, t + 30, hosts if unhealthy else 0.0, MINUTE)
        # Enhanced health: 0 Ok ... 20 Degraded, 25 Severe.
        self.put_each("EnvironmentHealth", None, t + 30, 25.0 if unhealthy else 0.0, MINUTE)

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
            for host in alive:
                self.put_each(metric, "CWAgent", t + 5, value(host), MINUTE)
        for key in self.keys("disk_used_percent", "CWAgent"):
            path = dict(key.dimensions).get("path")
            paths = [path] if path is not None else list(FILESYSTEMS)
            for host in alive:
                for p in paths:
                    if p in FILESYSTEMS:
                        self.store.put(key, t + 5, self._disk(host, t, p), delay=MINUTE)
        # Group metrics (metrics collection enabled): one data point a minute, every instance
        # InService whether or not its agent runs.
        self.put_each("GroupInServiceInstances", "AWS/AutoScaling", t + 30, float(self.service.hosts), MINUTE)

    # ---- logs: CloudWatch Logs, its metric filters, Contributor Insights and subscriptions to Firehose
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
        if shipping:  # every host-fed log group's rule: one contributor per host that wrote this minute
            self.put_each("UniqueContributors", INSIGHT_RULE_NAMESPACE, t + 30, float(len(shipping)), MINUTE)
        if self.faults.masked_data and self.active(t):
            self.put_each("LogEventsWithFindings", None, t + 30, 3.0, MINUTE)
        flowing = any(lines.values()) and not (self.faults.subscription_broken and self.active(t))
        self._subscriptions(t, lines)
        if not flowing:
            return
        failing = self.faults.archive_delivery_failing and self.active(t)
        stalled_for = (t - T0) if failing else 0
        self.put_each("DeliveryToS3.DataFreshness", None, t + 30, 120.0 + stalled_for, 2 * MINUTE)
        self.put_each("DeliveryToS3.Success", None, t + 30, 0.0 if failing else 1.0, 2 * MINUTE)
        self.put_each("IncomingRecords", "AWS/Firehose", t + 30, 10.0, 2 * MINUTE)
        blocked = (self.faults.search_writes_blocked or self.faults.search_red) and self.active(t)
        search_stalled = (t - T0) if blocked else 0
        self.put_each("DeliveryToAmazonOpenSearchService.Success", None, t + 30, 0.0 if blocked else 1.0, 2 * MINUTE)
        self.put_each(
            "DeliveryToAmazonOpenSearchService.DataFreshness", None, t + 30, 60.0 + search_stalled, 2 * MINUTE
        )

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
            self.put_each(metric, "AWS/ES", t + 10, value, 2 * MINUTE)
