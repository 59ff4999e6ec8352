"""The verifier's HTTP target authenticates as the endpoint requires: SigV4 or a header from Secrets Manager.

Each test runs the handler's own code against a local endpoint on 127.0.0.1 that verifies the
SigV4 signature by recomputing it with botocore (tests/sigv4_server.py), or checks the secret
header; Secrets Manager is a moto server.

- Signing: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
- Lambda function URLs with AWS_IAM auth (service ``lambda``): https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
- API Gateway IAM authorization (service ``execute-api``): https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials

from tests.genba_account import moto_server
from tests.sigv4_server import CREDENTIALS, REGION, endpoint
from tests.sync_events import target_changes
from tools.sim.sync_sim import handler_module

handler_module("sync_verifier")
from custom_targets import HttpTarget  # noqa: E402
from http_auth import SecretHeader, SigV4Signer, make_auth  # noqa: E402
from rules import Change  # noqa: E402

TOKEN = "Bearer s3cr3t-token-value"
ROTATED = "Bearer rotated-token-value"


def changes() -> list[Change]:
    return target_changes(("a", 2, "MODIFY"), ("b", 5, "INSERT"))


def all_synced(body: Any) -> Any:
    return {"results": {c["id"]: {"status": "synced"} for c in body["changes"]}}


@pytest.mark.parametrize("service", ["execute-api", "lambda"])
def test_a_signed_post_passes_the_endpoints_signature_check(service: str) -> None:
    """API Gateway (execute-api) and function URLs (lambda) accept SigV4 over method, path, headers and body."""
    with endpoint(service=service, answer=all_synced) as server:
        target = HttpTarget(
            url=f"{server.url}/prod/sync/check?v=1",
            auth=SigV4Signer(credentials=CREDENTIALS, service=service, region=REGION),
        )
        outcomes = target.check(changes())
    assert [r["problem"] for r in server.requests] == [None]
    assert {o.status for o in outcomes.values()} == {"synced"}
    assert server.requests[0]["body"]["changes"][0]["id"] == "m1"


def test_a_signature_for_the_wrong_service_is_refused_and_the_batch_waits() -> None:
    """A request signed for lambda is not one for execute-api: 403, the changes stay not_yet."""
    with endpoint(service="execute-api", answer=all_synced) as server:
        target = HttpTarget(
            url=f"{server.url}/check", auth=SigV4Signer(credentials=CREDENTIALS, service="lambda", region=REGION)
        )
        outcomes = target.check(changes())
    assert server.requests[0]["problem"] == f"not signed for execute-api in {REGION}"
    assert len(server.requests) == 1  # re-signing with the same role cannot help
    assert {(o.status, o.reason) for o in outcomes.values()} == {("not_yet", "target refused the request: HTTP 403")}


def test_a_wrong_secret_key_gives_a_signature_the_endpoint_recomputes_differently() -> None:
    wrong = Credentials(CREDENTIALS.access_key, "not-the-secret-key", CREDENTIALS.token)
    with endpoint(service="lambda", answer=all_synced) as server:
        HttpTarget(url=f"{server.url}/", auth=SigV4Signer(credentials=wrong, service="lambda", region=REGION)).check(
            changes()
        )
    assert "signature we calculated does not match" in str(server.requests[0]["problem"])


def test_unsigned_requests_are_refused_by_an_iam_endpoint() -> None:
    with endpoint(service="execute-api") as server:
        outcomes = HttpTarget(url=f"{server.url}/check").check(changes())
    assert server.requests[0]["problem"].startswith("bad Authorization")
    assert {o.status for o in outcomes.values()} == {"not_yet"}


def test_refreshable_credentials_are_frozen_once_per_signature() -> None:
    """A role's credentials refresh: one request must be signed by one key pair (get_frozen_credentials)."""

    class Refreshable:
        frozen = 0

        def get_frozen_credentials(self) -> Credentials:
            self.frozen += 1
            return CREDENTIALS

    credentials = Refreshable()
    with endpoint(service="execute-api", answer=all_synced) as server:
        HttpTarget(
            url=f"{server.url}/check", auth=SigV4Signer(credentials=credentials, service="execute-api", region=REGION)
        ).check(changes())
    assert credentials.frozen == 1 and server.requests[0]["problem"] is None


# ---- a header from Secrets Manager (moto server) ------------------------------------------------


