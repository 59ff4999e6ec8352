"""cdk.json context -> typed environment config; every bad value stops synth with one clear line."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.config import ConfigError, EnvironmentConfig, load_environments
from tests.conftest import ROOT, cdk_json_context


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    return {"genba": cdk_json_context()["genba"]}


def with_change(context: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the context with the dotted ``path`` set to ``value`` (or removed, for ...)."""
    changed = copy.deepcopy(context)
    *parents, last = path.split(".")
    node = changed["genba"]["environments"]
    for part in parents:
        node = node.setdefault(part, {})
    if value is ...:
        node.pop(last, None)
    else:
        node[last] = value
    return changed


def test_every_configured_environment_parses(context: dict[str, Any]) -> None:
    environments = load_environments(context)
    assert [env.name for env in environments] == ["dev", "stg", "prod"]
    assert all(isinstance(env, EnvironmentConfig) for env in environments)


def test_config_objects_are_frozen(context: dict[str, Any]) -> None:
    prod = load_environments(context)[-1]
    with pytest.raises(AttributeError):
        prod.allow_destroy = True  # type: ignore[misc]


def test_only_dev_may_destroy_stateful_resources(context: dict[str, Any]) -> None:
    by_name = {env.name: env for env in load_environments(context)}
    assert by_name["dev"].allow_destroy and not by_name["stg"].allow_destroy
    assert by_name["prod"].production and not by_name["prod"].allow_destroy


def test_environment_selector_picks_environments(context: dict[str, Any]) -> None:
    selected = load_environments({**context, "env": "prod,dev"})
    assert [env.name for env in selected] == ["prod", "dev"]


BAD_CONFIGS = [
    # (what is wrong, dotted path, value, words the message must contain)
    ("unknown environment selected", None, None, ["unknown environment 'qa'", "dev, stg, prod"]),
    ("missing required key", "stg.region", ..., ["genba.environments.stg.region", "missing"]),
    ("wrong type", "dev.allow_destroy", "yes", ["genba.environments.dev.allow_destroy", "'yes'", "true or false"]),
    ("unknown key (typo)", "prod.alarm_email", ["a@example.com"], ["prod.alarm_email", "unknown key"]),
    (
        "retention CloudWatch does not offer",
        "prod.logging.application_log_retention_days",
        100,
        ["application_log_retention_days", "100", "retention CloudWatch Logs offers"],
    ),
    ("malformed e-mail", "stg.alarm_emails", ["oncall-at-example.com"], ["alarm_emails", "'oncall-at-example.com'"]),
    (
        "threshold out of range",
        "dev.logging.error_lines_warning_per_5min",
        0,
        ["error_lines_warning_per_5min", "0", "out of range"],
    ),
    ("destroy allowed in prod", "prod.allow_destroy", True, ["prod.allow_destroy", "production"]),
    ("malformed account id", "prod.account", "12345", ["prod.account", "'12345'", "12-digit"]),
    ("malformed region", "dev.region", "tokyo", ["dev.region", "'tokyo'", "AWS region"]),
    (
        "warning above critical",
        "stg.logging.error_lines_warning_per_5min",
        500,
        ["error_lines_warning_per_5min", "500", "above error_lines_critical_per_5min"],
    ),
    ("section of the wrong type", "dev.logging", [], ["dev.logging", "expected an object"]),
    (
        "search instance type without Multi-AZ with Standby",
        "prod.search.instance_type",
        "t3.medium.search",
        ["genba.environments.prod.search.instance_type", "'t3.medium.search'", "Multi-AZ with Standby"],
    ),
    (
        "even number of dedicated masters",
        "prod.search.master_nodes",
        4,
        ["genba.environments.prod.search.master_nodes", "4", "even"],
    ),
    (
        "zone awareness with too few nodes",
        "prod.search.data_nodes",
        2,
        ["genba.environments.prod.search.data_nodes", "2", "multiple of availability_zones (3)"],
    ),
    (
        "standby without three zones",
        "stg.search.multi_az_with_standby",
        True,
        ["genba.environments.stg.search.availability_zones", "must be 3 with multi_az_with_standby"],
    ),
    (
        "masters without an instance type",
        "dev.search.master_nodes",
        3,
        ["genba.environments.dev.search.master_instance_type", "required with master_nodes=3"],
    ),
    ("zone count OpenSearch does not offer", "prod.search.availability_zones", 4, ["availability_zones", "4"]),
    ("e-mails not a list", "dev.alarm_emails", "a@example.com", ["alarm_emails", "a list of"]),
    ("bool where a number belongs", "prod.logging.archive_object_lock_days", True, ["archive_object_lock_days"]),
    (
        "host disk warning above critical",
        "prod.hosts.disk_used_warning_percent",
        95,
        ["hosts.disk_used_warning_percent", "95", "above disk_used_critical_percent (85)"],
    ),
    ("host disk threshold of 100", "stg.hosts.disk_used_critical_percent", 100, ["disk_used_critical_percent", "100"]),
    (
        "host inode warning below critical",
        "dev.hosts.inodes_free_warning",
        5,
        ["hosts.inodes_free_warning", "5", "below inodes_free_critical"],
    ),
    (
        "empty Auto Scaling group name",
        "dev.hosts.auto_scaling_group_name",
        "",
        ["auto_scaling_group_name", "non-empty"],
    ),
    (
        "missing Auto Scaling group name",
        "stg.hosts.auto_scaling_group_name",
        ...,
        ["auto_scaling_group_name", "missing"],
    ),
    ("target tag key without value", "dev.hosts.target_tag_key", "Name", ["target_tag_key", "together"]),
    (
        "log file to an unknown log group",
        "dev.hosts.log_files",
        [{"file_path": "/var/log/x.log", "log_group": "debug"}],
        ["hosts.log_files[0].log_group", "'debug'"],
    ),
    (
        "relative log file path",
        "dev.hosts.log_files",
        [{"file_path": "x.log", "log_group": "audit"}],
        ["log_files[0].file_path", "absolute path"],
    ),
    ("schedule below SSM's minimum", "prod.hosts.reapply_every_minutes", 10, ["reapply_every_minutes", "10"]),
    (
        "timestamp format the agent cannot read",
        "prod.hosts.log_files",
        [{"file_path": "/var/log/x.log", "log_group": "audit", "timestamp_format": "%s"}],
        ["log_files[0].timestamp_format", "'%s'", "does not understand"],
    ),
    (
        "archive kept shorter than CloudWatch keeps logs",
        "prod.logging.audit_log_retention_days",
        3653,
        ["audit_log_retention_days", "3653", "longer than archive_expire_after_days"],
    ),
    (
        "object lock mode genba does not know",
        "prod.logging.archive_object_lock_mode",
        "legal-hold",
        ["archive_object_lock_mode", "'legal-hold'"],
    ),
    (
        "noncurrent versions kept for no day",
        "stg.logging.archive_noncurrent_versions_expire_after_days",
        0,
        ["archive_noncurrent_versions_expire_after_days", "0", "out of range"],
    ),
    (
        "Athena results kept for no day",
        "dev.logging.athena_results_expire_after_days",
        0,
        ["athena_results_expire_after_days", "0", "out of range"],
    ),
    ("CloudTrail switch not a bool", "prod.logging.cloudtrail_enabled", "no", ["cloudtrail_enabled", "true or false"]),
    ("sync lag below the grace period", "dev.sync.max_sync_lag_hours", 0, ["sync.max_sync_lag_hours", "out of range"]),
    (
        "sync lag objective beyond the maximum lag",
        "stg.sync.lag_slo_minutes",
        1500,
        ["sync.lag_slo_minutes", "1500", "shorter than max_sync_lag_hours"],
    ),
    ("sync grace period beyond SQS's delay", "prod.sync.grace_period_seconds", 901, ["grace_period_seconds", "901"]),
    (
        "sync canary alarm shorter than two canaries",
        "prod.sync.canary_silent_minutes",
        5,
        ["sync.canary_silent_minutes", "2 x canary_interval_minutes"],
    ),
    ("sync receives too few to reach the max lag", "stg.sync.max_receives", 5, ["sync.max_receives", "too small"]),
    (
        "existing sync table without its stream",
        "prod.sync.source_stream_label",
        ...,
        ["sync.source_stream_label", "required when create_tables is false"],
    ),
    ("sync parallelization beyond 10", "stg.sync.parallelization_factor", 11, ["parallelization_factor", "11"]),
]


