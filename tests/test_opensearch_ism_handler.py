"""The ISM custom-resource handler against a local stand-in for OpenSearch on 127.0.0.1.

The stand-in checks what the real domain would: a valid SigV4 signature (service ``es``) over
the method, path, query and body, the X-Amz-Date header (tests/sigv4_server.py), and answers as
OpenSearch does.
CloudFormation's pre-signed response URL is served by the same server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import SplitResult

import pytest
from botocore.credentials import Credentials

from tests.conftest import ROOT
from tests.sigv4_server import CREDENTIALS, REGION, signed_domain

sys.path.insert(0, str(ROOT / "lambda" / "_shared" / "python"))
sys.path.insert(0, str(ROOT / "lambda" / "opensearch_ism"))  # its own modules (security_roles)
# Loaded under its own name: other functions' handlers may also be called index.py.
_spec = importlib.util.spec_from_file_location("opensearch_ism_index", ROOT / "lambda" / "opensearch_ism" / "index.py")
assert _spec is not None and _spec.loader is not None
ism = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ism
_spec.loader.exec_module(ism)

POLICY_ID = "audit-logs-retention"
POLICY = {"policy": {"description": "delete after 30 days", "default_state": "hot", "states": []}}
INDEX_TEMPLATE = {"index_patterns": ["audit-logs-*"], "template": {"settings": {"index": {"number_of_replicas": 0}}}}
WRITER_ROLE = {"cluster_permissions": ["cluster_monitor"], "index_permissions": []}


class FakeOpenSearch:
    """What the domain holds and every request it received."""

    def __init__(self) -> None:
        self.policies: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.reject_with: tuple[int, dict[str, Any]] | None = None
        self.conflicts_left = 0

    def answer(self, method: str, path: str, query: str, body: Any) -> tuple[int, dict[str, Any]]:
        if path.startswith(("/_plugins/_security/api/", "/_index_template/")):
            return 200, {"status": "OK"} if "_security" in path else {"acknowledged": True}
        policy_id = path.removeprefix("/_plugins/_ism/policies/")
        current = self.policies.get(policy_id)
        if method == "GET":
            if current is None:
                return 404, {"error": {"type": "status_exception", "reason": "Policy not found"}, "status": 404}
            return 200, {"_id": policy_id, "_seq_no": current["seq_no"], "_primary_term": 1, "policy": current["body"]}
        if self.reject_with is not None:
            return self.reject_with
        params = dict(part.split("=", 1) for part in query.split("&") if part)
        if current is None:
            self.policies[policy_id] = {"seq_no": 0, "body": body["policy"]}
            return 201, {"_id": policy_id, "_seq_no": 0, "_primary_term": 1}
        if self.conflicts_left:
            self.conflicts_left -= 1
            current["seq_no"] += 1  # someone else updated it meanwhile
        if "if_seq_no" not in params or int(params["if_seq_no"]) != current["seq_no"]:
            return 409, {"error": {"type": "version_conflict_engine_exception", "reason": "version conflict"}}
        current["seq_no"] += 1
        current["body"] = body["policy"]
        return 200, {"_id": policy_id, "_seq_no": current["seq_no"], "_primary_term": 1}


@pytest.fixture()
def domain() -> Iterator[tuple[FakeOpenSearch, str]]:
    fake = FakeOpenSearch()

    def answer(method: str, parts: SplitResult, body: Any, problem: str | None) -> tuple[int, Any]:
        fake.requests.append({"method": method, "path": parts.path, "query": parts.query, "body": body})
        return (403, {"message": problem}) if problem else fake.answer(method, parts.path, parts.query, body)

    with signed_domain(answer, fake.responses) as url:
        yield fake, url


def runtime(credentials: Credentials = CREDENTIALS) -> Any:
    """What the handler is given instead of the deployed environment: fixed credentials, no waiting."""
    return ism.Runtime(
        settings=ism.Settings(region=REGION), credentials=lambda settings: credentials, sleep=lambda seconds: None
    )


class Context:
    function_name = "ism"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:ism"
    aws_request_id = "req-1"


def event(url: str, request_type: str = "Create", **overrides: Any) -> dict[str, Any]:
    props = ism.PROPS
    properties = {
        props["endpoint"]: url,
        props["policy_id"]: POLICY_ID,
        props["policy"]: json.dumps(POLICY),
        props["index_template_name"]: "audit-logs-template",
        props["index_template"]: json.dumps(INDEX_TEMPLATE),
        props["writer_role_name"]: "audit-logs_writer",
        props["writer_role"]: json.dumps(WRITER_ROLE),
        props["writer_backend_roles"]: ["arn:aws:iam::123456789012:role/delivery"],
        **overrides,
    }
    return {
        "RequestType": request_type,
        "ResponseURL": f"{url}/cloudformation-response",
        "StackId": "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/s/1",
        "RequestId": "cfn-request-1",
        "LogicalResourceId": "IndexPolicy",
        "ResourceType": "Custom::GenbaOpenSearchIndexPolicy",
        "ResourceProperties": properties,
    }


def run(fake: FakeOpenSearch, url: str, *, credentials: Credentials = CREDENTIALS, **kwargs: Any) -> dict[str, Any]:
    ism.handler(event(url, **kwargs), Context(), runtime=runtime(credentials))
    assert len(fake.responses) == 1
    return fake.responses[0]


def test_creates_the_policy_when_the_domain_has_none(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    answer = run(fake, url)
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"] == {"PolicyId": POLICY_ID, "Outcome": "created"}
    ism_calls = [(r["method"], r["path"], r["query"]) for r in fake.requests if "_ism" in r["path"]]
    assert ism_calls == [
        ("GET", f"/_plugins/_ism/policies/{POLICY_ID}", ""),
        ("PUT", f"/_plugins/_ism/policies/{POLICY_ID}", ""),
    ]
    assert fake.policies[POLICY_ID]["body"] == POLICY["policy"]


def test_updates_the_existing_policy_with_its_sequence_number(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    fake.policies[POLICY_ID] = {"seq_no": 7, "body": {"description": "old"}}
    answer = run(fake, url, request_type="Update")
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"]["Outcome"] == "updated"
    put = [r for r in fake.requests if r["method"] == "PUT" and "_ism" in r["path"]]
    assert put[0]["query"] == "if_seq_no=7&if_primary_term=1"
    assert fake.policies[POLICY_ID]["body"] == POLICY["policy"]


def test_maps_the_delivery_role_to_the_writer_role(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    run(fake, url)
    security = [(r["method"], r["path"], r["body"]) for r in fake.requests if "_security" in r["path"]]
    assert security == [
        ("PUT", "/_plugins/_security/api/roles/audit-logs_writer", WRITER_ROLE),
        (
            "PUT",
            "/_plugins/_security/api/rolesmapping/audit-logs_writer",
            {"backend_roles": ["arn:aws:iam::123456789012:role/delivery"]},
        ),
    ]


def test_puts_the_index_template_before_the_policy(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    run(fake, url)
    assert fake.requests[0]["method"] == "PUT"
    assert fake.requests[0]["path"] == "/_index_template/audit-logs-template"
    assert fake.requests[0]["body"] == INDEX_TEMPLATE


def test_reads_again_and_retries_after_a_version_conflict(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    fake.policies[POLICY_ID] = {"seq_no": 3, "body": {}}
    fake.conflicts_left = 1
    answer = run(fake, url, request_type="Update")
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    puts = [r["query"] for r in fake.requests if r["method"] == "PUT" and "_ism" in r["path"]]
    assert puts == ["if_seq_no=3&if_primary_term=1", "if_seq_no=4&if_primary_term=1"]


def test_fails_the_deployment_when_conflicts_persist(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    fake.policies[POLICY_ID] = {"seq_no": 0, "body": {}}
    fake.conflicts_left = 99
    answer = run(fake, url, request_type="Update")
    assert answer["Status"] == "FAILED"
    assert "HTTP 409" in answer["Reason"] and "version conflict" in answer["Reason"]


def test_fails_the_deployment_with_the_domains_reason_on_a_bad_policy(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    fake.reject_with = (
        400,
        {"error": {"type": "illegal_argument_exception", "reason": "Invalid state name [hot]"}, "status": 400},
    )
    answer = run(fake, url)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == (
        f"OpenSearch rejected ISM policy {POLICY_ID!r} (create): HTTP 400: Invalid state name [hot]"
    )
    assert answer["PhysicalResourceId"] == f"ism-policy-{POLICY_ID}"


def test_fails_when_the_signature_is_refused(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    answer = run(fake, url, credentials=Credentials("AKIDEXAMPLE", "wrong-secret", "session-token"))
    assert answer["Status"] == "FAILED"
    assert "HTTP 403" in answer["Reason"] and "signature we calculated does not match" in answer["Reason"]


def test_delete_leaves_the_retained_domain_alone(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    answer = run(fake, url, request_type="Delete")
    assert answer["Status"] == "SUCCESS"
    assert fake.requests == []


def test_bare_host_names_become_https_urls() -> None:
    assert (
        ism.base_url("search-x.ap-northeast-1.es.amazonaws.com") == "https://search-x.ap-northeast-1.es.amazonaws.com"
    )


def test_master_credentials_come_from_assuming_the_master_role(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://{host}:{port}")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        monkeypatch.setenv(ism.ENV["master_role_arn"], "arn:aws:iam::123456789012:role/master")
        credentials = ism.master_credentials(ism.Settings.from_environ(os.environ))
        assert credentials.access_key != "testing"
        assert credentials.token
    finally:
        server.stop()


AUDIT_CONFIG = {"enabled": True, "audit": {"enable_rest": True}, "compliance": {"enabled": True}}


def test_turns_on_the_security_plugins_audit_logging_signed(domain: tuple[FakeOpenSearch, str]) -> None:
    """The domain's audit log group receives only what the security plugin logs: the PUT must be made."""
    fake, url = domain
    answer = run(fake, url, **{ism.PROPS["audit_config"]: json.dumps(AUDIT_CONFIG)})
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    audit = [r for r in fake.requests if r["path"] == "/_plugins/_security/api/audit/config"]
    assert [(r["method"], r["body"]) for r in audit] == [("PUT", AUDIT_CONFIG)]
    # The stand-in answers 200 only to a request whose SigV4 signature verified.


def test_fails_the_deployment_when_the_audit_config_is_refused(domain: tuple[FakeOpenSearch, str]) -> None:
    fake, url = domain
    answer = run(
        fake,
        url,
        credentials=Credentials("AKIDEXAMPLE", "wrong-secret", "session-token"),
        **{ism.PROPS["audit_config"]: json.dumps(AUDIT_CONFIG)},
    )
    assert answer["Status"] == "FAILED"
    assert "HTTP 403" in answer["Reason"]


def test_the_construct_sends_the_audit_config_the_handler_puts() -> None:
    """One audit configuration, the shape OpenSearch documents: enabled, REST and transport, no bodies."""
    from genba_constructs.log_search._index_policy import audit_config

    config = audit_config()
    assert config["enabled"] is True
    assert config["audit"]["enable_rest"] and config["audit"]["enable_transport"]
    assert config["audit"]["log_request_body"] is False
    assert config["audit"]["exclude_sensitive_headers"] is True
