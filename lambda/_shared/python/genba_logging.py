"""genba's logging convention for Lambda handlers (shipped as the genba shared layer).

Every line is one JSON object with at least::

    {"timestamp": "2026-11-29T09:00:00.123Z", "level": "INFO", "request_id": "...", "message": "..."}

``request_id`` is the correlation id: the id of the request (or change) being handled, the
same on every line about it, so that time + request id finds every event across servers.
Values of sensitive keys (passwords, tokens, e-mail addresses, card numbers...) are masked
before the line is written. The metric filters, saved queries, Athena tables and OpenSearch
mappings genba defines read exactly these fields.

Usage (Powertools style)::

    from genba_logging import get_logger
    logger = get_logger()

    @logger.inject_lambda_context
    def handler(event, context):
        logger.set_correlation_id(event["request_id"])
        logger.info("user signed in", extra={"user_id": "u-1", "password": "never shown"})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

if TYPE_CHECKING:
    from aws_lambda_powertools.logging.types import LogRecord

MASK = "****"
REQUEST_ID = "request_id"
NO_REQUEST_ID = "-"

# Keys whose values never reach a log line, matched case-insensitively anywhere in the key
# ("user_password", "X-Api-Key" and "accessToken" are all masked).
SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|authorization|cookie|session|api[-_]?key|access[-_]?key|"
    r"private[-_]?key|credential|e[-_]?mail|card[-_]?(number|no)|credit[-_]?card|cvv|cvc|ssn",
    re.IGNORECASE,
)
# Values that look like these are masked wherever they appear, whatever their key.
SENSITIVE_VALUE = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"  # e-mail address
    r"|\b(?:\d[ -]?){13,19}\b"  # card-number-like digit runs
)

_FIELD_ORDER = ["timestamp", "level", REQUEST_ID, "message"]


def mask(value: Any, *, key: str = "") -> Any:
    """``value`` with sensitive keys' values and sensitive-looking strings masked (recursively)."""
    if key and SENSITIVE_KEY.search(key):
        return MASK
    if isinstance(value, Mapping):
        return {k: mask(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(item) for item in value]
    if isinstance(value, str):
        return SENSITIVE_VALUE.sub(MASK, value)
    if value is None or isinstance(value, bool | int | float):
        return value
    # Anything else (an exception object in Powertools' stack_trace, a UUID...) is written
    # with str() by the JSON encoder: mask that text now.
    return SENSITIVE_VALUE.sub(MASK, str(value))


class GenbaFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with genba's field names, UTC ISO timestamps and masking."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("log_record_order", _FIELD_ORDER)
        kwargs.setdefault("datefmt", "%Y-%m-%dT%H:%M:%S.%FZ")
        kwargs.setdefault("utc", True)
        super().__init__(**kwargs)

    def serialize(self, log: LogRecord) -> str:
        record = dict(log)
        correlation_id = record.pop("correlation_id", None)
        record[REQUEST_ID] = (
            correlation_id or record.get(REQUEST_ID) or record.get("function_request_id") or NO_REQUEST_ID
        )
        ordered = {key: record.pop(key) for key in _FIELD_ORDER if key in record}
        ordered.update(record)
        protected = {key: ordered[key] for key in ("timestamp", "level", REQUEST_ID)}
        return super().serialize({**mask(ordered), **protected})


def get_logger(service: str | None = None, **kwargs: Any) -> Logger:
    """A Powertools Logger that writes genba's convention (service from POWERTOOLS_SERVICE_NAME)."""
    return Logger(service=service, logger_formatter=GenbaFormatter(), **kwargs)
