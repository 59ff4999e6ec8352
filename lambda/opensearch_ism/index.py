"""CloudFormation custom resource: an OpenSearch ISM policy (and the log writer's role mapping).

CloudFormation invokes this function asynchronously with a Create, Update or Delete event and
waits for the answer at the event's pre-signed ``ResponseURL``. On Create and Update the
function, acting as the domain's fine-grained-access master role (assumed with STS):

1. maps the Firehose delivery role to a security role that may write the log indices
   (``PUT _plugins/_security/api/roles/<name>`` and ``.../rolesmapping/<name>``; PUT replaces,
   so repeating it is harmless);
2. puts the index template of the log indices (replicas that the domain's zones can hold, so a
   single-node domain is not yellow forever);
3. turns on the security plugin's audit logging (``PUT _plugins/_security/api/audit/config``;
   the domain's ``AUDIT_LOGS`` publishing only delivers what the plugin logs, and it logs
   nothing until this is set; PUT replaces the whole configuration, so repeating it is harmless);
4. creates or updates the ISM policy: ``GET _plugins/_ism/policies/<id>``; 404 -> ``PUT``
   (create); 200 -> ``PUT ?if_seq_no=..&if_primary_term=..`` (update exactly the version read,
   re-read and retry on 409 conflict).

Every request is signed with SigV4 (service ``es``) and sent with the standard library, so the
asset stays small (botocore comes with the Lambda runtime). When the domain rejects a request
the deployment fails with the domain's own reason. Delete changes nothing: the domain is
retained with its policy.

The same function serves ``Custom::GenbaOpenSearchReaderRole`` (``security_roles.py``): a
read-only role mapped to a sync verifier's IAM role, created, replaced and, on Delete, removed.

``provision()`` is the pure core (it is given how to reach the domain and how to wait);
``handler`` is the Powertools shell that answers CloudFormation.
"""

from __future__ import annotations

import functools
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from genba_logging import get_logger
from security_roles import Rejected, delete_reader, put_reader

CONTRACT = json.loads((Path(__file__).resolve().parent / "contract.json").read_text())
ENV: dict[str, str] = CONTRACT["environment"]
PROPS: dict[str, str] = CONTRACT["properties"]

SERVICE = "es"
TIMEOUT_SECONDS = 20
CONFLICT_RETRIES = 3
MAX_REASON = 1000  # CloudFormation shows the reason in the stack events; keep it readable

logger = get_logger(service="genba-opensearch-ism")
tracer = Tracer(service="genba-opensearch-ism")


class OpenSearchRejected(Exception):
    """The domain answered with an error: the deployment must fail with this message."""


@dataclass
class Response:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """What the function needs from its environment (the construct sets the contract's names)."""

    master_role_arn: str = ""
    region: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        return cls(master_role_arn=environ.get(ENV["master_role_arn"], ""), region=environ.get("AWS_REGION", ""))


def base_url(endpoint: str) -> str:
    """The domain endpoint as a URL (CloudFormation gives the bare host name)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.startswith(("https://", "http://")) else f"https://{endpoint}"


def master_credentials(settings: Settings) -> Credentials:
    """Credentials of the fine-grained-access master role (the function's own when none is set)."""
    role_arn = settings.master_role_arn
    if not role_arn:
        session_credentials = boto3.Session().get_credentials()
        if session_credentials is None:
            raise OpenSearchRejected("no AWS credentials available to sign requests to the domain")
        return session_credentials.get_frozen_credentials()
    answer = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="genba-opensearch-ism")
    c = answer["Credentials"]
    return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


