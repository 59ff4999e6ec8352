"""How big a log search domain is, and the thresholds of its alarms: plain data, checked without AWS.

:class:`SearchSizing` lists its own problems (``problems()``), so the same rules serve the
construct (which raises the first) and the environment config loader (which reports each
under its key path). :class:`LogSearchAlarmSettings` holds AWS's recommended thresholds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Multi-AZ with Standby is not offered on burstable (T) instances nor on previous generations.
_NO_STANDBY_FAMILIES = ("t2", "t3", "t4g", "m3", "r3", "i2")
_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+\.search")


@dataclass(frozen=True)
class SearchSizing:
    """How big the domain is. Default: one small burstable node (a development domain).

    :param instance_type: data node instance type. Default: ``t3.small.search``.
    :param data_nodes: number of data nodes. Default: 1.
    :param volume_gib: EBS (gp3) storage per data node, GiB. Default: 10.
    :param availability_zones: zones the data nodes are spread over (1 = no zone awareness,
        2 or 3). Default: 1.
    :param master_instance_type: dedicated master instance type. Default: none.
    :param master_nodes: dedicated master nodes (0, 3 or 5). Default: 0.
    :param multi_az_with_standby: Multi-AZ with Standby (needs 3 zones, dedicated masters and
        instance types that offer it). Default: False.
    """

    instance_type: str = "t3.small.search"
    data_nodes: int = 1
    volume_gib: int = 10
    availability_zones: int = 1
    master_instance_type: str | None = None
    master_nodes: int = 0
    multi_az_with_standby: bool = False

    def problems(self) -> Iterator[tuple[str, Any, str]]:
        """Every reason OpenSearch Service would refuse (or regret) this sizing: (key, value, problem)."""
        for key in ("instance_type", "master_instance_type"):
            value = getattr(self, key)
            if value is not None and not _INSTANCE_TYPE.fullmatch(value):
                yield key, value, "is not an OpenSearch instance type such as 'r6g.large.search'"
        for key in ("instance_type", "master_instance_type"):
            value = getattr(self, key)
            # genba always encrypts at rest and node to node, with fine-grained access control:
            # OpenSearch Service offers none of them on T2 instance types.
            if isinstance(value, str) and value.startswith("t2."):
                yield key, value, "is a T2 type, which has no encryption at rest nor fine-grained access control"
        if not 1 <= self.data_nodes <= 1000:
            yield "data_nodes", self.data_nodes, "must be between 1 and 1000"
        if not 10 <= self.volume_gib <= 24576:
            yield "volume_gib", self.volume_gib, "must be between 10 and 24576 GiB"
        if self.availability_zones not in (1, 2, 3):
            yield "availability_zones", self.availability_zones, "must be 1 (no zone awareness), 2 or 3"
        elif self.availability_zones > 1 and self.data_nodes % self.availability_zones:
            yield (
                "data_nodes",
                self.data_nodes,
                f"must be a multiple of availability_zones ({self.availability_zones}): zone awareness "
                "places the same number of data nodes in every zone",
            )
        if self.master_nodes % 2 == 0 and self.master_nodes:
            yield (
                "master_nodes",
                self.master_nodes,
                "is even: dedicated masters need an odd number to keep a quorum (use 3 or 5)",
            )
        elif self.master_nodes not in (0, 3, 5):
            yield "master_nodes", self.master_nodes, "must be 0 (no dedicated masters), 3 or 5"
        if self.master_nodes and self.master_instance_type is None:
            yield "master_instance_type", None, f"is required with master_nodes={self.master_nodes}"
        if not self.master_nodes and self.master_instance_type is not None:
            yield "master_instance_type", self.master_instance_type, "is given but master_nodes is 0"
        if self.multi_az_with_standby:
            if self.availability_zones != 3:
                yield (
                    "availability_zones",
                    self.availability_zones,
                    "must be 3 with multi_az_with_standby (one zone holds the standby)",
                )
            if not self.master_nodes:
                yield "master_nodes", self.master_nodes, "must be 3 or 5 with multi_az_with_standby"
            for key in ("instance_type", "master_instance_type"):
                value = getattr(self, key)
                if value is not None and value.split(".", 1)[0] in _NO_STANDBY_FAMILIES:
                    yield (
                        key,
                        value,
                        f"cannot run Multi-AZ with Standby (not offered for {', '.join(_NO_STANDBY_FAMILIES)})",
                    )

    @property
    def nodes(self) -> int:
        """All nodes the domain reports in its ``Nodes`` metric: data and dedicated master nodes."""
        return self.data_nodes + self.master_nodes

    @property
    def storage_per_node_mib(self) -> int:
        """One node's storage in MiB, the unit of ``FreeStorageSpace``."""
        return self.volume_gib * 1024


@dataclass(frozen=True)
class LogSearchAlarmSettings:
    """Alarm thresholds; the defaults are AWS's recommended alarms for OpenSearch Service.

    :param free_storage_percent: FreeStorageSpace (Minimum, 1 minute) at or below this share of
        one node's storage. Default: 25.
    :param cpu_utilization_percent: CPUUtilization (Maximum, 15 minutes, 3 periods). Default: 80.
    :param jvm_memory_pressure_percent: JVMMemoryPressure (Maximum, 1 minute, 3 periods). Default: 95.
    :param master_cpu_utilization_percent: MasterCPUUtilization (Maximum, 15 minutes, 3 periods). Default: 50.
    :param master_jvm_memory_pressure_percent: MasterJVMMemoryPressure (Maximum, 1 minute, 3 periods). Default: 95.
    :param yellow_minutes: minutes of yellow status before the alarm. Default: 5.
    :param delivery_freshness_seconds: age of the oldest undelivered record (Firehose's buffering
        limit is 15 minutes). Default: 900.
    :param delivery_success_ratio: DeliveryToAmazonOpenSearchService.Success (Average, 5 minutes)
        below this. Default: 1 (any document that could not be indexed).
    """

    free_storage_percent: float = 25
    cpu_utilization_percent: float = 80
    jvm_memory_pressure_percent: float = 95
    master_cpu_utilization_percent: float = 50
    master_jvm_memory_pressure_percent: float = 95
    yellow_minutes: int = 5
    delivery_freshness_seconds: int = 900
    delivery_success_ratio: float = 1


def free_storage_threshold_mib(sizing: SearchSizing, percent: float) -> int:
    """The FreeStorageSpace alarm threshold: ``percent`` of one node's storage, in MiB."""
    return int(sizing.storage_per_node_mib * percent / 100)
