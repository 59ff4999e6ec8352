"""The raw context before the loader: nulls, depth, size, characters, random JSON structures.

jsii drops keys whose value is null from the context before ``node.try_get_context`` returns
it (aws-cdk-lib ``App.loadContext`` sets each key with ``node.setContext``; a null is no
value), so a ``production: null`` would be read as the default ``false``. genba reads the raw
context itself (app.raw_context) and rejects every null.
"""

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

from app import build_app, raw_context
from stacks.config import MAX_CONTEXT_DEPTH, ConfigError, load_environments
from tests.conftest import ROOT, cdk_json_context


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    return {"genba": cdk_json_context()["genba"]}


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in _leaf_paths(value, (*path, key))] or [path]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in _leaf_paths(value, (*path, i))] or [path]
    return [path]


def _every_path(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and list item under ``node``, sections included."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_every_path(value, (*path, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_every_path(value, (*path, i)))
    return found


def _set(context: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(context)
    node: Any = changed["genba"]["environments"]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def _dotted(path: tuple[Any, ...]) -> str:
    text = "genba.environments"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def test_every_null_is_an_error_naming_its_key(context: dict[str, Any]) -> None:
    """A null anywhere - a value, a list item or a whole section - is an error, never the default."""
    paths = _every_path(context["genba"]["environments"])
    assert len(paths) > 50
    for path in paths:
        with pytest.raises(ConfigError) as raised:
            load_environments(_set(context, path, None))
        message = str(raised.value)
        assert "\n" not in message
        assert message.startswith(_dotted(path)), (path, message)


def test_fails_production_null_with_allow_destroy_instead_of_deleting_prod(context: dict[str, Any]) -> None:
    """The reported case: `production: null` + `allow_destroy: true` synthesized prod as deletable."""
    bad = _set(_set(context, ("prod", "production"), None), ("prod", "allow_destroy"), True)
    with pytest.raises(ConfigError, match=r"^genba\.environments\.prod\.production: null is not a value"):
        build_app(bad)


def test_fails_null_passed_by_the_cdk_cli_with_exit_2(tmp_path: Any) -> None:
    """The CLI path: the context arrives in CDK_CONTEXT_JSON with its nulls; app.py reads it itself."""
    bad = cdk_json_context()
    bad["genba"]["environments"]["prod"]["production"] = None
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(bad), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py")], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "genba: configuration error: genba.environments.prod.production: null is not a value here; "
        "give true or false or leave the key out"
    ]


def test_cli_context_wins_over_the_apps_own_like_aws_cdk_lib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_CONTEXT_JSON", json.dumps({"env": "prod"}))
    assert raw_context({"env": "dev", "genba": {}}) == {"env": "prod", "genba": {}}


@pytest.mark.parametrize("depth", [MAX_CONTEXT_DEPTH + 1, 200_000])
def test_fails_deep_nesting_before_jsii_with_one_line(context: dict[str, Any], depth: int) -> None:
    """200,000 levels exhausted node's heap before the loader ran; now it stops in Python first."""
    nested: Any = 1
    for _ in range(depth):
        nested = [nested]
    with pytest.raises(ConfigError, match="nested deeper than"):
        build_app(_set(context, ("dev", "owner"), nested))


def test_fails_deep_nesting_in_cli_json_that_python_cannot_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_CONTEXT_JSON", '{"genba": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ConfigError, match="CDK_CONTEXT_JSON: nested too deep"):
        raw_context(None)


def test_fails_huge_context(context: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="more than"):
        load_environments(_set(context, ("dev", "owner"), list(range(50_000))))


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("prod", "account"), "\u0661" * 12, "12-digit AWS account id"),  # ARABIC-INDIC DIGIT ONE passes \d
        (("prod", "region"), "eu-west-\u0662", "AWS region name"),
        (("prod", "owner"), "platform\nteam", "U+000A"),
        (("prod", "owner"), "platform\u202eteam", "U+202E"),  # a bidi override hides text in the console
        (("prod", "owner"), "x" * 5_000, "a string of 5000 characters"),
        (("prod", "alarm_emails"), [], "needs an alarm recipient"),
        (("prod", "alarm_emails"), ["ops@example.com", "ops@example.com"], "listed twice"),
    ],
)
def test_fails_values_aws_rejects_or_hides(
    context: dict[str, Any], path: tuple[Any, ...], value: Any, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_environments(_set(context, path, value))
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), value=_JSON)
def test_random_json_of_another_kind_is_always_a_config_error(
    context: dict[str, Any], data: st.DataObject, value: Any
) -> None:
    """Any JSON structure where the config holds a value of another JSON kind is refused, in one line.

    (A value of the same kind may be valid; the leaf-value property test in test_config.py covers
    those.) 0 tracebacks, 0 accepted.
    """
    paths = _every_path(context["genba"]["environments"])
    node: Any = context["genba"]["environments"]
    path = data.draw(st.sampled_from(paths))
    for part in path:
        node = node[part]
    if _kind(node) == _kind(value) or (isinstance(node, float) and isinstance(value, int)):
        return
    with pytest.raises(ConfigError) as raised:
        load_environments(_set(context, path, value))
    assert "\n" not in str(raised.value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), key=st.text(min_size=1, max_size=10), value=_JSON)
def test_random_unknown_keys_are_refused(context: dict[str, Any], data: st.DataObject, key: str, value: Any) -> None:
    sections = [p for p in _every_path(context["genba"]["environments"]) if isinstance(_get(context, p), dict)]
    section = data.draw(st.sampled_from(sections))
    if key in _get(context, section):
        return
    with pytest.raises(ConfigError) as raised:
        load_environments(_set(context, (*section, key), value))
    assert "\n" not in str(raised.value)


def _get(context: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = context["genba"]["environments"]
    for part in path:
        node = node[part]
    return node
