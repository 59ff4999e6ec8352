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
from tests.conftest import ROOT, cdk_json_context, load_json


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


# Each case: what is wrong, the dotted path below genba.environments set to a cdk.json value (no
# "value": the key removed; no path: an unknown environment selected), and the words the one-line
# message must contain. In JSON, because every bad value is one a cdk.json could hold.
BAD_CONFIGS: list[dict[str, Any]] = load_json(ROOT / "tests" / "data" / "bad_configs.json")


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=[case["problem"] for case in BAD_CONFIGS])
def test_fails_bad_config_with_one_clear_line(context: dict[str, Any], case: dict[str, Any]) -> None:
    path = case["path"]
    bad = {**context, "env": "qa"} if path is None else with_change(context, path, case.get("value", ...))
    with pytest.raises(ConfigError) as raised:
        load_environments(bad)
    message = str(raised.value)
    assert "\n" not in message
    for words in case["message_has"]:
        assert words in message, f"{case['problem']}: {words!r} not in {message!r}"


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
