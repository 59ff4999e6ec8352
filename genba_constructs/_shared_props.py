"""Keyword props that several constructs take, documented once.

Each construct keeps flat keyword props in its own signature (mypy and ``@checked`` see every
one); its class docstring lists its own props, and :func:`shared_props` appends the ``:param:``
lines of the shared ones it takes, so ``help()`` shows them all and each text is written once.
The parts a construct is made of take some of those props grouped in a frozen dataclass
(``SyncTiming``, ``HostThresholds``): :func:`grouped` builds one from the props of its field names.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound=type)
P = TypeVar("P", bound="DataclassInstance")

_TEXT = {
    "alarm_factory": "makes the alarms. Default: alarms named after the stack, no actions.",
}


def shared_props(*names: str) -> Callable[[T], T]:
    """Append the ``:param name:`` lines of the shared props ``names`` to the class docstring."""
    unknown = [name for name in names if name not in _TEXT]
    if unknown:
        raise ValueError(f"shared_props: no shared text for {unknown}")

    def document(cls: T) -> T:
        lines = [f":param {name}: {_TEXT[name]}" for name in names]
        cls.__doc__ = "\n".join([inspect.cleandoc(cls.__doc__ or ""), *lines]) + "\n"
        return cls

    return document


def grouped(props: type[P], given: Mapping[str, Any]) -> P:
    """The dataclass ``props`` built from a constructor's flat keyword props of its field names.

    ``given`` is the constructor's ``locals()`` before it defines names of its own: a field the
    constructor has no prop for keeps its default. ``tests/test_grouped_props.py`` checks that each
    grouped field is a prop of the same type, so a prop cannot be renamed on one side only.
    """
    return props(**{field.name: given[field.name] for field in fields(props) if field.name in given})
