"""The handler logging convention (lambda/_shared/python/genba_logging.py), read back as JSON lines."""

from __future__ import annotations

import io
import itertools
import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "lambda" / "_shared" / "python"))

import genba_logging

CONVENTION = ("timestamp", "level", "request_id", "message")
_names = itertools.count()


@dataclass
class LambdaContext:
    function_name: str = "genba-test"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:ap-northeast-1:123456789012:function:genba-test"
    aws_request_id: str = "5f3c2b1a-0000-4000-8000-000000000001"


def new_logger() -> tuple[Any, io.StringIO]:
    stream = io.StringIO()
    # Powertools loggers are shared by service name: a fresh name per test keeps tests apart.
    return genba_logging.get_logger(f"genba-test-{next(_names)}", stream=stream), stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def written(*calls: tuple[Any, ...], correlation_id: str | None = None) -> list[dict[str, Any]]:
    """The JSON lines a fresh logger writes for each ``(level, message[, extra])`` call."""
    logger, stream = new_logger()
    if correlation_id is not None:
        logger.set_correlation_id(correlation_id)
    for level, message, *extra in calls:
        getattr(logger, level)(message, extra=extra[0] if extra else None)
    return lines(stream)


def test_every_line_is_json_with_the_convention_fields_first() -> None:
    logged = written(("info", "started"), ("warning", "slow", {"duration_ms": 1234.5}), ("error", "failed"))
    assert len(logged) == 3
    for line in logged:
        assert list(line)[:4] == list(CONVENTION)


def test_lines_outside_a_request_carry_the_no_request_marker() -> None:
    assert written(("info", "warming up"))[0]["request_id"] == genba_logging.NO_REQUEST_ID


def test_correlation_id_is_the_request_id_of_every_line() -> None:
    request_id = "0b8e5c8e-9f0a-4b7e-a8c1-3a2d4f5e6a7b"
    logged = written(("info", "one"), ("error", "two"), ("debug", "not written at INFO"), correlation_id=request_id)
    assert [line["request_id"] for line in logged] == [request_id] * 2


def test_lambda_request_id_is_used_when_no_correlation_id_is_set() -> None:
    logger, stream = new_logger()

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> None:
        logger.info("handled")

    handler({}, LambdaContext())
    (line,) = lines(stream)
    assert line["request_id"] == LambdaContext.aws_request_id
    assert line["function_name"] == "genba-test"


def test_timestamp_is_iso_8601_utc_with_milliseconds() -> None:
    (line,) = written(("info", "tick"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["timestamp"])


def test_level_names_are_the_ones_metric_filters_count() -> None:
    logged = written(("info", "a"), ("warning", "b"), ("error", "c"), ("critical", "d"))
    assert [line["level"] for line in logged] == ["INFO", "WARNING", "ERROR", "CRITICAL"]


SECRETS = {
    "password": "hunter2-very-secret",
    "user_password": "p@ss-another-secret",
    "X-Api-Key": "AKIAEXAMPLEKEY123456",
    "accessToken": "eyJhbGciOiJIUzI1NiJ9.token-secret",
    "email": "taro.yamada@example.co.jp",
    "card_number": "4111 1111 1111 1111",
    "Authorization": "Bearer secret-bearer-value",
    "session": "sess-0123456789",
}


@pytest.mark.parametrize("key", sorted(SECRETS))
def test_sensitive_keys_are_masked_and_never_written_in_clear(key: str) -> None:
    logger, stream = new_logger()
    logger.info("signed in", extra={key: SECRETS[key], "user_id": "u-1"})
    raw = stream.getvalue()
    assert SECRETS[key] not in raw
    line = lines(stream)[0]
    assert line[key] == genba_logging.MASK
    assert line["user_id"] == "u-1"


def test_sensitive_keys_nested_in_objects_and_lists_are_masked() -> None:
    logger, stream = new_logger()
    logger.info(
        "payload", extra={"request": {"headers": {"Cookie": "sid=abc-secret"}, "users": [{"email": "a@b.example"}]}}
    )
    raw = stream.getvalue()
    assert "abc-secret" not in raw and "a@b.example" not in raw
    request = lines(stream)[0]["request"]
    assert request["headers"]["Cookie"] == genba_logging.MASK


def test_email_addresses_and_card_numbers_in_messages_are_masked() -> None:
    logger, stream = new_logger()
    logger.info("mail to hanako@example.com failed for card 4111-1111-1111-1111")
    raw = stream.getvalue()
    assert "hanako@example.com" not in raw and "4111-1111-1111-1111" not in raw
    assert lines(stream)[0]["message"].count(genba_logging.MASK) == 2


def test_exception_text_is_masked_too() -> None:
    logger, stream = new_logger()
    try:
        raise ValueError("no user jiro@example.com")
    except ValueError:
        logger.exception("lookup failed")
    raw = stream.getvalue()
    assert "jiro@example.com" not in raw
    line = lines(stream)[0]
    assert line["level"] == "ERROR" and line["exception_name"] == "ValueError"


def test_convention_fields_are_never_masked() -> None:
    # looks like a card number, is the id
    assert written(("info", "ok"), correlation_id="4111111111111111")[0]["request_id"] == "4111111111111111"


def test_mask_leaves_ordinary_values_alone() -> None:
    value = {"user_id": "u-1", "count": 3, "tags": ["a", "b"], "ok": True}
    assert genba_logging.mask(value) == value
