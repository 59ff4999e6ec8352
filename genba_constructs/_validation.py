"""Prop validation shared by genba's constructs.

Every check is token-aware: a value that is only known at deploy time (a CDK token)
is accepted as it is, because it cannot be checked at synth.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from typing import Any

from aws_cdk import Duration, Token


class GenbaPropsError(ValueError):
    """Raised when a construct is given props it cannot build from.

    The message names the construct, the prop and the value given.
    """


def is_unresolved(value: Any) -> bool:
    """``Token.is_unresolved(value)``, answered in Python for a string or a number.

    The answer is CDK's own rule (aws-cdk-lib core/lib/private/encoding.js ``unresolved``): a
    string is a token only if it holds ``Token[`` (then CDK's regex decides), a number only if
    its IEEE 754 bits carry CDK's token marker in the high 16 bits. Asking jsii costs a round
    trip per call, and genba asks several hundred times a synth.
    """
    if isinstance(value, str):
        return _ANY_TOKEN_MARKER in value and bool(Token.is_unresolved(value))
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        try:
            high = struct.unpack("<II", struct.pack("<d", float(value)))[1]
        except OverflowError:  # an int beyond any double: no token is
            return False
        return bool((high & 0xFFFF0000) == _DOUBLE_TOKEN_MARKER_BITS)
    return bool(Token.is_unresolved(value))


# aws-cdk-lib core/lib/private/encoding.js: ANY_TOKEN_MARKER, DOUBLE_TOKEN_MARKER_BITS (as uint32).
_ANY_TOKEN_MARKER = "Token["  # noqa: S105 - a marker, not a password
_DOUBLE_TOKEN_MARKER_BITS = 0xFBFF0000


def _is_token(value: Any) -> bool:
    return isinstance(value, str | int | float) and is_unresolved(value)


def fail(construct: str, prop: str, value: Any, problem: str) -> GenbaPropsError:
    return GenbaPropsError(f"{construct}: {prop}={value!r} {problem}")


def require_no_problems(construct: str, problems: Iterable[tuple[str, Any, str]]) -> None:
    """The first of the problems a props object lists (its ``problems()``: prop, value, problem), raised."""
    for prop, value, problem in problems:
        raise fail(construct, prop, value, problem)


def require_range(construct: str, prop: str, value: float | None, *, minimum: float, maximum: float) -> None:
    if value is None or _is_token(value):
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(construct, prop, value, "must be a number")
    if not minimum <= value <= maximum:
        raise fail(construct, prop, value, f"must be between {minimum:g} and {maximum:g}")


def require_positive_duration(construct: str, prop: str, value: Duration | None) -> None:
    if value is None:
        return
    if not isinstance(value, Duration):
        raise fail(construct, prop, value, "must be an aws_cdk.Duration")
    if value.is_unresolved():
        return
    if value.to_milliseconds() <= 0:
        raise fail(construct, prop, value.to_human_string(), "must be a positive duration")


def require_either(construct: str, existing: tuple[str, Any], overrides: Iterable[tuple[str, Any]]) -> None:
    """aws-solutions-constructs' rule: an existing resource *or* props for a new one, never both."""
    existing_name, existing_value = existing
    if existing_value is None:
        return
    given = [name for name, value in overrides if value is not None]
    if given:
        raise GenbaPropsError(
            f"{construct}: give either {existing_name} (an existing resource) or "
            f"{', '.join(given)} (props for a new one), not both"
        )


def require_regex(construct: str, prop: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise fail(construct, prop, pattern, f"is not a valid regular expression ({error})") from None


def require_name(construct: str, prop: str, value: str | None, *, pattern: str, what: str) -> None:
    if value is None or _is_token(value):
        return
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise fail(construct, prop, value, f"is not a valid {what}")


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+"
