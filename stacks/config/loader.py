"""Reading the ``genba`` context into the section dataclasses: limits, types, checks, rules.

Each section is a frozen dataclass: its type hints say what a key must hold, ``check=`` says
what values are allowed, and ``problems()`` checks keys against each other. The first bad
value stops synth with one line naming the key and the value.
"""

from __future__ import annotations

import dataclasses
import re
import types
import unicodedata
from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from stacks.config.environment import EnvironmentConfig
from stacks.config.settings import ConfigError, show

CONTEXT_KEY = "genba"
ENVIRONMENT_SELECTOR = "env"  # cdk synth -c env=prod (comma-separated); default: every environment

# Limits of the raw context, checked before anything reaches jsii: a context nested thousands
# deep exhausted node's heap before the loader ran. genba's own sections are 4 levels deep.
MAX_CONTEXT_DEPTH = 12
MAX_CONTEXT_VALUES = 20_000
MAX_STRING_LENGTH = 2_048


def _type_name_without_null(hint: Any) -> str:
    if get_origin(hint) in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(hint) if a is not type(None))
    return _type_name(hint)


def _key(key: Any) -> str:
    """A key as it goes into a one-line message: as it is when plain, else quoted (a newline shows as \\n)."""
    return key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key) else repr(key)


def check_raw_context(raw: Any, path: str = CONTEXT_KEY) -> None:
    """Limits of a raw (JSON) context value, checked iteratively before it is parsed or passed to jsii.

    :raises ConfigError: naming the first place nested deeper than ``MAX_CONTEXT_DEPTH``, a
        context of more than ``MAX_CONTEXT_VALUES`` values, a string longer than
        ``MAX_STRING_LENGTH``, a key that is not a string, or a value JSON cannot hold.
    """
    pending: list[tuple[Any, str, int]] = [(raw, path, 1)]
    seen = 0
    while pending:
        value, where, depth = pending.pop()
        seen += 1
        if seen > MAX_CONTEXT_VALUES:
            raise ConfigError(f"{path}: more than {MAX_CONTEXT_VALUES} values; genba's configuration is far smaller")
        if depth > MAX_CONTEXT_DEPTH:
            raise ConfigError(f"{where}: nested deeper than {MAX_CONTEXT_DEPTH} levels")
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ConfigError(f"{where}: key {show(key)} is not a string")
                pending.append((item, f"{where}.{_key(key)}", depth + 1))
        elif isinstance(value, list | tuple):
            pending.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            if len(value) > MAX_STRING_LENGTH:
                raise ConfigError(f"{where}: a string of {len(value)} characters (at most {MAX_STRING_LENGTH})")
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ConfigError(f"{where}: {show(value)} is not a number JSON can hold")
        elif value is not None and not isinstance(value, bool | int):
            raise ConfigError(f"{where}: {show(value)} is not a JSON value")


def _type_name(hint: Any) -> str:
    if hint is type(None):
        return "null"
    origin = get_origin(hint)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(hint))
    if origin is tuple:
        return f"a list of {_type_name(get_args(hint)[0])}"
    if dataclasses.is_dataclass(hint):
        return "an object"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(hint, str(hint))


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = get_origin(hint)
    if value is None:
        # jsii drops null keys before the app sees them, so a null would silently become the
        # default (prod's `production: null` deployed deletable data): never read it as one.
        raise ConfigError(
            f"{path}: null is not a value here; give {_type_name_without_null(hint)} or leave the key out"
        )
    wrong = ConfigError(f"{path}: expected {_type_name(hint)}, got {show(value)}")
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        given = [option for option in options if option is not type(None)]
        if len(given) == 1:  # an optional setting that is set: report its own problem, not "or null"
            return _convert(given[0], value, path)
        for option in options:
            if option is type(None):
                continue
            if dataclasses.is_dataclass(option) and isinstance(value, Mapping):
                return _convert(option, value, path)  # an optional section: its own errors name the key
            try:
                return _convert(option, value, path)
            except ConfigError:
                continue
        raise wrong
    if origin is Literal:
        if value in get_args(hint) and not isinstance(value, bool):
            return value
        raise wrong
    if origin is tuple:
        if not isinstance(value, list):
            raise wrong
        return tuple(_convert(get_args(hint)[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        return _parse_section(hint, value, path)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise wrong
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise wrong
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            return float(value)
        raise wrong
    if hint is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: expected a non-empty string, got {show(value)}")
        bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn")), None)
        if bad is not None:
            raise ConfigError(f"{path}: {show(value)} contains the control or invisible character U+{ord(bad):04X}")
        return value
    raise ConfigError(f"{path}: genba cannot read a setting of type {hint}")  # a bug in a section


def _parse_section(cls: Any, raw: Any, path: str, **given: Any) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected an object, got {show(raw)}")
    hints = get_type_hints(cls)
    settings = [f for f in dataclasses.fields(cls) if not f.metadata.get("from_key")]
    known = {f.name for f in settings}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{path}.{_key(key)}: unknown key (known keys: {', '.join(sorted(known))})")
    values = dict(given)
    for f in settings:
        key_path = f"{path}.{f.name}"
        if f.name not in raw:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(f"{key_path}: missing; it is required")
            continue
        value = _convert(hints[f.name], raw[f.name], key_path)
        check = f.metadata.get("check")
        if check is not None and value is not None:
            problem = check(value)
            if problem:
                raise ConfigError(f"{key_path}: {show(raw[f.name])} {problem}")
        values[f.name] = value
    section = cls(**values)
    problems = getattr(section, "problems", None)
    for key, value, problem in problems() if problems else ():
        raise ConfigError(f"{path}.{key}: {show(value)} {problem}")
    return section


def load_environments(context: Mapping[str, Any]) -> list[EnvironmentConfig]:
    """Parse the ``genba`` context into environment configs (those selected with ``-c env=``)."""
    if CONTEXT_KEY not in context:
        raise ConfigError(f"cdk.json context: {CONTEXT_KEY!r} is missing")
    genba = context.get(CONTEXT_KEY)
    check_raw_context(genba)
    check_raw_context(context.get(ENVIRONMENT_SELECTOR), ENVIRONMENT_SELECTOR)
    if not isinstance(genba, Mapping) or set(genba) != {"environments"}:
        raise ConfigError(f"{CONTEXT_KEY}: expected an object with the one key 'environments', got {show(genba)}")
    raw_envs = genba["environments"]
    if not isinstance(raw_envs, Mapping) or not raw_envs:
        raise ConfigError(f"{CONTEXT_KEY}.environments: expected an object of environments, got {show(raw_envs)}")
    environments: dict[str, EnvironmentConfig] = {}
    for name, raw in raw_envs.items():
        path = f"{CONTEXT_KEY}.environments.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9]{0,15}", name):
            raise ConfigError(f"{path}: environment name {name!r} must be 1-16 lower-case letters and digits")
        environments[name] = _parse_section(EnvironmentConfig, raw, path, name=name)

    selector = context.get(ENVIRONMENT_SELECTOR)
    if selector is None:
        return list(environments.values())
    if not isinstance(selector, str) or not selector.strip():
        raise ConfigError(f"-c {ENVIRONMENT_SELECTOR}={show(selector)}: expected environment names, comma-separated")
    selected = []
    for name in (part.strip() for part in selector.split(",")):
        if name not in environments:
            raise ConfigError(
                f"-c {ENVIRONMENT_SELECTOR}: unknown environment {name!r} (configured: {', '.join(environments)})"
            )
        selected.append(environments[name])
    return selected
