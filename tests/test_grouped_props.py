"""The props a constructor groups with ``_shared_props.grouped`` are its own props, field by field.

``grouped(SyncTiming, locals())`` takes each field from the prop of its name: a prop renamed or
retyped on one side only would silently fall back to the field's default, so this checks the
names and the types once for every grouping (a prop may be narrower: ``subject: str`` fills
``subject: str | None``; or optional, where None keeps the field's default: ArchiveLifecycle.of).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import MISSING, fields
from typing import Any, get_args, get_type_hints

import pytest

from genba_constructs import AlarmFactory, HostMonitoring, LogArchive, SyncVerification
from genba_constructs.alarms import AlarmSpec
from genba_constructs.host_monitoring.thresholds import HostThresholds
from genba_constructs.log_archive.lifecycle import ArchiveLifecycle
from genba_constructs.sync_verification._functions import StreamProps
from genba_constructs.sync_verification.timing import SyncTiming

# (constructor, the dataclass it groups props into, fields it leaves to their default)
GROUPINGS: list[tuple[Callable[..., Any], type, set[str]]] = [
    (SyncVerification.__init__, SyncTiming, set()),
    (SyncVerification.__init__, StreamProps, set()),
    (HostMonitoring.__init__, HostThresholds, set()),
    (AlarmFactory.create, AlarmSpec, {"group"}),
    (LogArchive.__init__, ArchiveLifecycle, set()),
]


def _fills(prop_type: Any, field_type: Any) -> bool:
    """A value of ``prop_type`` (None aside: it keeps the default) is a value of ``field_type``."""
    given = tuple(t for t in get_args(prop_type) if t is not type(None)) or (prop_type,)
    accepted = (field_type, *get_args(field_type))
    return prop_type == field_type or all(t in accepted for t in given)


@pytest.mark.parametrize(
    ("constructor", "props", "defaulted"),
    GROUPINGS,
    ids=[f"{c.__qualname__}-{p.__name__}" for c, p, _ in GROUPINGS],
)
def test_every_grouped_field_is_a_prop_of_the_same_type(
    constructor: Callable[..., Any], props: type, defaulted: set[str]
) -> None:
    function = inspect.unwrap(constructor)
    parameters = inspect.signature(function).parameters
    prop_types = get_type_hints(function)
    field_types = get_type_hints(props)
    for field in fields(props):
        if field.name in defaulted:
            assert field.name not in parameters
            assert field.default is not MISSING or field.default_factory is not MISSING
            continue
        assert field.name in parameters, f"{props.__name__}.{field.name} is no prop of {constructor.__qualname__}"
        prop_type, field_type = prop_types[field.name], field_types[field.name]
        assert _fills(prop_type, field_type), (
            f"{constructor.__qualname__}({field.name}: {prop_type}) "
            f"groups into {props.__name__}.{field.name}: {field_type}"
        )
