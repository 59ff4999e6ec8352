"""The CloudWatch metric math genba's alarms use, over time series of period data points.

Reference: "Using math expressions with CloudWatch metrics" (CloudWatch User Guide,
using-metric-math.html). Supported: numbers, metric ids, + - * / and unary minus, comparison
(> >= < <= == !=) and logical (AND && OR ||) operators, and the functions ABS, AVG, CEIL,
DIFF, FILL, FLOOR, IF, MAX, MIN, RATE, SUM, with ``[a, b]`` arrays.

A series is a dict of period start (epoch seconds) -> value; a period with no data point is
absent. As documented: arithmetic between two series keeps only timestamps both have;
between a series and a scalar it applies to every point; comparisons give 1 or 0; RATE is the
change per second between a point and the point before it; FILL(m, v) gives every period of
the alarm's range a value (v a number, or REPEAT for the last earlier value); MIN/MAX/SUM/AVG
of one series give a scalar, of an array of series a series (per timestamp, over the series
that have it). IF(c, a, b) is a, where c is non-zero, else b (b omitted: no point).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TypeAlias

Series: TypeAlias = dict[int, float]


class Repeat:
    """FILL's REPEAT argument: each missing period takes the last earlier value."""


Value: TypeAlias = "float | Series | list[Value] | Repeat"

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>>=|<=|==|!=|&&|\|\||[-+*/(),\[\]<>]))"
)


class MathError(ValueError):
    """An expression genba's evaluator cannot read or compute; the message names it."""


@dataclass(frozen=True)
class Context:
    """What an expression is evaluated against: the other queries' series and the alarm's periods."""

    series: Mapping[str, Value]
    timestamps: Sequence[int]  # every period start of the evaluation range, oldest first
    period: int


def _tokens(expression: str) -> list[str]:
    position, found = 0, []
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise MathError(f"metric math: cannot read {expression[position:]!r} in {expression!r}")
        found.append(match.group(match.lastgroup or "op"))
        position = match.end()
    return found


