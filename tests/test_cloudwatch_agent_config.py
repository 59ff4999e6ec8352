"""The CloudWatch agent configuration builder, against the agent's documented schema (pure Python, no synth)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genba_constructs import cloudwatch_agent_config as agent_config
from genba_constructs.cloudwatch_agent_config import AgentConfigError, LogFile, build_agent_config
from tests.cloudwatch_agent_model import AGENT_CONFIG_SCHEMA, TIMESTAMP_SYMBOLS, published_dimension_sets

VALIDATOR = jsonschema.Draft202012Validator(AGENT_CONFIG_SCHEMA)
GROUP = frozenset({"AutoScalingGroupName"})

_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=12).filter(
    lambda s: s not in {".", ".."}
)
file_paths = st.lists(_segment, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts)) | st.lists(
    _segment, min_size=1, max_size=4
).map(lambda parts: "/var/log/" + "/".join(parts) + "*")
log_group_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/.-", min_size=1, max_size=80
)
timestamp_formats = (
    st.lists(
        st.sampled_from(sorted(TIMESTAMP_SYMBOLS)) | st.sampled_from(["-", ":", "T", " ", "/", "."]),
        min_size=1,
        max_size=10,
    )
    .filter(lambda parts: any(p.startswith("%") for p in parts))
    .map("".join)
)
log_files = st.builds(
    LogFile,
    file_path=file_paths,
    log_group_name=log_group_names,
    timestamp_format=st.none() | timestamp_formats,
    timezone=st.sampled_from(["UTC", "Local"]),
    multi_line_start_pattern=st.none() | st.sampled_from(["^\\d{4}-", "{timestamp_format}", "^\\["]),
)
unique_log_files = st.lists(log_files, max_size=8, unique_by=lambda f: f.file_path).filter(
    lambda files: agent_config.AGENT_LOG_PATH not in {f.file_path for f in files}
)
fs_types = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12), max_size=10)


def build(files: list[LogFile], **kwargs: Any) -> dict[str, Any]:
    return build_agent_config(log_files=files, agent_log_group_name="/genba/agent", **kwargs)


@settings(max_examples=200, deadline=None)
@given(files=unique_log_files, ignored=st.none() | fs_types)
def test_every_configuration_matches_the_documented_schema(files: list[LogFile], ignored: list[str] | None) -> None:
    config = build(files, **({} if ignored is None else {"ignored_file_system_types": ignored}))
    VALIDATOR.validate(config)
    assert json.loads(json.dumps(config)) == config  # plain JSON data


@settings(max_examples=100, deadline=None)
@given(files=unique_log_files)
def test_every_log_file_and_the_agent_log_go_to_one_stream_per_instance(files: list[LogFile]) -> None:
    collect = build(files)["logs"]["logs_collected"]["files"]["collect_list"]
    assert [(e["file_path"], e["log_group_name"]) for e in collect] == [
        *((f.file_path, f.log_group_name) for f in files),
        (agent_config.AGENT_LOG_PATH, "/genba/agent"),
    ]
    assert {e["log_stream_name"] for e in collect} == {"{instance_id}"}
    for entry, given_file in zip(collect, files, strict=False):
        assert entry.get("timestamp_format") == given_file.timestamp_format


@settings(max_examples=100, deadline=None)
@given(files=unique_log_files)
def test_group_alarm_metrics_are_published_with_the_group_dimension_alone(files: list[LogFile]) -> None:
    published = published_dimension_sets(build(files))
    for metric in ("disk_used_percent", "disk_inodes_free", "mem_used_percent", "swap_used_percent"):
        assert GROUP in published[("CWAgent", metric)], metric


def test_disk_metrics_are_published_per_instance_path_and_per_group() -> None:
    published = published_dimension_sets(build([]))
    assert published[("CWAgent", "disk_used_percent")] == {
        frozenset({"InstanceId", "AutoScalingGroupName", "path", "fstype"}),
        frozenset({"AutoScalingGroupName"}),
        frozenset({"AutoScalingGroupName", "path"}),
    }
    # memory has no path: only the group rollup applies.
    assert published[("CWAgent", "mem_used_percent")] == {
        frozenset({"InstanceId", "AutoScalingGroupName"}),
        frozenset({"AutoScalingGroupName"}),
    }


def test_agent_process_is_watched_by_its_executable_name() -> None:
    published = published_dimension_sets(build([]))
    assert (
        frozenset({"exe", "pid_finder", "InstanceId", "AutoScalingGroupName"})
        in published[("CWAgent", "procstat_lookup_pid_count")]
    )
    (entry,) = build([])["metrics"]["metrics_collected"]["procstat"]
    assert re.search(entry["exe"], "amazon-cloudwatch-agent")


def test_pseudo_filesystems_are_ignored_by_default() -> None:
    ignored = build([])["metrics"]["metrics_collected"]["disk"]["ignore_file_system_types"]
    assert {"tmpfs", "overlay", "devtmpfs", "squashfs", "proc", "sysfs"} <= set(ignored)
    assert not {"ext4", "xfs"} & set(ignored)


def test_efivarfs_is_ignored_so_uefi_hosts_do_not_page_forever() -> None:
    """UEFI hosts mount efivarfs (tiny, reported nearly full) at /sys/firmware/efi/efivars.

    ``ignore_file_system_types`` is the disk plugin's documented way to leave a filesystem type
    out (CloudWatch agent configuration file reference, "disk" section:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Agent-Configuration-File-Details.html).
    """
    ignored = build([])["metrics"]["metrics_collected"]["disk"]["ignore_file_system_types"]
    assert "efivarfs" in ignored
    assert not list(VALIDATOR.iter_errors(build([])))


def test_schema_rejects_what_the_agent_does_not_document() -> None:
    config = build([])
    config["metrics"]["metrics_collected"]["disk"]["measurement"].append("inodes_used_percent")
    config["metrics"]["append_dimensions"]["Hostname"] = "${aws:Hostname}"
    errors = list(VALIDATOR.iter_errors(config))
    assert len(errors) == 2


BAD_LOG_FILES = [
    ("relative path", LogFile(file_path="var/log/app.log", log_group_name="/g"), "file_path='var/log/app.log'"),
    ("log group with a space", LogFile(file_path="/a.log", log_group_name="my group"), "log_group_name='my group'"),
    (
        "strftime symbol the agent lacks",
        LogFile(file_path="/a.log", log_group_name="/g", timestamp_format="%Y-%m-%d %H:%M:%S.%L"),
        "%L",
    ),
    ("timestamp without symbols", LogFile(file_path="/a.log", log_group_name="/g", timestamp_format="ISO"), "ISO"),
    ("bad timezone", LogFile(file_path="/a.log", log_group_name="/g", timezone="JST"), "timezone='JST'"),
    (
        "bad multi-line pattern",
        LogFile(file_path="/a.log", log_group_name="/g", multi_line_start_pattern="(unclosed"),
        "multi_line_start_pattern",
    ),
]


@pytest.mark.parametrize(("problem", "log_file", "named"), BAD_LOG_FILES, ids=[c[0] for c in BAD_LOG_FILES])
def test_fails_bad_log_file_naming_the_field(problem: str, log_file: LogFile, named: str) -> None:
    with pytest.raises(AgentConfigError, match=re.escape(named)):
        build([log_file])


def test_fails_same_file_listed_twice() -> None:
    twice = [LogFile(file_path="/a.log", log_group_name="/g1"), LogFile(file_path="/a.log", log_group_name="/g2")]
    with pytest.raises(AgentConfigError, match="listed twice"):
        build(twice)


def test_fails_bad_filesystem_type_name() -> None:
    with pytest.raises(AgentConfigError, match="ignored_file_system_types"):
        build([], ignored_file_system_types=["tmp fs"])
