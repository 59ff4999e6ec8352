"""What the CloudWatch agent does with a configuration, written down from its documentation.

Used by the tests only, and deliberately independent of genba_constructs: it reads a
configuration (a dict, as the agent would) and says which metrics, with which dimension
sets, the agent publishes. Sources:

* "Manually create or edit the CloudWatch agent configuration file" (agent, metrics and
  logs sections: measurement names, append_dimensions, aggregation_dimensions, drop_device,
  omit_hostname, collect_list fields, the timestamp_format symbols);
* "Collect process metrics with the procstat plugin" (procstat measurements; pid_count is
  published as procstat_lookup_pid_count);
* the agent's CloudWatch output, ProcessRollup: a rollup set is published for a metric only
  when every key of the set is one of the metric's dimensions, and the set is smaller than
  the metric's own set; dimensions with an empty value are dropped.
"""

from __future__ import annotations

from typing import Any

_MEASUREMENT = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "rename": {"type": "string"}, "unit": {"type": "string"}},
            "additionalProperties": False,
        },
    ]
}


def _measurements(allowed: list[str], prefix: str) -> dict[str, Any]:
    names = allowed + [f"{prefix}_{name}" for name in allowed]
    return {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {
            "oneOf": [
                {"type": "string", "enum": names},
                {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "enum": names},
                        "rename": {"type": "string"},
                        "unit": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            ]
        },
    }


DISK_MEASUREMENTS = ["free", "total", "used", "used_percent", "inodes_free", "inodes_used", "inodes_total"]
MEM_MEASUREMENTS = [
    "active",
    "available",
    "available_percent",
    "buffered",
    "cached",
    "free",
    "inactive",
    "total",
    "used",
    "used_percent",
]
SWAP_MEASUREMENTS = ["free", "used", "used_percent"]
PROCSTAT_MEASUREMENTS = [
    "cpu_time",
    "cpu_time_system",
    "cpu_time_user",
    "cpu_usage",
    "memory_data",
    "memory_locked",
    "memory_rss",
    "memory_stack",
    "memory_swap",
    "memory_vms",
    "pid",
    "pid_count",
    "read_bytes",
    "write_bytes",
    "read_count",
    "write_count",
]
APPEND_DIMENSION_VALUES = {
    "ImageId": "${aws:ImageId}",
    "InstanceId": "${aws:InstanceId}",
    "InstanceType": "${aws:InstanceType}",
    "AutoScalingGroupName": "${aws:AutoScalingGroupName}",
}
_INTERVAL = {"type": "integer", "minimum": 1}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