@pytest.mark.parametrize(("problem", "path", "value", "expected"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_fails_bad_config_with_one_clear_line(
    context: dict[str, Any], problem: str, path: str | None, value: Any, expected: list[str]
) -> None:
    bad = {**context, "env": "qa"} if path is None else with_change(context, path, value)
    with pytest.raises(ConfigError) as raised:
        load_environments(bad)
    message = str(raised.value)
    assert "\n" not in message
    for words in expected:
        assert words in message, f"{problem}: {words!r} not in {message!r}"


def test_search_sizing_per_environment(context: dict[str, Any]) -> None:
    by_name = {env.name: env.search for env in load_environments(context)}
    assert by_name["dev"].data_nodes == 1 and by_name["dev"].availability_zones == 1
    assert not by_name["dev"].multi_az_with_standby
    prod = by_name["prod"]
    assert (prod.availability_zones, prod.master_nodes, prod.multi_az_with_standby) == (3, 3, True)
    assert prod.data_nodes % prod.availability_zones == 0


def test_fails_when_genba_context_is_missing() -> None:
    with pytest.raises(ConfigError, match="'genba' is missing"):
        load_environments({})


def _setting_paths(context: dict[str, Any]) -> list[str]:
    paths = []
    for env, raw in context["genba"]["environments"].items():
        for key, value in raw.items():
            if isinstance(value, dict):
                paths.extend(f"{env}.{key}.{sub}" for sub in value)
            else:
                paths.append(f"{env}.{key}")
    return paths


_BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.lists(st.one_of(st.integers(), st.text(max_size=10), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), value=_BAD_VALUES)
def test_random_values_give_a_config_error_never_a_traceback(
    context: dict[str, Any], data: st.DataObject, value: Any
) -> None:
    path = data.draw(st.sampled_from([*_setting_paths(context), "dev.new_key", "prod.logging.new_key"]))
    try:
        load_environments(with_change(context, path, value))
    except ConfigError as error:
        assert "\n" not in str(error)
        assert path.split(".")[-1] in str(error) or "genba.environments" in str(error)


def _run_app(context: dict[str, Any], outdir: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": outdir}
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py")], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_fails_bad_config_from_the_command_line_with_exit_2_and_no_traceback(tmp_path: Any) -> None:
    bad = cdk_json_context()
    bad["genba"]["environments"]["prod"]["logging"]["audit_log_retention_days"] = 42
    result = _run_app(bad, str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "genba: configuration error: genba.environments.prod.logging.audit_log_retention_days: 42 "
        "is not a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, "
        "545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)"
    ]


def test_fails_bad_search_sizing_from_the_command_line_before_synth(tmp_path: Any) -> None:
    bad = cdk_json_context()
    bad["genba"]["environments"]["prod"]["search"]["master_nodes"] = 2
    result = _run_app(bad, str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "genba: configuration error: genba.environments.prod.search.master_nodes: 2 is even: "
        "dedicated masters need an odd number to keep a quorum (use 3 or 5)"
    )
    assert not (tmp_path / "manifest.json").exists()
