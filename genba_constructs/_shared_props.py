"""Keyword props that several constructs take, documented once.

Each construct keeps flat keyword props in its own signature (mypy and ``@checked`` see every
one); its class docstring lists its own props, and :func:`shared_props` appends the ``:param:``
lines of the shared ones it takes, so ``help()`` shows them all and each text is written once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=type)

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
