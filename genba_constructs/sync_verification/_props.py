"""The rules of SyncVerification's props that no props object holds: subject, stream and concurrency.

The timing rules are :class:`SyncTiming`'s own (``timing``); each check raises the first problem
as one line naming the construct, the prop and the value.
"""

from __future__ import annotations

import re

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb

from genba_constructs._validation import fail, require_range
from genba_constructs.sync_verification._contract import NAME
from genba_constructs.sync_verification._functions import StreamProps
from genba_constructs.sync_verification.timing import ATTRIBUTE_NAME_PATTERN, MAX_PARALLELIZATION_FACTOR, SyncTiming

_VIEW_TYPES = (
    dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    dynamodb.StreamViewType.NEW_IMAGE,
    dynamodb.StreamViewType.KEYS_ONLY,
)


def validate(
    *, subject: str, stream_view_type: dynamodb.StreamViewType, stream: StreamProps, timing: SyncTiming
) -> None:
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", subject or ""):
        raise fail(NAME, "subject", subject, "must be a lower-case slug such as 'user-sync'")
    if stream_view_type not in _VIEW_TYPES:
        raise fail(NAME, "stream_view_type", stream_view_type, "must be NEW_AND_OLD_IMAGES, NEW_IMAGE or KEYS_ONLY")
    if not re.fullmatch(ATTRIBUTE_NAME_PATTERN, stream.version_attribute or ""):
        raise fail(NAME, "version_attribute", stream.version_attribute, "is not a DynamoDB attribute name")
    for prop, value, problem in timing.problems():
        raise fail(NAME, prop, value.to_human_string() if isinstance(value, Duration) else value, problem)
    parallelization = stream.parallelization_factor
    require_range(NAME, "parallelization_factor", parallelization, minimum=1, maximum=MAX_PARALLELIZATION_FACTOR)
    require_range(NAME, "forwarder_batch_size", stream.forwarder_batch_size, minimum=1, maximum=10000)
    require_range(NAME, "retry_attempts", stream.retry_attempts, minimum=0, maximum=10000)
    require_range(NAME, "verifier_batch_size", stream.verifier_batch_size, minimum=1, maximum=10000)
    concurrency = stream.reserved_concurrency
    if len(concurrency) != 3 or not all(isinstance(c, int) and c >= 1 for c in concurrency):
        raise fail(
            NAME, "reserved_concurrency", concurrency, "must be three whole numbers >= 1 (forwarder, verifier, replay)"
        )
    _validate_queue_concurrency(stream)


def _validate_queue_concurrency(stream: StreamProps) -> None:
    """Each SQS event source's MaximumConcurrency: 2..1000 (Lambda's range), never above reserved concurrency."""
    if stream.max_concurrency is not None and (
        len(stream.max_concurrency) != 2 or not all(isinstance(c, int) for c in stream.max_concurrency)
    ):
        raise fail(NAME, "max_concurrency", stream.max_concurrency, "must be two whole numbers (verifier, replay)")
    reserved = {"verifier": stream.reserved_concurrency[1], "replay": stream.reserved_concurrency[2]}
    for function, maximum in zip(("verifier", "replay"), stream.queue_concurrency(), strict=True):
        prop = "max_concurrency" if stream.max_concurrency is not None else "reserved_concurrency"
        if not 2 <= maximum <= 1000:
            raise fail(
                NAME, prop, maximum, f"gives the {function}'s SQS event source a MaximumConcurrency outside 2..1000"
            )
        if maximum > reserved[function]:
            raise fail(
                NAME,
                "max_concurrency",
                maximum,
                f"is above the {function}'s reserved concurrency {reserved[function]}: throttled receives "
                "would spend maxReceiveCount",
            )


def validate_min_changes(count: int | None, window: Duration) -> None:
    if count is None:
        return
    require_range(NAME, "min_source_changes", count, minimum=1, maximum=10**9)
    if not isinstance(window, Duration) or window.to_seconds() % 60 or not 60 <= window.to_seconds() <= 86400:
        shown = window.to_human_string() if isinstance(window, Duration) else window
        raise fail(NAME, "min_source_changes_window", shown, "must be whole minutes between 1 minute and 1 day")
