"""Typed, validated per-environment configuration, read from cdk.json context.

Only ``app.py`` calls :func:`load_environments`; everything else receives the frozen
objects it returns. The parts:

* ``settings``: how a key is declared (``setting(default, check=...)``) and ``ConfigError``;
* one module per section (``logs``, ``sync``, ``hosts``, ``search``, ``web``) and
  ``environment``, which holds them. A section builds the typed props object its construct
  checks (``ArchiveLifecycle``, ``SyncTiming``, ``HostThresholds``, ``SearchSizing``,
  ``WebTierThresholds``), so each rule is written once, in the construct. Where the construct
  takes those props flat, the section also gives them as a ``TypedDict`` (``ArchiveLifecycleProps``,
  ``SyncTimingProps``, ``HostThresholdProps``) that the stack passes on with ``**``: the config
  keys are mapped to the props in that one place, and mypy checks every key against the
  construct's signature;
* ``loader``: the raw context's limits, the type conversion and ``load_environments``.

Everything is importable from ``stacks.config`` itself.
"""

from stacks.config.environment import CostConfig, EnvironmentConfig
from stacks.config.hosts import SHARED_INSTANCE_ROLES, HostLogFileConfig, HostsConfig, HostThresholdProps
from stacks.config.loader import (
    CONTEXT_KEY,
    ENVIRONMENT_SELECTOR,
    MAX_CONTEXT_DEPTH,
    MAX_CONTEXT_VALUES,
    MAX_STRING_LENGTH,
    _parse_section,
    check_raw_context,
    load_environments,
)
from stacks.config.logs import ArchiveLifecycleProps, LoggingConfig
from stacks.config.search import SearchConfig
from stacks.config.settings import PERCENT, RETENTION, Check, ConfigError, in_range, matches, one_of, setting
from stacks.config.sync import TABLE_NAME, SyncConfig, SyncTimingProps
from stacks.config.web import WebConfig, WebTargetGroupConfig

__all__ = [
    "CONTEXT_KEY",
    "ENVIRONMENT_SELECTOR",
    "MAX_CONTEXT_DEPTH",
    "MAX_CONTEXT_VALUES",
    "MAX_STRING_LENGTH",
    "PERCENT",
    "RETENTION",
    "SHARED_INSTANCE_ROLES",
    "TABLE_NAME",
    "ArchiveLifecycleProps",
    "Check",
    "ConfigError",
    "CostConfig",
    "EnvironmentConfig",
    "HostLogFileConfig",
    "HostThresholdProps",
    "HostsConfig",
    "LoggingConfig",
    "SearchConfig",
    "SyncConfig",
    "SyncTimingProps",
    "WebConfig",
    "WebTargetGroupConfig",
    "_parse_section",
    "check_raw_context",
    "in_range",
    "load_environments",
    "matches",
    "one_of",
    "setting",
]
