"""How a config key is declared: ``setting()`` with a ``check=``, and the error a bad value raises.

Every section module declares its keys with these; the loader (``loader.py``) runs the checks
and the docs generator (``tools/reports/config_docs.py``) reads them back to say what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import MISSING, field
from typing import Any

from genba_constructs.retention import CLOUDWATCH_LOGS_RETENTION_DAYS


class ConfigError(Exception):
    """A configuration value genba cannot use; the message names the key and the value."""


Check = Callable[[Any], str | None]


def show(value: Any) -> str:
    """A value as a one-line message shows it: its repr, cut at 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def in_range(minimum: float, maximum: float) -> Check:
    def check(value: Any) -> str | None:
        return None if minimum <= value <= maximum else f"is out of range ({minimum:g} to {maximum:g})"

    return check


def one_of(allowed: Iterable[Any], what: str) -> Check:
    allowed = tuple(allowed)

    def check(value: Any) -> str | None:
        return None if value in allowed else f"is not {what} ({', '.join(str(a) for a in allowed)})"

    return check


def matches(pattern: str, what: str) -> Check:
    # ASCII: AWS names, ids and regions are ASCII; without it \d and \w accept Unicode digits
    # and letters ('\u0661' is a \d) that AWS rejects at deploy.
    compiled = re.compile(pattern, re.ASCII)

    def check(value: Any) -> str | None:
        if isinstance(value, tuple):
            bad = [item for item in value if not compiled.fullmatch(item)]
            return f"contains {show(bad[0])}, not {what}" if bad else None
        return None if compiled.fullmatch(value) else f"is not {what}"

    return check


def setting(default: Any = MISSING, *, check: Check | None = None) -> Any:
    """A config key: required when it has no default; ``check`` limits its values."""
    metadata = {"check": check} if check else {}
    return field(default=default, metadata=metadata)


RETENTION = one_of(CLOUDWATCH_LOGS_RETENTION_DAYS, "a retention CloudWatch Logs offers")
PERCENT = in_range(0, 100)
