"""How the verifier authenticates to an HTTP endpoint target (the construct's ``auth`` config).

- ``{"mode": "sigv4", "service": "execute-api" | "lambda", "region"}``: each request is signed
  with SigV4 by botocore (``SigV4Auth`` over an ``AWSRequest``: method, URL, headers and the
  exact body sent), with the function's own credentials, frozen per request so that a refresh
  never mixes two key pairs in one signature.
- ``{"mode": "secret", "secret_arn", "header"}``: the header's value is the secret's
  ``SecretString``, read with GetSecretValue, cached for :data:`SECRET_MAX_AGE_SECONDS`, and
  read again when the endpoint answers 401 or 403 (the secret was rotated). The value is never
  logged or put in a reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

SECRET_MAX_AGE_SECONDS = 300.0


class AuthUnavailable(Exception):
    """The request cannot be authenticated now (no credentials, the secret unreadable): ask again later."""


class Auth(Protocol):
    def headers(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """The headers to send, authentication included."""

    def refused(self) -> bool:
        """The endpoint answered 401/403: whether trying again with fresh material may help."""


class NoAuth:
    def headers(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        return dict(headers)

    def refused(self) -> bool:
        return False


class SigV4Signer:
    """SigV4 over the whole request, as "Create a signed AWS API request" (IAM User Guide) describes."""

    def __init__(self, *, credentials: Any, service: str, region: str) -> None:
        self.credentials = credentials
        self.service = service
        self.region = region

    def headers(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        if self.credentials is None:
            raise AuthUnavailable("no AWS credentials to sign the request")
        frozen = getattr(self.credentials, "get_frozen_credentials", lambda: self.credentials)()
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(frozen, self.service, self.region).add_auth(request)
        return dict(request.headers.items())

    def refused(self) -> bool:
        # Credentials come from the execution role: a refusal is its policy's answer, not staleness.
        return False


class SecretHeader:
    """A header whose value is a Secrets Manager secret, cached and re-read when refused."""

    def __init__(
        self,
        *,
        secrets: Any,
        secret_arn: str,
        header: str,
        max_age_seconds: float = SECRET_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secrets = secrets
        self.secret_arn = secret_arn
        self.header = header
        self.max_age = max_age_seconds
        self.clock = clock
        self._value: str | None = None
        self._read_at = 0.0
        self.reads = 0

    def _current(self) -> str:
        if self._value is not None and self.clock() - self._read_at < self.max_age:
            return self._value
        self.reads += 1
        try:
            answer = self.secrets.get_secret_value(SecretId=self.secret_arn)
        except Exception as error:  # the reason names the error code only, never a value
            code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
            raise AuthUnavailable(f"the authorization secret could not be read ({code})") from None
        value = answer.get("SecretString")
        if not isinstance(value, str) or not value or "\r" in value or "\n" in value:
            raise AuthUnavailable("the authorization secret has no single-line SecretString")
        self._value, self._read_at = value, self.clock()
        return value

    def headers(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        return {**headers, self.header: self._current()}

    def refused(self) -> bool:
        self._value = None  # read it again: the secret may have been rotated
        return True


def make_auth(config: Mapping[str, Any] | None, *, session: Any, client: Callable[[str], Any]) -> Auth:
    """The ``auth`` part of an HTTP target's config as an :class:`Auth` (none: unauthenticated)."""
    if not config:
        return NoAuth()
    mode = config.get("mode")
    if mode == "sigv4":
        region = config.get("region") or session.region_name
        return SigV4Signer(credentials=session.get_credentials(), service=str(config["service"]), region=region)
    if mode == "secret":
        return SecretHeader(
            secrets=client("secretsmanager"), secret_arn=str(config["secret_arn"]), header=str(config["header"])
        )
    raise ValueError(f"unknown HTTP target auth mode {mode!r}")
