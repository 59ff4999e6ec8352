"""A read-only security-plugin role for a sync verifier, mapped to its IAM role (``Custom::GenbaOpenSearchReaderRole``).

Under fine-grained access control the domain answers 403 to an IAM role that is mapped to no
security role, whatever its IAM policy allows ("Fine-grained access control in Amazon
OpenSearch Service", mapping roles to users). On Create and Update this makes (security plugin
REST API, ``_plugins/_security/api``):

1. ``PUT roles/<name>``: the role with the permissions the verifier needs (read documents of its
   index), created (201) or replaced (200);
2. ``PUT rolesmapping/<name>``: its backend role, the verifier's IAM role ARN.

PUT replaces the whole resource, so repeating it is harmless. A 409 (the security index changed
concurrently) is retried after a pause, up to :data:`CONFLICT_RETRIES` times. Delete removes
the mapping and the role (a 404 is fine: already gone), so that a removed verifier keeps no
access to the domain.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from typing import Any, Protocol

CONFLICT_RETRIES = 3
API = "/_plugins/_security/api"


class Rejected(Exception):
    """The domain refused a security request: the deployment fails with this message."""


class _Answer(Protocol):
    status: int
    body: dict[str, Any]


class _Domain(Protocol):
    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any: ...


def _message(answer: _Answer) -> str:
    body = answer.body
    return str(body.get("message") or body.get("reason") or body.get("error") or body)[:500]


def _put(domain: _Domain, path: str, body: dict[str, Any], what: str, sleep: Callable[[float], None]) -> int:
    for attempt in range(1, CONFLICT_RETRIES + 1):
        answer: _Answer = domain.request("PUT", path, body)
        if answer.status in (200, 201):
            return answer.status
        if answer.status == 409 and attempt < CONFLICT_RETRIES:
            sleep(attempt)
            continue
        raise Rejected(f"OpenSearch rejected {what}: HTTP {answer.status}: {_message(answer)}")
    raise Rejected(f"OpenSearch kept answering 409 to {what}")  # pragma: no cover


def put_reader(
    domain: _Domain,
    name: str,
    role: dict[str, Any],
    backend_roles: list[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Create or replace the role and its mapping; 'created' or 'updated' (the role's answer)."""
    quoted = urllib.parse.quote(name, safe="")
    status = _put(domain, f"{API}/roles/{quoted}", role, f"role {name!r}", sleep)
    _put(domain, f"{API}/rolesmapping/{quoted}", {"backend_roles": backend_roles}, f"role mapping {name!r}", sleep)
    return "created" if status == 201 else "updated"


def delete_reader(domain: _Domain, name: str) -> None:
    """Remove the mapping, then the role; what is already gone is fine."""
    quoted = urllib.parse.quote(name, safe="")
    for kind in ("rolesmapping", "roles"):
        answer: _Answer = domain.request("DELETE", f"{API}/{kind}/{quoted}")
        if answer.status not in (200, 404):
            raise Rejected(f"OpenSearch refused to delete {kind} {name!r}: HTTP {answer.status}: {_message(answer)}")
