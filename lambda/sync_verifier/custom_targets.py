"""Targets that answer for themselves: an HTTP endpoint or a Lambda function judges each change.

Both get ``{"changes": [<Change.payload()>...]}`` (keys in typed form, B values as base64 text)
and answer ``{"results": {"<id>": {"status": "synced|not_yet|failed", "reason": "..."}}}``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from genba_sync import describe_error
from http_auth import Auth, AuthUnavailable, NoAuth
from rules import NOT_YET, STATUSES, Change, Outcome


def _error_type(payload: bytes) -> str:
    """The ``errorType`` of a Lambda function error payload (``{"errorMessage", "errorType", ...}``)."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return "unknown (the payload is not JSON)"
    kind = answer.get("errorType") if isinstance(answer, dict) else None
    return str(kind)[:100] if kind else "unknown"


def _answers(changes: Sequence[Change], answer: Any) -> dict[str, Outcome]:
    results = answer.get("results") if isinstance(answer, Mapping) else None
    if not isinstance(results, Mapping):
        return {c.id: Outcome(NOT_YET, "target answered without 'results'") for c in changes}
    outcomes = {}
    for change in changes:
        result = results.get(change.id)
        if isinstance(result, Mapping) and result.get("status") in STATUSES:
            outcomes[change.id] = Outcome(str(result["status"]), str(result.get("reason", "")))
        else:
            outcomes[change.id] = Outcome(NOT_YET, "target gave no answer for this change")
    return outcomes


class HttpTarget:
    """An HTTP endpoint that answers for a batch of changes (one POST per batch).

    ``auth`` (``http_auth``) adds a SigV4 signature or a header from Secrets Manager. A 401 or
    403 is answered once more with fresh material where that may help (a rotated secret);
    otherwise, like an unreachable endpoint, the batch is ``not_yet``.
    """

    def __init__(
        self,
        *,
        url: str,
        timeout_seconds: float = 10,
        opener: Callable[[urllib.request.Request, float], Any] | None = None,
        auth: Auth | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout_seconds
        self.opener = opener or (lambda request, timeout: urllib.request.urlopen(request, timeout=timeout))  # noqa: S310
        self.auth: Auth = auth or NoAuth()
        self.reads = 0

    def _post(self, body: bytes) -> Any:
        headers = self.auth.headers("POST", self.url, body, {"Content-Type": "application/json"})
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's configuration
            self.url, data=body, headers=headers, method="POST"
        )
        with self.opener(request, self.timeout) as response:
            return json.loads(response.read())

    def check(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        body = json.dumps({"changes": [c.payload() for c in changes]}).encode()
        for attempt in (1, 2):
            self.reads += 1
            try:
                answer = self._post(body)
            except urllib.error.HTTPError as error:
                if error.code not in (401, 403):
                    return {c.id: Outcome(NOT_YET, f"target unavailable: {error}") for c in changes}
                if attempt == 1 and self.auth.refused():
                    continue
                return {c.id: Outcome(NOT_YET, f"target refused the request: HTTP {error.code}") for c in changes}
            except AuthUnavailable as error:
                return {c.id: Outcome(NOT_YET, f"target not asked: {error}") for c in changes}
            except (urllib.error.URLError, OSError, ValueError) as error:
                return {c.id: Outcome(NOT_YET, f"target unavailable: {error}") for c in changes}
            return _answers(changes, answer)
        raise AssertionError("unreachable")  # pragma: no cover


class LambdaTarget:
    """A user-supplied Lambda function that answers for a batch of changes (one invoke per batch)."""

    def __init__(self, *, lambda_client: Any, function_name: str) -> None:
        self.client = lambda_client
        self.function_name = function_name
        self.reads = 0

    def check(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        self.reads += 1
        try:
            response = self.client.invoke(
                FunctionName=self.function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps({"changes": [c.payload() for c in changes]}).encode(),
            )
            payload = response["Payload"].read()
            if response.get("FunctionError"):
                # Only the error type: its message and stack trace may repeat the keys it was given.
                return {c.id: Outcome(NOT_YET, f"target function error: {_error_type(payload)}") for c in changes}
            answer = json.loads(payload)
        except Exception as error:  # any failure to ask means "ask again later"
            return {c.id: Outcome(NOT_YET, f"target unavailable: {describe_error(error)}") for c in changes}
        return _answers(changes, answer)