# The subset of the agent's configuration schema genba relies on. Unknown keys are errors
# here (the agent ignores some of them silently, which is how typos go unnoticed).
AGENT_CONFIG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["metrics", "logs"],
    "additionalProperties": False,
    "properties": {
        "agent": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "metrics_collection_interval": _INTERVAL,
                "region": {"type": "string"},
                "logfile": {"type": "string"},
                "debug": {"type": "boolean"},
                "omit_hostname": {"type": "boolean"},
                "run_as_user": {"type": "string"},
            },
        },
        "metrics": {
            "type": "object",
            "required": ["metrics_collected"],
            "additionalProperties": False,
            "properties": {
                "namespace": {"type": "string", "minLength": 1, "maxLength": 255},
                "append_dimensions": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {key: {"const": value} for key, value in APPEND_DIMENSION_VALUES.items()},
                },
                "aggregation_dimensions": {
                    "type": "array",
                    "items": {"type": "array", "uniqueItems": True, "items": {"type": "string", "minLength": 1}},
                },
                "force_flush_interval": _INTERVAL,
                "metrics_collected": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": False,
                    "properties": {
                        "disk": {
                            "type": "object",
                            "required": ["measurement"],
                            "additionalProperties": False,
                            "properties": {
                                "resources": {"type": "array", "items": {"type": "string", "minLength": 1}},
                                "measurement": _measurements(DISK_MEASUREMENTS, "disk"),
                                "ignore_file_system_types": {
                                    "type": "array",
                                    "uniqueItems": True,
                                    "items": {"type": "string", "minLength": 1},
                                },
                                "drop_device": {"type": "boolean"},
                                "metrics_collection_interval": _INTERVAL,
                                "append_dimensions": _STRING_MAP,
                            },
                        },
                        "mem": {
                            "type": "object",
                            "required": ["measurement"],
                            "additionalProperties": False,
                            "properties": {
                                "measurement": _measurements(MEM_MEASUREMENTS, "mem"),
                                "metrics_collection_interval": _INTERVAL,
                                "append_dimensions": _STRING_MAP,
                            },
                        },
                        "swap": {
                            "type": "object",
                            "required": ["measurement"],
                            "additionalProperties": False,
                            "properties": {
                                "measurement": _measurements(SWAP_MEASUREMENTS, "swap"),
                                "metrics_collection_interval": _INTERVAL,
                                "append_dimensions": _STRING_MAP,
                            },
                        },
                        "procstat": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["measurement"],
                                "oneOf": [
                                    {"required": ["pid_file"]},
                                    {"required": ["exe"]},
                                    {"required": ["pattern"]},
                                ],
                                "additionalProperties": False,
                                "properties": {
                                    "pid_file": {"type": "string", "minLength": 1},
                                    "exe": {"type": "string", "minLength": 1},
                                    "pattern": {"type": "string", "minLength": 1},
                                    "measurement": _measurements(PROCSTAT_MEASUREMENTS, "procstat"),
                                    "metrics_collection_interval": _INTERVAL,
                                    "append_dimensions": _STRING_MAP,
                                },
                            },
                        },
                    },
                },
            },
        },
        "logs": {
            "type": "object",
            "required": ["logs_collected", "log_stream_name"],
            "additionalProperties": False,
            "properties": {
                "log_stream_name": {"type": "string", "minLength": 1},
                "force_flush_interval": _INTERVAL,
                "logs_collected": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "files": {
                            "type": "object",
                            "required": ["collect_list"],
                            "additionalProperties": False,
                            "properties": {
                                "collect_list": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["file_path"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "file_path": {"type": "string", "pattern": "^/"},
                                            "log_group_name": {
                                                "type": "string",
                                                "pattern": "^[A-Za-z0-9_/.-]{1,512}$",
                                            },
                                            "log_stream_name": {"type": "string", "minLength": 1},
                                            "timezone": {"enum": ["UTC", "Local"]},
                                            "timestamp_format": {"type": "string", "pattern": "%"},
                                            "multi_line_start_pattern": {"type": "string", "minLength": 1},
                                            "encoding": {"type": "string"},
                                            "auto_removal": {"type": "boolean"},
                                        },
                                        "dependentRequired": {"timezone": ["timestamp_format"]},
                                    },
                                }
                            },
                        }
                    },
                },
            },
        },
    },
}

TIMESTAMP_SYMBOLS = {
    "%y", "%Y", "%b", "%B", "%m", "%-m", "%d", "%-d", "%A", "%a", "%H",
    "%I", "%-I", "%p", "%M", "%-M", "%S", "%-S", "%f", "%Z", "%z",
}  # fmt: skip


def _metric_name(plugin: str, measurement: str) -> str:
    if plugin == "procstat":
        bare = measurement.removeprefix("procstat_")
        return "procstat_lookup_pid_count" if bare == "pid_count" else f"procstat_{bare}"
    return measurement if measurement.startswith(f"{plugin}_") else f"{plugin}_{measurement}"


def _own_dimensions(plugin: str, entry: dict[str, Any], measurement: str) -> set[str]:
    if plugin == "disk":
        return {"path", "fstype"} | (set() if entry.get("drop_device") else {"device"})
    if plugin == "procstat":
        selector = next(key for key in ("pid_file", "exe", "pattern") if key in entry)
        if measurement.removeprefix("procstat_") == "pid_count":
            return {selector, "pid_finder"}
        return {selector, "process_name"}
    return set()


def published_dimension_sets(
    config: dict[str, Any], namespace_default: str = "CWAgent"
) -> dict[tuple[str, str], set[frozenset[str]]]:
    """(namespace, metric name) -> every dimension-name set the agent publishes it with."""
    metrics = config["metrics"]
    namespace = metrics.get("namespace", namespace_default)
    appended = set(metrics.get("append_dimensions", {}))
    host = set() if config.get("agent", {}).get("omit_hostname") else {"host"}
    rollups = [set(group) for group in metrics.get("aggregation_dimensions", [])]
    published: dict[tuple[str, str], set[frozenset[str]]] = {}
    for plugin, section in metrics["metrics_collected"].items():
        for entry in section if isinstance(section, list) else [section]:
            for measurement in entry["measurement"]:
                name = measurement if isinstance(measurement, str) else measurement["name"]
                metric = _metric_name(plugin, name)
                if isinstance(measurement, dict) and measurement.get("rename"):
                    metric = measurement["rename"]
                raw = _own_dimensions(plugin, entry, name) | appended | host | set(entry.get("append_dimensions", {}))
                sets = {frozenset(raw)}
                sets |= {frozenset(r) for r in rollups if r <= raw and len(r) < len(raw)}
                published.setdefault((namespace, metric), set()).update(sets)
    return published
