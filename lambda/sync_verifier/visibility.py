"""How long a change not synced yet stays invisible on the queue, within what SQS will grant.

SQS caps a message's visibility at 12 hours from its receive ("Visibility timeout", Amazon SQS
Developer Guide: "If you try to extend the visibility timeout beyond the maximum, your request
is rejected"). The verifier does not see its receive time: Lambda's poller received the batch
before the invocation, at most the batching window (5 minutes at most) earlier. So the receive
is bounded below by ``max(ApproximateFirstReceiveTimestamp, invoked_at - 300 s - 60 s)`` and the
verifier asks for at most ``12 h - (now - that bound) - 60 s`` (clock skew between Lambda and
SQS). A request SQS still rejects is retried shorter; one that cannot be placed at all is
reported (``VisibilityChangesRejected``) and, when SQS would dead-letter the message on its
next receive, sent to the DLQ by the verifier with its reason.

:class:`PendingRegistry` remembers, per execution environment, the changes this environment left
on the queue and when they become visible again, so that every invocation publishes the age of
the oldest pending change it knows (not only the changes of its batch).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from genba_sync import describe_error

MAX_VISIBILITY = 43_200
# Lambda's longest batching window for SQS event sources, and a margin for clock skew.
MAX_BATCHING_WINDOW_SECONDS = 300
SKEW_SECONDS = 60
BACKOFF_FLOOR_SECONDS = 1
# Receipt handles that no longer hold the message: it was deleted or received again elsewhere.
GONE = frozenset({"ReceiptHandleIsInvalid", "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight"})


def grantable_seconds(attributes: Mapping[str, Any], *, invoked_at: float, now: float) -> int:
    """The longest visibility SQS is sure to grant this message now (seconds, at least 0)."""
    lower = invoked_at - MAX_BATCHING_WINDOW_SECONDS - SKEW_SECONDS
    first = attributes.get("ApproximateFirstReceiveTimestamp")
    with contextlib.suppress(TypeError, ValueError):
        lower = max(lower, float(str(first)) / 1000)
    return int(max(0, MAX_VISIBILITY - max(0.0, now - lower) - SKEW_SECONDS))


def backoff_seconds(
    receive_count: int,
    *,
    grace: int,
    seconds_left: float,
    floor: int = BACKOFF_FLOOR_SECONDS,
    grantable: int = MAX_VISIBILITY,
    until_threshold: float | None = None,
) -> int:
    """Visibility before the next look: grace x 2^(receives-1) (grace at least ``floor`` s), at most
    what SQS grants, never past the deadline, and back just after the next alarm threshold."""
    growing = max(grace, floor) * 2 ** max(0, min(receive_count - 1, 20))
    limits = [growing, MAX_VISIBILITY, grantable, max(seconds_left, 0) + 1]
    if until_threshold is not None and until_threshold > 0:
        limits.append(until_threshold + 1)
    return int(max(0, min(limits)))


@dataclass(frozen=True)
class VisibilityRequest:
    message_id: str
    receipt_handle: str
    seconds: int


def hold(sqs: Any, queue_url: str, requests: list[VisibilityRequest]) -> dict[str, str]:
    """ChangeMessageVisibilityBatch for ``requests``; returns message id -> why SQS did not hold it.

    Every rejection is handled: a too-long request is retried at half, then at one minute, a failed call is
    retried once; a receipt that no longer holds the message is not an error (it is gone or
    taken again) and is left out of the answer.
    """
    refused: dict[str, str] = {}
    pending = list(requests)
    for attempt in range(3):
        if not pending:
            break
        retry: list[VisibilityRequest] = []
        for start in range(0, len(pending), 10):
            chunk = pending[start : start + 10]
            entries = [
                {"Id": str(i), "ReceiptHandle": r.receipt_handle, "VisibilityTimeout": r.seconds}
                for i, r in enumerate(chunk)
            ]
            try:
                response = sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
            except Exception as error:  # throttled, unreachable: the whole chunk again
                for request in chunk:
                    refused[request.message_id] = f"ChangeMessageVisibility failed: {describe_error(error)}"[:300]
                retry += chunk
                continue
            for request in chunk:
                refused.pop(request.message_id, None)
            for failure in response.get("Failed") or []:
                request = chunk[int(failure["Id"])]
                code = str(failure.get("Code", ""))
                if code in GONE:
                    continue
                message = failure.get("Message", "")
                refused[request.message_id] = f"SQS refused visibility {request.seconds} s: {code} {message}"
                # Half, then a minute: a minute is granted unless the receive is 12 h old.
                shorter = request.seconds // 2 if attempt == 0 else min(request.seconds, 60)
                retry.append(VisibilityRequest(request.message_id, request.receipt_handle, shorter))
        pending = retry
    return refused


@dataclass
class PendingRegistry:
    """Changes this execution environment left on the queue: message id -> (event time, visible again at)."""

    entries: dict[str, tuple[float, float]] = field(default_factory=dict)
    slack_seconds: float = 300.0

    def update(self, now: float, *, pending: Mapping[str, tuple[float, float]], done: set[str]) -> None:
        for message_id in done:
            self.entries.pop(message_id, None)
        self.entries.update(pending)
        # Past its next look (and a slack for the receive), another invocation has it again.
        for message_id in [m for m, (_, back) in self.entries.items() if back + self.slack_seconds < now]:
            del self.entries[message_id]

    def oldest_age(self, now: float) -> float:
        return max((now - event_time for event_time, _ in self.entries.values()), default=0.0)
