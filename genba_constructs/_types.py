"""Types of props checked up front: a wrong type is one line naming construct, prop and value.

Without it a ``str`` where a ``Duration`` goes ends in an AttributeError from inside genba,
a dict where a sizing object goes in a 31-line typeguard error from jsii, and a wrong object
passed on to aws-cdk-lib in a jsii resolution error at ``app.synth()``. ``@checked`` reads
the type hints of a public constructor or method and checks every argument given against
them before the body runs.

jsii interfaces (``logs.ILogGroup``, ``kms.IKey``) are typing Protocols that ``isinstance``
refuses; an object implements one when its class (or, for an imported resource, its
dynamic proxy's delegates) declares the interface's jsii type.

Where a user would reasonably pass a genba object for the CDK one it wraps (a
``ServiceLogGroup`` where a log group goes), :func:`register_coercion` lets the genba type
stand in: ``@checked`` hands the method the wrapped object.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from genba_constructs._validation import GenbaPropsError

F = TypeVar("F", bound=Callable[..., Any])

# (genba type, CDK type it stands in for, how to get the CDK object)
_COERCIONS: list[tuple[type, Any, Callable[[Any], Any]]] = []

# Arguments every construct takes from CDK itself, checked by jsii when they are used.
_SKIPPED = {"self", "scope", "id"}


def register_coercion(source: type, target: Any, convert: Callable[[Any], Any]) -> None:
    """Let an instance of ``source`` be passed where ``target`` is expected (``convert`` gives the target)."""
    _COERCIONS.append((source, target, convert))


def _jsii_types(value: Any) -> set[str]:
    delegates = getattr(value, "_delegates", None)
    objects = list(delegates) if type(value).__name__ == "InterfaceDynamicProxy" and delegates else [value]
    found: set[str] = set()
    for obj in objects:
        for klass in type(obj).__mro__:
            own = getattr(klass, "__jsii_type__", None)
            if isinstance(own, str):
                found.add(own)
            for iface in getattr(klass, "__jsii_ifaces__", None) or ():
                found.update(
                    k.__jsii_type__ for k in iface.__mro__ if isinstance(getattr(k, "__jsii_type__", None), str)
                )
    return found


def _is_jsii_interface(hint: Any) -> bool:
    return isinstance(hint, type) and getattr(hint, "_is_protocol", False) and hasattr(hint, "__jsii_type__")


def describe(hint: Any) -> str:
    """A type as a user reads it: ``aws_cdk.Duration``, ``a list of str``, ``'a' or 'b'``."""
    origin = get_origin(hint)
    if hint is None or hint is type(None):
        return "None"
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in get_args(hint))
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(hint))
    if origin in (list, tuple, Sequence, Iterable):
        args = [a for a in get_args(hint) if a is not Ellipsis]
        if origin is tuple and len(args) > 1 and Ellipsis not in get_args(hint):
            return f"a tuple of ({', '.join(describe(a) for a in args)})"
        return f"a sequence of {describe(args[0])}" if args else "a sequence"
    if origin in (dict, Mapping):
        key, val = get_args(hint) or (Any, Any)
        return f"a mapping of {describe(key)} to {describe(val)}"
    if hint is Any:
        return "any value"
    if isinstance(hint, type):
        module = hint.__module__
        if module.startswith("aws_cdk") or module.startswith("genba_constructs"):
            public = module.split("._")[0]
            return f"{public}.{hint.__qualname__}"
        return hint.__name__
    return str(hint)


def matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` (containers checked item by item)."""
    origin = get_origin(hint)
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    if origin in (Union, types.UnionType):
        return any(matches(value, option) for option in get_args(hint))
    if origin is Literal:
        return any(value == option and type(value) is type(option) for option in get_args(hint))
    if origin in (list, tuple, Sequence, Iterable, set, frozenset) or (
        origin is not None and isinstance(origin, type) and issubclass(origin, Iterable) and origin is not str
    ):
        if isinstance(value, str | bytes | Mapping) and origin not in (Mapping, dict):
            return False
        if origin in (dict, Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping)):
            if not isinstance(value, Mapping):
                return False
            key_hint, value_hint = get_args(hint) or (Any, Any)
            return all(matches(k, key_hint) and matches(v, value_hint) for k, v in value.items())
        if not isinstance(value, Iterable):
            return False
        args = [a for a in get_args(hint) if a is not Ellipsis]
        if origin is tuple and len(args) > 1 and Ellipsis not in get_args(hint):
            return isinstance(value, tuple) and len(value) == len(args) and all(map(matches, value, args))
        return not args or all(matches(item, args[0]) for item in value)
    if _is_jsii_interface(hint):
        return hint.__jsii_type__ in _jsii_types(value)
    if isinstance(hint, type) and hasattr(hint, "__jsii_struct_bases__") and isinstance(value, Mapping):
        return True  # jsii accepts a dict for a struct and checks its keys itself
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # a hint genba does not check (a TypeVar, a callable signature): jsii checks it


def _coerce(value: Any, hint: Any) -> tuple[bool, Any]:
    # The target type documents the intent; whether the converted object fits is the hint's call.
    for source, _target, convert in _COERCIONS:
        if isinstance(value, source) and matches(converted := convert(value), hint):
            return True, converted
    return False, value


def checked(function: F) -> F:
    """Check every argument given to ``function`` against its type hints before it runs.

    :raises GenbaPropsError: ``<Owner>: <prop>=<value> must be <type>`` for the first wrong one.
    """
    signature = inspect.signature(function)
    owner = function.__qualname__.removesuffix(".__init__")
    hints: dict[str, Any] | None = None

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal hints
        if hints is None:
            hints = get_type_hints(function)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise GenbaPropsError(f"{owner}: {error}") from None
        for name, value in list(bound.arguments.items()):
            hint = hints.get(name)
            if name in _SKIPPED or hint is None:
                continue
            parameter = signature.parameters[name]
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                items = [_check(owner, f"{name}[{i}]", item, hint) for i, item in enumerate(value)]
                bound.arguments[name] = tuple(items)
            elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
                continue
            else:
                bound.arguments[name] = _check(owner, name, value, hint)
        try:
            return function(*bound.args, **bound.kwargs)
        except GenbaPropsError as error:
            # A check of a part genba builds for the caller (an AlarmFactory inside AlarmTopic)
            # names that part: say which public call it came from, still on one line.
            message = str(error)
            if message.startswith(owner.split(".")[0]):
                raise
            raise GenbaPropsError(f"{owner}: {message}") from None

    return wrapper  # type: ignore[return-value]


def _check(owner: str, name: str, value: Any, hint: Any) -> Any:
    if matches(value, hint):
        return value
    coerced, converted = _coerce(value, hint)
    if coerced:
        return converted
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise GenbaPropsError(f"{owner}: {name}={shown} must be {describe(hint)}")
