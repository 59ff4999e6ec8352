"""genba_constructs._validation.is_unresolved answers strings and numbers in Python: it must agree with
CDK's own Token.is_unresolved for every input class, or a token is checked as a literal (a false
rejection) or a literal waved through unchecked. Asked of aws-cdk-lib itself, so an upgrade that
changes CDK's encoding fails here.
"""

from __future__ import annotations

import random
import struct
from typing import Any

from aws_cdk import Aws, Duration, Fn, Size, Token

from genba_constructs._validation import is_unresolved
from tests.conftest import new_app, new_stack


def _double(high: int, low: int) -> float:
    return float(struct.unpack("<d", struct.pack("<II", low, high))[0])


def test_is_unresolved_agrees_with_cdk_for_every_input_class() -> None:
    stack = new_stack(app=new_app())
    string_token = Fn.ref("S")
    number_token = Token.as_number(Fn.ref("N"))
    values: list[Any] = [
        "",
        "Token[",
        "${Token[",
        "${Token[X]}",
        "a${Token[TOKEN.1]}b",
        "#{Token[TOKEN.1]}",  # a list token's element as a string: no string token
        "${token[TOKEN.1]}",
        "${Token[TOKEN.1]",
        "${Token[a b]}",
        string_token,
        stack.account,
        stack.region,
        Aws.ACCOUNT_ID,
        0,
        -1,
        2**53 + 1,
        2**63,
        10**309,  # beyond any double
        -(10**309),
        1.5,
        -0.0,
        number_token,
        number_token * 1.0,
        -1.89e289,  # CDK's marker bits, not made by CDK: still a token by its rule
        -1.5e289,
        True,
        False,
        Token.as_list(Fn.ref("L")),
        [string_token],
        None,
        Duration.minutes(1),
        Size.gibibytes(1),
        {"a": 1},
    ]
    rng = random.Random(7)
    for _ in range(500):  # doubles at and beside the marker's 16 high bits
        high = rng.choice([0xFBFF0000, 0xFBFE0000, 0xFC000000, 0x7BFF0000]) | rng.randrange(0x10000)
        values.append(_double(high, rng.randrange(2**32)))
    differing = [v for v in values if is_unresolved(v) != bool(Token.is_unresolved(v))]
    assert not differing


def test_numbers_jsii_cannot_carry_are_no_tokens() -> None:
    """Infinity and NaN are no JSON: asked of jsii they end its kernel; no token is either."""
    assert not any(is_unresolved(v) for v in (float("inf"), float("-inf"), float("nan")))
