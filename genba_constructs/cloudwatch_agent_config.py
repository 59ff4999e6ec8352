"""The CloudWatch agent configuration genba installs on hosts, built as data.

Pure Python (no aws_cdk import) so that it can be property-tested on its own. The
construct (:mod:`genba_constructs.host_monitoring`) stores the result in an SSM parameter
that the agent reads with ``ssm:<parameter name>``.

What the agent publishes with this configuration (source: the CloudWatch agent's
configuration file reference and its CloudWatch output's rollup rule):

* every metric carries its plugin's own dimensions (disk: ``path``, ``fstype``; ``device``
  is dropped with ``drop_device``; procstat: ``exe`` and ``process_name``) plus the global
  ``append_dimensions`` (``InstanceId``, ``AutoScalingGroupName``); ``omit_hostname`` keeps
  the ``host`` dimension off;
* and, for each set in ``aggregation_dimensions`` whose every key the metric carries (and
  which is smaller than its full set), a copy with exactly that set. With
  ``[["AutoScalingGroupName"], ["AutoScalingGroupName", "path"]]``, ``disk_used_percent``
  is also published with ``{AutoScalingGroupName}`` (every filesystem of every instance of
  the group in one metric: its Maximum is the fullest filesystem) and with
  ``{AutoScalingGroupName, path}``; ``mem_used_percent`` only gains ``{AutoScalingGroupName}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NAMESPACE = "CWAgent"
AGENT_LOG_PATH = "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log"
# The agent's own log lines start "2024-05-01T12:00:00Z I! ..." (UTC).
AGENT_LOG_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
AGENT_PROCESS = "amazon-cloudwatch-agent"
LOG_STREAM_NAME = "{instance_id}"  # one stream per instance
# One data point per instance per minute: the "agent silent" alarm counts them per minute.
METRICS_COLLECTION_INTERVAL_SECONDS = 60

GROUP_DIMENSION = "AutoScalingGroupName"
INSTANCE_DIMENSION = "InstanceId"
APPEND_DIMENSIONS = {
    INSTANCE_DIMENSION: "${aws:InstanceId}",
    GROUP_DIMENSION: "${aws:AutoScalingGroupName}",
}
# The rollups genba asks for. Alarms use the first one (the whole group).
AGGREGATION_DIMENSIONS: tuple[tuple[str, ...], ...] = ((GROUP_DIMENSION,), (GROUP_DIMENSION, "path"))

# Pseudo and in-memory filesystems: not disks that fill up. vfat (the EFI system partition)
# reports zero inodes, which would look like inode exhaustion; efivarfs (UEFI variables, mounted
# on every UEFI host at /sys/firmware/efi/efivars) is small and reports itself nearly full, so
# disk-used would page CRITICAL forever there.
DEFAULT_IGNORED_FILE_SYSTEM_TYPES: tuple[str, ...] = (
    "autofs",
    "binfmt_misc",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "securityfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "vfat",
)

DISK_MEASUREMENTS = ("used_percent", "inodes_free", "inodes_used", "inodes_total")
MEM_MEASUREMENTS = ("used_percent", "available_percent")
SWAP_MEASUREMENTS = ("used_percent",)
PROCSTAT_MEASUREMENTS = ("cpu_usage", "memory_rss", "pid_count")

# Symbols the agent's timestamp_format understands (configuration file reference, logs section).
TIMESTAMP_SYMBOLS = frozenset(
    [
        "%y",
        "%Y",
        "%b",
        "%B",
        "%m",
        "%-m",
        "%d",
        "%-d",
        "%A",
        "%a",
        "%H",
        "%I",
        "%-I",
        "%p",
        "%M",
        "%-M",
        "%S",
        "%-S",
        "%f",
        "%Z",
        "%z",
    ]
)
LOG_GROUP_NAME_PATTERN = r"[A-Za-z0-9_/.-]{1,512}"  # the characters the agent documents


class AgentConfigError(ValueError):
    """An input the agent configuration cannot be built from; the message names it."""


@dataclass(frozen=True)
class LogFile:
    """One log file (glob) the agent ships.

    :param file_path: absolute path, globs allowed (``/var/log/app/*.log``).
    :param log_group_name: the CloudWatch Logs group it goes to.
    :param timestamp_format: how each line's timestamp is written (agent symbols such as
        ``%Y-%m-%dT%H:%M:%S``). Default: the time the agent reads the line.
    :param timezone: ``UTC`` or ``Local``, for ``timestamp_format``. Default: ``UTC``.
    :param multi_line_start_pattern: regular expression that starts a new event. Default:
        every line not starting with white space is an event.
    """

    file_path: str
    log_group_name: str
    timestamp_format: str | None = None
    timezone: str = "UTC"
    multi_line_start_pattern: str | None = None


def _is_token(value: str) -> bool:
    # A CDK token (deploy-time value) in string form; this module cannot import aws_cdk.
    return "${Token[" in value


def timestamp_format_problem(timestamp_format: str) -> str | None:
    """Why the agent cannot read ``timestamp_format`` (None: it can)."""
    symbols = re.findall(r"%-?.", timestamp_format)
    unknown = [s for s in symbols if s not in TIMESTAMP_SYMBOLS]
    if symbols and not unknown:
        return None
    known = " ".join(sorted(TIMESTAMP_SYMBOLS))
    if unknown:
        return f"uses {', '.join(unknown)}, which the agent does not understand (known: {known})"
    return f"has no % symbol (known: {known})"


def _check_log_file(index: int, log_file: LogFile) -> None:
    where = f"log_files[{index}]"
    if not log_file.file_path.startswith("/") or any(c in log_file.file_path for c in "\n\r\t"):
        raise AgentConfigError(f"{where}.file_path={log_file.file_path!r} must be an absolute path")
    if not _is_token(log_file.log_group_name) and not re.fullmatch(LOG_GROUP_NAME_PATTERN, log_file.log_group_name):
        raise AgentConfigError(f"{where}.log_group_name={log_file.log_group_name!r} is not a log group name")
    if log_file.timezone not in ("UTC", "Local"):
        raise AgentConfigError(f"{where}.timezone={log_file.timezone!r} must be 'UTC' or 'Local'")
    if log_file.timestamp_format is not None:
        problem = timestamp_format_problem(log_file.timestamp_format)
        if problem:
            raise AgentConfigError(f"{where}.timestamp_format={log_file.timestamp_format!r} {problem}")
    if log_file.multi_line_start_pattern is not None:
        try:
            re.compile(log_file.multi_line_start_pattern.replace("{timestamp_format}", ""))
        except re.error as error:
            raise AgentConfigError(
                f"{where}.multi_line_start_pattern={log_file.multi_line_start_pattern!r} is not a regular "
                f"expression ({error})"
            ) from None


def _collect_entry(log_file: LogFile) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "file_path": log_file.file_path,
        "log_group_name": log_file.log_group_name,
        "log_stream_name": LOG_STREAM_NAME,
    }
    if log_file.timestamp_format is not None:
        entry["timestamp_format"] = log_file.timestamp_format
        entry["timezone"] = log_file.timezone
    if log_file.multi_line_start_pattern is not None:
        entry["multi_line_start_pattern"] = log_file.multi_line_start_pattern
    return entry


def build_agent_config(
    *,
    log_files: Sequence[LogFile],
    agent_log_group_name: str,
    ignored_file_system_types: Sequence[str] = DEFAULT_IGNORED_FILE_SYSTEM_TYPES,
) -> dict[str, Any]:
    """The agent configuration (a JSON-ready dict) for the given log files.

    :param log_files: application log files to ship (may be empty: metrics and the agent's
        own log only). Two entries may not read the same ``file_path``.
    :param agent_log_group_name: where the agent's own log goes.
    :param ignored_file_system_types: filesystem types without disk metrics. Default:
        :data:`DEFAULT_IGNORED_FILE_SYSTEM_TYPES`.
    """
    ignored = list(dict.fromkeys(ignored_file_system_types))
    if not all(re.fullmatch(r"[a-z0-9_.-]{1,64}", t) for t in ignored):
        raise AgentConfigError(f"ignored_file_system_types={ignored!r} must be filesystem type names")
    agent_log = LogFile(
        file_path=AGENT_LOG_PATH,
        log_group_name=agent_log_group_name,
        timestamp_format=AGENT_LOG_TIMESTAMP_FORMAT,
    )
    all_files = [*log_files, agent_log]
    for index, log_file in enumerate(all_files):
        _check_log_file(index, log_file)
    paths = [f.file_path for f in all_files]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise AgentConfigError(f"log_files: file_path {duplicates[0]!r} is listed twice (the agent reads a file once)")

    return {
        "agent": {
            "metrics_collection_interval": METRICS_COLLECTION_INTERVAL_SECONDS,
            "logfile": AGENT_LOG_PATH,
            "omit_hostname": True,
            "debug": False,
        },
        "metrics": {
            "namespace": NAMESPACE,
            "append_dimensions": dict(APPEND_DIMENSIONS),
            "aggregation_dimensions": [list(group) for group in AGGREGATION_DIMENSIONS],
            "metrics_collected": {
                "disk": {
                    "resources": ["*"],
                    "measurement": list(DISK_MEASUREMENTS),
                    "ignore_file_system_types": ignored,
                    "drop_device": True,
                },
                "mem": {"measurement": list(MEM_MEASUREMENTS)},
                "swap": {"measurement": list(SWAP_MEASUREMENTS)},
                "procstat": [{"exe": AGENT_PROCESS, "measurement": list(PROCSTAT_MEASUREMENTS)}],
            },
        },
        "logs": {
            "logs_collected": {"files": {"collect_list": [_collect_entry(f) for f in all_files]}},
            "log_stream_name": LOG_STREAM_NAME,
        },
    }


def metric_name(plugin: str, measurement: str) -> str:
    """The CloudWatch metric name the agent gives a measurement (``disk`` + ``used_percent``)."""
    if plugin == "procstat" and measurement == "pid_count":
        return "procstat_lookup_pid_count"
    return measurement if measurement.startswith(f"{plugin}_") else f"{plugin}_{measurement}"