class Domain:
    """A minimal SigV4-signing OpenSearch REST client."""

    def __init__(self, endpoint: str, credentials: Credentials, region: str) -> None:
        self.url = base_url(endpoint)
        self.signer = SigV4Auth(credentials, SERVICE, region)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Response:
        url = f"{self.url}{path}"
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        aws_request = AWSRequest(method=method, url=url, data=data, headers=headers)
        self.signer.add_auth(aws_request)
        prepared = aws_request.prepare()
        request = urllib.request.Request(  # noqa: S310 - the URL is the domain's https endpoint
            prepared.url, data=data, headers=dict(prepared.headers), method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
                return Response(answer.status, _json(answer.read()))
        except urllib.error.HTTPError as error:
            return Response(error.code, _json(error.read()))


def _json(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"raw": raw.decode(errors="replace")[:500]}
    return value if isinstance(value, dict) else {"value": value}


def _reason(response: Response) -> str:
    error = response.body.get("error", response.body)
    if isinstance(error, dict):
        text = error.get("reason") or error.get("type") or json.dumps(error)
        caused = error.get("caused_by")
        if isinstance(caused, dict) and caused.get("reason"):
            text = f"{text} (caused by: {caused['reason']})"
    else:
        text = str(error)
    return str(text)[:MAX_REASON]


def _expect(response: Response, ok: tuple[int, ...], what: str) -> Response:
    if response.status not in ok:
        raise OpenSearchRejected(f"OpenSearch rejected {what}: HTTP {response.status}: {_reason(response)}")
    return response


def put_ism_policy(
    domain: Domain, policy_id: str, policy: dict[str, Any], *, sleep: Callable[[float], None] = time.sleep
) -> str:
    """Create the policy, or update the version that exists. Returns 'created' or 'updated'."""
    path = f"/_plugins/_ism/policies/{urllib.parse.quote(policy_id, safe='')}"
    for attempt in range(1, CONFLICT_RETRIES + 1):
        current = domain.request("GET", path)
        if current.status == 404:
            answer = domain.request("PUT", path, policy)
            if answer.status == 409 and attempt < CONFLICT_RETRIES:  # created by someone else meanwhile
                continue
            _expect(answer, (200, 201), f"ISM policy {policy_id!r} (create)")
            return "created"
        _expect(current, (200,), f"reading ISM policy {policy_id!r}")
        seq_no, primary_term = current.body.get("_seq_no"), current.body.get("_primary_term")
        query = urllib.parse.urlencode({"if_seq_no": seq_no, "if_primary_term": primary_term})
        answer = domain.request("PUT", f"{path}?{query}", policy)
        if answer.status == 409 and attempt < CONFLICT_RETRIES:
            logger.warning("ISM policy changed while updating it; reading it again", extra={"attempt": attempt})
            sleep(attempt)
            continue
        _expect(answer, (200, 201), f"ISM policy {policy_id!r} (update)")
        return "updated"
    raise OpenSearchRejected(f"ISM policy {policy_id!r} kept changing while being updated")  # pragma: no cover


def put_writer_role(domain: Domain, name: str, role: dict[str, Any], backend_roles: list[str]) -> None:
    """A security role that may write the log indices, mapped to the delivery role(s)."""
    quoted = urllib.parse.quote(name, safe="")
    _expect(domain.request("PUT", f"/_plugins/_security/api/roles/{quoted}", role), (200, 201), f"role {name!r}")
    mapping = {"backend_roles": backend_roles}
    _expect(
        domain.request("PUT", f"/_plugins/_security/api/rolesmapping/{quoted}", mapping),
        (200, 201),
        f"role mapping {name!r}",
    )


def put_index_template(domain: Domain, name: str, template: dict[str, Any]) -> None:
    """Shard and replica settings of the log indices (PUT creates or replaces the template)."""
    path = f"/_index_template/{urllib.parse.quote(name, safe='')}"
    _expect(domain.request("PUT", path, template), (200, 201), f"index template {name!r}")


def put_audit_config(domain: Domain, config: dict[str, Any]) -> None:
    """The security plugin's audit log configuration (what reaches the domain's audit log group)."""
    _expect(domain.request("PUT", "/_plugins/_security/api/audit/config", config), (200, 201), "audit log config")


def apply(
    properties: Mapping[str, Any], domain: Domain, *, sleep: Callable[[float], None] = time.sleep
) -> dict[str, str]:
    template_name = properties.get(PROPS["index_template_name"])
    if template_name:
        put_index_template(domain, template_name, json.loads(properties[PROPS["index_template"]]))
    writer_name = properties.get(PROPS["writer_role_name"])
    if writer_name:
        put_writer_role(
            domain,
            writer_name,
            json.loads(properties[PROPS["writer_role"]]),
            list(properties.get(PROPS["writer_backend_roles"], [])),
        )
    audit_config = properties.get(PROPS["audit_config"])
    if audit_config:
        put_audit_config(domain, json.loads(audit_config))
    policy_id = properties[PROPS["policy_id"]]
    outcome = put_ism_policy(domain, policy_id, json.loads(properties[PROPS["policy"]]), sleep=sleep)
    logger.info("ISM policy applied", extra={"policy_id": policy_id, "outcome": outcome})
    return {"PolicyId": policy_id, "Outcome": outcome}


def send(event: dict[str, Any], status: str, reason: str, physical_id: str, data: dict[str, str]) -> None:
    """Answer CloudFormation at the event's pre-signed URL."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:MAX_REASON],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https URL
        event["ResponseURL"], data=body, headers={"Content-Type": "", "Content-Length": str(len(body))}, method="PUT"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):  # noqa: S310
        pass


@dataclass(frozen=True)
class Outcome:
    """The answer to one CloudFormation request."""

    status: str
    reason: str
    physical_id: str
    data: dict[str, str]


def provision(
    event: Mapping[str, Any],
    *,
    connect: Callable[[str], Domain],
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Apply a Create or Update (through ``connect(endpoint)``); any failure becomes a FAILED answer."""
    properties = event.get("ResourceProperties", {})
    if event.get("ResourceType") == CONTRACT["reader_resource_type"]:
        return provision_reader(event, connect=connect, sleep=sleep)
    physical_id = event.get("PhysicalResourceId") or f"ism-policy-{properties.get(PROPS['policy_id'], 'unknown')}"
    status, reason, data = "SUCCESS", "", {}
    try:
        if event["RequestType"] in ("Create", "Update"):
            data = apply(properties, connect(properties[PROPS["endpoint"]]), sleep=sleep)
            physical_id = f"ism-policy-{data['PolicyId']}"
        else:
            logger.info("Delete: the retained domain keeps its ISM policy")
    except OpenSearchRejected as error:
        status, reason = "FAILED", str(error)
        logger.error("OpenSearch rejected the index policy", extra={"reason": reason})
    except Exception as error:  # any other failure must still answer CloudFormation
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
        logger.exception("applying the index policy failed")
    return Outcome(status, reason, physical_id, data)


def provision_reader(
    event: Mapping[str, Any], *, connect: Callable[[str], Domain], sleep: Callable[[float], None] = time.sleep
) -> Outcome:
    """A verifier's read-only role and mapping: put on Create and Update, removed on Delete."""
    properties = event.get("ResourceProperties", {})
    name = str(properties.get(PROPS["reader_role_name"], "unknown"))
    physical_id = f"opensearch-role-{name}"
    try:
        domain = connect(properties[PROPS["endpoint"]])
        if event["RequestType"] == "Delete":
            delete_reader(domain, name)
            logger.info("reader role removed", extra={"role": name})
            return Outcome("SUCCESS", "", event.get("PhysicalResourceId") or physical_id, {})
        outcome = put_reader(
            domain,
            name,
            json.loads(properties[PROPS["reader_role"]]),
            list(properties.get(PROPS["reader_backend_roles"], [])),
            sleep=sleep,
        )
        logger.info("reader role applied", extra={"role": name, "outcome": outcome})
        return Outcome("SUCCESS", "", physical_id, {"RoleName": name, "Outcome": outcome})
    except Exception as error:  # any failure must still answer CloudFormation
        reason = str(error) if isinstance(error, Rejected | OpenSearchRejected) else f"{type(error).__name__}: {error}"
        if event["RequestType"] == "Delete":
            # A failed Delete would leave the stack in DELETE_FAILED / UPDATE_ROLLBACK_FAILED (a Create
            # the domain refused is rolled back with a Delete it refuses too). What stays behind is a
            # read-only role mapped to a role being deleted: reported, not blocking.
            logger.warning("the reader role could not be removed; left in place", extra={"reason": reason})
            return Outcome("SUCCESS", "", event.get("PhysicalResourceId") or physical_id, {})
        logger.exception("applying the reader role failed", extra={"reason": reason})
        return Outcome("FAILED", reason, event.get("PhysicalResourceId") or physical_id, {})


@dataclass(frozen=True)
class Runtime:
    """How an invocation reaches the domain and answers: the deployed way, or a test's."""

    settings: Settings
    credentials: Callable[[Settings], Credentials] = master_credentials
    sleep: Callable[[float], None] = time.sleep
    respond: Callable[[dict[str, Any], str, str, str, dict[str, str]], None] = send

    def connect(self, endpoint: str) -> Domain:
        if not self.settings.region:
            raise KeyError("AWS_REGION")
        return Domain(endpoint, self.credentials(self.settings), self.settings.region)


@functools.cache
def deployed() -> Runtime:
    """The function's own settings, read once per execution environment."""
    return Runtime(settings=Settings.from_environ(os.environ))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext, runtime: Runtime | None = None) -> None:
    run = runtime or deployed()
    logger.set_correlation_id(event.get("RequestId"))
    outcome = provision(event, connect=run.connect, sleep=run.sleep)
    run.respond(event, outcome.status, outcome.reason, outcome.physical_id, outcome.data)
