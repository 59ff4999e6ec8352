"""moto server on 127.0.0.1, and what the simulator corrects in moto 5 to behave as AWS does.

Each correction says what moto does differently and why it matters here: ReceiveMessage and
SendMessage costs that grow with the queue's depth, binary keys of stream records encoded once
too often, and stream records stamped with real time where the pipeline runs simulated time.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol

from tools.sim.lambda_standin import REGION


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto server on 127.0.0.1 (a free port); yields its endpoint and points boto3 at it."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _fix_moto_receive_cost()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _fix_moto_receive_cost() -> None:
    """Make moto's ReceiveMessage cost what SQS's does: independent of the queue's depth.

    moto 5's ``receive_message`` checks each message it returns against the retention period
    through ``get_queue_attributes``, which recomputes every attribute of the queue, three of
    them (ApproximateNumberOfMessages, ...NotVisible, ...Delayed) by walking every message:
    returning k messages from a queue holding n costs O(k x n), and a run that keeps a few
    hundred changes pending (lost by the sync, waiting out the maximum lag) slows down with every
    chunk (profiled: 70% of the soak's time). Same check, reading the one attribute it needs.
    """
    from moto.core.utils import unix_time, unix_time_millis
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend, "_genba_fixed", False):
        return

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    setattr(SQSBackend, "_genba_fixed", True)  # noqa: B010 - a marker moto does not declare

    # Every SendMessage reads ``queue.attributes`` (for ContentBasedDeduplication), which counts the
    # queue's messages three times, asking the clock (utcnow) twice per message: the same counts,
    # with the clock read once per count.
    def visible(self: Any) -> list[Any]:
        now = unix_time_millis()
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    def not_visible(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if not now > m.visible_at)

    def delayed(self: Any) -> int:
        now = unix_time_millis()
        return sum(1 for m in self._messages if now < m.delayed_until)

    Queue.messages = property(visible)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_not_visible = property(not_visible)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_delayed = property(delayed)  # type: ignore[assignment,method-assign]


_ENV_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_EC2_METADATA_DISABLED",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
)


def fix_moto_binary_keys(record: dict[str, Any]) -> None:
    """moto 5 base64-encodes B values of a stream record's ``Keys`` once more than AWS does (its
    images are right): boto3 then hands back the base64 text as bytes. Decode that once."""
    for value in (record.get("dynamodb") or {}).get("Keys", {}).values():
        if isinstance(value, dict) and isinstance(value.get("B"), bytes | bytearray):
            with contextlib.suppress(ValueError):
                value["B"] = base64.b64decode(bytes(value["B"]), validate=True)


class SimulatedClock(Protocol):
    """What SimulatedTimeStreams reads of the pipeline: when each record was written, and now."""

    record_offsets: dict[str, float]
    clock_offset: float


class SimulatedTimeStreams:
    """The replay function's DynamoDB Streams client: records stamped on the simulated clock.

    moto stamps ApproximateCreationDateTime with real time; the pipeline's changes happen at
    real time plus the offset in effect when they were written.
    """

    def __init__(self, real: Any, pipeline: SimulatedClock) -> None:
        self._real = real
        self._pipeline = pipeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def get_records(self, **kwargs: Any) -> Any:
        response = self._real.get_records(**kwargs)
        offsets = self._pipeline.record_offsets
        for record in response.get("Records") or []:
            fix_moto_binary_keys(record)
            change = record.get("dynamodb", {})
            created = change.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                offset = offsets.get(str(change.get("SequenceNumber")), self._pipeline.clock_offset)
                change["ApproximateCreationDateTime"] = created + timedelta(seconds=offset)
        return response