@pytest.fixture(scope="module")
def secrets() -> Iterator[Any]:
    with moto_server() as url:
        yield boto3.client(
            "secretsmanager",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture()
def secret_arn(secrets: Any, request: pytest.FixtureRequest) -> str:
    name = f"sync-endpoint-{request.node.name[:40]}".replace("[", "-").replace("]", "")
    return str(secrets.create_secret(Name=name, SecretString=TOKEN)["ARN"])


def test_the_secret_is_sent_as_the_header_and_read_once(secrets: Any, secret_arn: str) -> None:
    header = SecretHeader(secrets=secrets, secret_arn=secret_arn, header="X-Sync-Token")
    with endpoint(header=("X-Sync-Token", TOKEN), answer=all_synced) as server:
        target = HttpTarget(url=f"{server.url}/check", auth=header)
        first, second = target.check(changes()), target.check(changes())
    assert [r["problem"] for r in server.requests] == [None, None]
    assert {o.status for o in [*first.values(), *second.values()]} == {"synced"}
    assert header.reads == 1  # cached between batches


def test_a_rotated_secret_is_read_again_after_a_401(secrets: Any, secret_arn: str) -> None:
    """The endpoint moved to the new value: the cached one gets 401, the verifier reads the secret again."""
    header = SecretHeader(secrets=secrets, secret_arn=secret_arn, header="Authorization")
    with endpoint(header=("Authorization", TOKEN), answer=all_synced) as server:
        target = HttpTarget(url=f"{server.url}/check", auth=header)
        target.check(changes())
        secrets.put_secret_value(SecretId=secret_arn, SecretString=ROTATED)
        server.header = ("Authorization", ROTATED)
        outcomes = target.check(changes())
    assert [r["headers"]["Authorization"] for r in server.requests] == [TOKEN, TOKEN, ROTATED]
    assert {o.status for o in outcomes.values()} == {"synced"}
    assert header.reads == 2


def test_a_secret_the_endpoint_keeps_refusing_is_not_yet_without_the_value(
    secrets: Any, secret_arn: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    header = SecretHeader(secrets=secrets, secret_arn=secret_arn, header="Authorization")
    # INFO: the verifier's level as deployed (botocore's own DEBUG wire log would show any response).
    caplog.set_level(logging.INFO)
    with endpoint(header=("Authorization", "something else"), answer=all_synced) as server:
        outcomes = HttpTarget(url=f"{server.url}/check", auth=header).check(changes())
    assert len(server.requests) == 2  # once, then once more with the secret read again
    assert {(o.status, o.reason) for o in outcomes.values()} == {("not_yet", "target refused the request: HTTP 401")}
    captured = capsys.readouterr()
    assert "s3cr3t" not in caplog.text + captured.out + captured.err
    assert all("s3cr3t" not in o.reason for o in outcomes.values())


def test_a_secret_that_cannot_be_read_leaves_the_batch_not_yet(secrets: Any) -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:missing-AbCdEf"
    with endpoint(header=("Authorization", TOKEN)) as server:
        outcomes = HttpTarget(
            url=f"{server.url}/check", auth=SecretHeader(secrets=secrets, secret_arn=arn, header="Authorization")
        ).check(changes())
    assert server.requests == []
    assert {o.reason for o in outcomes.values()} == {
        "target not asked: the authorization secret could not be read (ResourceNotFoundException)"
    }


def test_the_secret_is_read_again_after_its_maximum_age(secrets: Any, secret_arn: str) -> None:
    now = [0.0]
    header = SecretHeader(secrets=secrets, secret_arn=secret_arn, header="Authorization", clock=lambda: now[0])
    header.headers("POST", "https://x", b"", {})
    now[0] = 299.0
    header.headers("POST", "https://x", b"", {})
    now[0] = 301.0
    header.headers("POST", "https://x", b"", {})
    assert header.reads == 2


# ---- the construct's config reaches the handler -------------------------------------------------


class Session:
    region_name = "eu-west-1"

    def get_credentials(self) -> Credentials:
        return CREDENTIALS


def test_make_auth_builds_what_the_construct_configured(secrets: Any) -> None:
    signer = make_auth(
        {"mode": "sigv4", "service": "lambda", "region": REGION}, session=Session(), client=lambda name: None
    )
    assert isinstance(signer, SigV4Signer) and (signer.service, signer.region) == ("lambda", REGION)
    default_region = make_auth({"mode": "sigv4", "service": "execute-api"}, session=Session(), client=lambda name: None)
    assert isinstance(default_region, SigV4Signer) and default_region.region == "eu-west-1"
    header = make_auth(
        {"mode": "secret", "secret_arn": "arn:x", "header": "X-Token"}, session=Session(), client=lambda name: secrets
    )
    assert isinstance(header, SecretHeader) and header.header == "X-Token"
    assert type(make_auth(None, session=Session(), client=lambda name: None)).__name__ == "NoAuth"


def test_the_construct_config_round_trips_into_a_signing_target() -> None:
    """The JSON the construct writes (GENBA_SYNC_TARGET_CONFIG) is what make_target reads."""
    verifier = handler_module("sync_verifier")
    from verification import VerifierSettings

    from genba_constructs.sync_verification import ENV

    config = {
        "url": "https://x.lambda-url.ap-northeast-1.on.aws/",
        "timeout_seconds": 5,
        "auth": {"mode": "sigv4", "service": "lambda", "region": REGION},
    }
    settings = VerifierSettings.from_environ(
        {
            ENV["target_kind"]: "http",
            ENV["target_config"]: json.dumps(config),
            ENV["verification_queue_url"]: "q",
            ENV["verification_dlq_url"]: "d",
        }
    )
    target = verifier.make_target(settings, client=lambda name: None)
    assert isinstance(target.auth, SigV4Signer) and target.auth.service == "lambda"


def test_a_redirect_is_an_answer_never_followed_with_the_secret(secrets: Any, secret_arn: str) -> None:
    """urllib follows 3xx by default and copies every header to the Location's host (even plain
    HTTP): the secret or signature would reach whoever the redirect names. RFC 9110 section 15.4
    lets a client decline a redirect; the batch waits and nothing is sent on.
    https://docs.python.org/3/library/urllib.request.html#urllib.request.HTTPRedirectHandler"""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict[str, str]] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(dict(self.headers))
            self.send_response(200)
            self.end_headers()

        do_POST = do_GET

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)

    class Redirecting(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{other.server_address[1]}/login")
            self.send_header("Content-Length", "0")
            self.end_headers()

    first = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    for server in (first, other):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        header = SecretHeader(secrets=secrets, secret_arn=secret_arn, header="Authorization")
        outcomes = HttpTarget(url=f"http://127.0.0.1:{first.server_address[1]}/check", auth=header).check(changes())
    finally:
        for server in (first, other):
            server.shutdown()
            server.server_close()
    assert seen == []
    assert {(o.status, o.reason) for o in outcomes.values()} == {("not_yet", "target redirected: HTTP 302")}


def test_a_url_naming_the_default_port_is_sent_with_the_host_it_was_signed_for() -> None:
    """SigV4 signs the Host header; botocore leaves a scheme's default port out of it, and urllib
    would send "host:443" for a URL that names the port: the request must carry the signed Host.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html"""
    from http_auth import signed_host

    assert signed_host("https://abc.execute-api.ap-northeast-1.amazonaws.com:443/prod/x") == (
        "abc.execute-api.ap-northeast-1.amazonaws.com"
    )
    assert signed_host("http://127.0.0.1:8443/x") == "127.0.0.1:8443"
    signer = SigV4Signer(credentials=CREDENTIALS, service="execute-api", region=REGION)
    headers = signer.headers("POST", "https://h.example:443/prod/check", b"{}", {"Content-Type": "application/json"})
    assert headers["Host"] == "h.example"
    assert "host" in headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")


def test_a_secret_an_http_header_cannot_carry_waits_without_repeating_any_of_it(secrets: Any) -> None:
    """Header values are Latin-1 octets (RFC 9110 section 5.5; http.client encodes them so): a
    copy-pasted typographic quote must not fail every batch with the character in the reason."""
    arn = secrets.create_secret(Name="sync-endpoint-not-latin1", SecretString="Bearer it\u2019s-a-token")["ARN"]
    header = SecretHeader(secrets=secrets, secret_arn=arn, header="Authorization")
    with endpoint(header=("Authorization", "x"), answer=all_synced) as server:
        outcomes = HttpTarget(url=f"{server.url}/check", auth=header).check(changes())
    assert server.requests == []
    reasons = {o.reason for o in outcomes.values()}
    assert reasons == {"target not asked: the authorization secret holds characters an HTTP header cannot carry"}