class _Parser:
    """Recursive descent: or > and > comparison > sum > product > unary > call/atom."""

    def __init__(self, expression: str, context: Context) -> None:
        self.expression = expression
        self.tokens = _tokens(expression)
        self.at = 0
        self.context = context

    def parse(self) -> Value:
        value = self._or()
        if self.at != len(self.tokens):
            raise MathError(f"metric math: unexpected {self.tokens[self.at]!r} in {self.expression!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if token is None or (expected is not None and token.upper() != expected):
            raise MathError(f"metric math: expected {expected or 'more'} in {self.expression!r}")
        self.at += 1
        return token

    def _binary(self, operators: dict[str, Callable[[float, float], float]], inner: Callable[[], Value]) -> Value:
        left = inner()
        while (token := self._peek()) is not None and token.upper() in operators:
            self.at += 1
            left = _apply(operators[token.upper()], left, inner())
        return left

    def _or(self) -> Value:
        return self._binary({"OR": _or, "||": _or}, self._and)

    def _and(self) -> Value:
        return self._binary({"AND": _and, "&&": _and}, self._comparison)

    def _comparison(self) -> Value:
        return self._binary(_COMPARISONS, self._sum)

    def _sum(self) -> Value:
        return self._binary({"+": lambda a, b: a + b, "-": lambda a, b: a - b}, self._product)

    def _product(self) -> Value:
        return self._binary({"*": lambda a, b: a * b, "/": _divide}, self._unary)

    def _unary(self) -> Value:
        if self._peek() == "-":
            self.at += 1
            return _apply(lambda a, _: -a, self._unary(), 0.0)
        return self._atom()

    def _atom(self) -> Value:
        symbol = self._take()
        if symbol == "(":
            value = self._or()
            self._take(")")
            return value
        if symbol == "[":
            items = [self._or()]
            while self._peek() == ",":
                self.at += 1
                items.append(self._or())
            self._take("]")
            return items
        if re.fullmatch(r"\d.*", symbol):
            return float(symbol)
        if self._peek() == "(":
            self.at += 1
            args: list[Value] = []
            if self._peek() != ")":
                args.append(self._argument())
                while self._peek() == ",":
                    self.at += 1
                    args.append(self._argument())
            self._take(")")
            return self._call(symbol.upper(), args)
        if symbol in self.context.series:
            return self.context.series[symbol]
        raise MathError(f"metric math: unknown id {symbol!r} in {self.expression!r}")

    def _argument(self) -> Value:
        if (self._peek() or "").upper() == "REPEAT":
            self.at += 1
            return Repeat()
        return self._or()

    def _call(self, name: str, args: list[Value]) -> Value:
        functions: dict[str, Callable[[list[Value]], Value]] = {
            "FILL": self._fill,
            "RATE": lambda a: _rate(_series(a[0], name)),
            "DIFF": lambda a: _diff(_series(a[0], name)),
            "IF": self._if,
            "ABS": lambda a: _apply(lambda x, _: abs(x), a[0], 0.0),
            "CEIL": lambda a: _apply(lambda x, _: float(math.ceil(x)), a[0], 0.0),
            "FLOOR": lambda a: _apply(lambda x, _: float(math.floor(x)), a[0], 0.0),
            "MIN": lambda a: _reduce(min, a),
            "MAX": lambda a: _reduce(max, a),
            "SUM": lambda a: _reduce(sum, a),
            "AVG": lambda a: _reduce(lambda values: sum(values) / len(values), a),
        }
        if name not in functions:
            raise MathError(f"metric math: function {name} is not modelled (in {self.expression!r})")
        return functions[name](args)

    def _fill(self, args: list[Value]) -> Value:
        if len(args) != 2:
            raise MathError(f"metric math: FILL takes a series and a value (in {self.expression!r})")
        series = _series(args[0], "FILL")
        filled: Series = {}
        last: float | None = None
        for timestamp in self.context.timestamps:
            if timestamp in series:
                last = filled[timestamp] = series[timestamp]
            elif isinstance(args[1], Repeat):
                if last is not None:
                    filled[timestamp] = last
            else:
                filled[timestamp] = float(args[1])  # type: ignore[arg-type]
        return filled

    def _if(self, args: list[Value]) -> Value:
        if len(args) not in (2, 3):
            raise MathError(f"metric math: IF takes a condition and one or two values (in {self.expression!r})")
        condition = args[0]
        if not isinstance(condition, dict):
            chosen = args[1] if condition else (args[2] if len(args) == 3 else {})
            return chosen
        result: Series = {}
        for timestamp, value in condition.items():
            branch = args[1] if value else (args[2] if len(args) == 3 else None)
            if branch is None:
                continue
            if isinstance(branch, dict):
                if timestamp in branch:
                    result[timestamp] = branch[timestamp]
            else:
                result[timestamp] = float(branch)  # type: ignore[arg-type]
        return result


def _series(value: Value, function: str) -> Series:
    if not isinstance(value, dict):
        raise MathError(f"metric math: {function} needs a time series, got {value!r}")
    return value


def _rate(series: Series) -> Series:
    points = sorted(series.items())
    return {t: (v - pv) / (t - pt) for (pt, pv), (t, v) in pairwise(points) if t > pt}


def _diff(series: Series) -> Series:
    points = sorted(series.items())
    return {t: v - pv for (_, pv), (t, v) in pairwise(points)}


def _reduce(function: Callable[[list[float]], float], args: list[Value]) -> Value:
    items: list[Value] = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    if len(items) == 1 and isinstance(items[0], dict):  # one series: a scalar over the whole range
        values = list(items[0].values())
        return function(values) if values else math.nan
    series = [item for item in items if isinstance(item, dict)]
    scalars = [float(item) for item in items if isinstance(item, int | float)]
    if not series:
        return function(scalars)
    timestamps = sorted({t for s in series for t in s})
    return {t: function([s[t] for s in series if t in s] + scalars) for t in timestamps}


def _divide(a: float, b: float) -> float:
    return a / b if b else math.nan  # CloudWatch gives no data point for a division by zero


def _or(a: float, b: float) -> float:
    return 1.0 if a or b else 0.0


def _and(a: float, b: float) -> float:
    return 1.0 if a and b else 0.0


_COMPARISONS: dict[str, Callable[[float, float], float]] = {
    ">": lambda a, b: float(a > b),
    ">=": lambda a, b: float(a >= b),
    "<": lambda a, b: float(a < b),
    "<=": lambda a, b: float(a <= b),
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
}


def _apply(operator: Callable[[float, float], float], left: Value, right: Value) -> Value:
    if isinstance(left, list | Repeat) or isinstance(right, list | Repeat):
        raise MathError("metric math: arrays are only for MIN, MAX, SUM and AVG; REPEAT only for FILL")
    if isinstance(left, dict) and isinstance(right, dict):
        result = {t: operator(left[t], right[t]) for t in left if t in right}
    elif isinstance(left, dict):
        scalar = float(right)  # type: ignore[arg-type]  # a dict was ruled out above
        result = {t: operator(v, scalar) for t, v in left.items()}
    elif isinstance(right, dict):
        result = {t: operator(float(left), v) for t, v in right.items()}
    else:
        return operator(float(left), float(right))
    return {t: v for t, v in result.items() if not math.isnan(v)}


def evaluate(expression: str, context: Context) -> Value:
    """The value of ``expression`` (a series, or a scalar) given the other queries' series."""
    return _Parser(expression, context).parse()
