"""A local HTTP endpoint on 127.0.0.1 that checks what AWS checks of a SigV4-signed request.

It recomputes the signature with botocore from the request as received (method, path, query,
the signed headers and the body) and the credentials the test gave the client, as "Create a
signed AWS API request" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
describes; a request whose signature, scope (region/service), date or session token does not
match is answered 403, as API Gateway and Lambda function URLs do. It can instead require a
header with an expected value (answered 401 otherwise). Requests that pass get
``answer(body)``'s JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import SplitResult, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")
REGION = "ap-northeast-1"


def signature_problem(
    method: str, url: str, headers: dict[str, str], body: bytes, *, service: str, region: str = REGION
) -> str | None:
    """None when the request carries a valid SigV4 signature by CREDENTIALS for ``service`` in ``region``."""
    authorization = headers.get("Authorization", "")
    amz_date = headers.get("X-Amz-Date", "")
    if not authorization.startswith(f"AWS4-HMAC-SHA256 Credential={CREDENTIALS.access_key}/"):
        return f"bad Authorization {authorization!r}"
    if f"/{region}/{service}/aws4_request" not in authorization:
        return f"not signed for {service} in {region}"
    if len(amz_date) != 16 or not amz_date.endswith("Z") or amz_date[:8] not in authorization:
        return f"bad X-Amz-Date {amz_date!r}"
    if headers.get("X-Amz-Security-Token") != CREDENTIALS.token:
        return "session token missing"
    signed = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return f"host and x-amz-date not signed: {signed}"
    request = AWSRequest(
        method=method, url=url, data=body or None, headers={k: v for k, v in headers.items() if k.lower() in signed}
    )
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(CREDENTIALS, service, region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if f"Signature={expected}" not in authorization:
        return "The request signature we calculated does not match the signature you provided."
    return None


@dataclass
class Endpoint:
    """What the endpoint requires and everything it received."""

    url: str = ""
    service: str | None = None  # SigV4 for this service, or
    header: tuple[str, str] | None = None  # this header with this value
    answer: Callable[[Any], Any] = lambda body: {"results": {}}
    requests: list[dict[str, Any]] = field(default_factory=list)


class JsonHandler(BaseHTTPRequestHandler):
    """A local endpoint's request handler: reads the body, answers JSON, logs nothing."""

    def log_message(self, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, answer: Any) -> None:
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` serving on 127.0.0.1 (a free port) until the block ends; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


#: answer(method, URL parts, JSON body, signature problem or None) -> (HTTP status, JSON answer)
DomainAnswer = Callable[[str, SplitResult, Any, str | None], tuple[int, Any]]


@contextmanager
def signed_domain(answer: DomainAnswer, responses: list[Any]) -> Iterator[str]:
    """A stand-in OpenSearch domain on 127.0.0.1 that checks each request's SigV4 signature (service
    ``es``) and lets ``answer`` reply; CloudFormation's pre-signed response URL is served by the same
    server (``/cloudformation-response``), each report appended to ``responses``. Yields its URL."""

    class Handler(JsonHandler):
        def _serve(self) -> None:
            raw = self.read_body()
            parts = urlsplit(self.path)
            if parts.path == "/cloudformation-response":
                responses.append(json.loads(raw))
                self.reply(200, {})
                return
            url = f"http://{self.headers['Host']}{self.path}"
            problem = signature_problem(self.command, url, dict(self.headers.items()), raw, service="es")
            self.reply(*answer(self.command, parts, json.loads(raw) if raw else None, problem))

        do_GET = do_PUT = do_POST = do_DELETE = _serve

    with serving(Handler) as url:
        yield url


@contextmanager
def endpoint(**settings: Any) -> Iterator[Endpoint]:
    state = Endpoint(**settings)

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            raw = self.read_body()
            headers = dict(self.headers.items())
            problem = None
            if state.service is not None:
                url = f"http://{self.headers['Host']}{self.path}"
                problem = signature_problem("POST", url, headers, raw, service=state.service)
                status = 403
            if state.header is not None:
                name, value = state.header
                problem = None if headers.get(name) == value else f"{name} missing or wrong"
                status = 401
            state.requests.append({"path": self.path, "headers": headers, "body": json.loads(raw), "problem": problem})
            if problem is None:
                self.reply(200, state.answer(json.loads(raw)))
            else:
                self.reply(status, {"message": problem})

    with serving(Handler) as url:
        state.url = url
        yield state
