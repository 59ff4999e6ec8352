"""The verifier's read-only security role on a LogSearch domain, applied by the ISM handler.

A local stand-in for the domain on 127.0.0.1 checks each request's SigV4 signature (service
``es``, recomputed with botocore: tests/sigv4_server.py) and keeps roles and role mappings as the
security plugin's REST API does (https://opensearch.org/docs/latest/security/access-control/api/):
``PUT _plugins/_security/api/roles/<name>`` answers 201 when it creates and 200 when it
replaces; ``rolesmapping`` the same; ``DELETE`` 200, or 404 when there is nothing. Mapping the
verifier's IAM role as a backend role is what fine-grained access control needs before it
answers anything but 403 (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html#fgac-mapping).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import SplitResult

import pytest

from tests.sigv4_server import CREDENTIALS, REGION, signed_domain
from tests.test_opensearch_ism_handler import Context, ism

ROLE = {
    "cluster_permissions": ["indices:data/read/mget"],
    "index_permissions": [
        {"index_patterns": ["users"], "allowed_actions": ["indices:data/read/get", "indices:data/read/mget*"]}
    ],
}
VERIFIER = "arn:aws:iam::123456789012:role/sync-verifier"
NAME = "genba-sync-users-reader-1a2b3c4d"


class Security:
    """The security plugin's roles and mappings, and what it was asked."""

    def __init__(self) -> None:
        self.stores: dict[str, dict[str, Any]] = {"roles": {}, "rolesmapping": {}}
        self.requests: list[tuple[str, str]] = []
        self.responses: list[dict[str, Any]] = []
        self.conflicts = 0
        self.refuse_deletes = False

    def answer(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        kind, _, name = path.removeprefix("/_plugins/_security/api/").partition("/")
        store = self.stores[kind]
        if method == "DELETE":
            if self.refuse_deletes:
                return 403, {"status": "FORBIDDEN", "message": "no permissions for [restapi:admin/roles]"}
            if store.pop(name, None) is None:
                return 404, {"status": "NOT_FOUND", "message": f"'{name}' not found."}
            return 200, {"status": "OK", "message": f"'{name}' deleted."}
        if self.conflicts:
            self.conflicts -= 1
            return 409, {"status": "CONFLICT", "message": "the security index was changed concurrently"}
        if kind == "rolesmapping" and body.get("backend_roles") and name not in self.stores["roles"]:
            return 404, {"status": "NOT_FOUND", "message": f"role '{name}' not found."}
        created = name not in store
        store[name] = body
        return (201, {"status": "CREATED"}) if created else (200, {"status": "OK"})


@pytest.fixture()
def security() -> Iterator[tuple[Security, str]]:
    fake = Security()

    def answer(method: str, parts: SplitResult, body: Any, problem: str | None) -> tuple[int, Any]:
        fake.requests.append((method, parts.path))
        return (403, {"message": problem}) if problem else fake.answer(method, parts.path, body)

    with signed_domain(answer, fake.responses) as url:
        yield fake, url


def event(url: str, request_type: str = "Create", name: str = NAME, **extra: Any) -> dict[str, Any]:
    props = ism.PROPS
    return {
        "RequestType": request_type,
        "ResponseURL": f"{url}/cloudformation-response",
        "StackId": "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/s/1",
        "RequestId": "cfn-request-1",
        "LogicalResourceId": "SearchReader",
        "ResourceType": ism.CONTRACT["reader_resource_type"],
        "ResourceProperties": {
            props["endpoint"]: url,
            props["reader_role_name"]: name,
            props["reader_role"]: json.dumps(ROLE),
            props["reader_backend_roles"]: [VERIFIER],
        },
        **extra,
    }


def run(fake: Security, evt: dict[str, Any]) -> dict[str, Any]:
    runtime = ism.Runtime(
        settings=ism.Settings(region=REGION), credentials=lambda settings: CREDENTIALS, sleep=lambda seconds: None
    )
    ism.handler(evt, Context(), runtime=runtime)
    return fake.responses[-1]


def test_create_puts_the_read_only_role_then_maps_the_verifier_to_it(security: tuple[Security, str]) -> None:
    fake, url = security
    answer = run(fake, event(url))
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"opensearch-role-{NAME}"
    assert answer["Data"] == {"RoleName": NAME, "Outcome": "created"}
    assert fake.requests == [
        ("PUT", f"/_plugins/_security/api/roles/{NAME}"),
        ("PUT", f"/_plugins/_security/api/rolesmapping/{NAME}"),
    ]
    assert fake.stores["roles"][NAME] == ROLE
    assert fake.stores["rolesmapping"][NAME] == {"backend_roles": [VERIFIER]}


def test_update_replaces_both_and_repeating_it_changes_nothing(security: tuple[Security, str]) -> None:
    fake, url = security
    run(fake, event(url))
    fake.stores["roles"][NAME] = {"cluster_permissions": ["*"]}  # changed by hand meanwhile
    answer = run(fake, event(url, "Update", PhysicalResourceId=f"opensearch-role-{NAME}"))
    assert answer["Status"] == "SUCCESS" and answer["Data"]["Outcome"] == "updated"
    assert fake.stores["roles"][NAME] == ROLE
    again = run(fake, event(url, "Update", PhysicalResourceId=f"opensearch-role-{NAME}"))
    assert again["Data"]["Outcome"] == "updated" and fake.stores["rolesmapping"][NAME] == {"backend_roles": [VERIFIER]}


def test_a_conflict_is_retried(security: tuple[Security, str]) -> None:
    fake, url = security
    fake.conflicts = 2
    answer = run(fake, event(url))
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert fake.requests.count(("PUT", f"/_plugins/_security/api/roles/{NAME}")) == 3


def test_a_conflict_that_persists_fails_the_deployment_with_the_domains_reason(security: tuple[Security, str]) -> None:
    fake, url = security
    fake.conflicts = 99
    answer = run(fake, event(url))
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == (
        f"OpenSearch rejected role {NAME!r}: HTTP 409: the security index was changed concurrently"
    )
    assert NAME not in fake.stores["rolesmapping"]


def test_delete_removes_the_mapping_and_the_role(security: tuple[Security, str]) -> None:
    fake, url = security
    run(fake, event(url))
    answer = run(fake, event(url, "Delete", PhysicalResourceId=f"opensearch-role-{NAME}"))
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert fake.stores == {"roles": {}, "rolesmapping": {}}
    assert fake.requests[-2:] == [
        ("DELETE", f"/_plugins/_security/api/rolesmapping/{NAME}"),
        ("DELETE", f"/_plugins/_security/api/roles/{NAME}"),
    ]
    # Deleting what is already gone (a failed create rolled back) succeeds too.
    assert run(fake, event(url, "Delete", PhysicalResourceId=f"opensearch-role-{NAME}"))["Status"] == "SUCCESS"


def test_a_renamed_role_gets_a_new_physical_id_so_cloudformation_deletes_the_old(
    security: tuple[Security, str],
) -> None:
    fake, url = security
    run(fake, event(url))
    answer = run(fake, event(url, "Update", name=f"{NAME}-2", PhysicalResourceId=f"opensearch-role-{NAME}"))
    assert answer["PhysicalResourceId"] == f"opensearch-role-{NAME}-2"
    run(fake, event(url, "Delete", name=NAME, PhysicalResourceId=f"opensearch-role-{NAME}"))
    assert set(fake.stores["roles"]) == {f"{NAME}-2"}


def test_an_unsigned_or_wrongly_signed_request_fails_the_deployment(security: tuple[Security, str]) -> None:
    from botocore.credentials import Credentials

    fake, url = security
    runtime = ism.Runtime(
        settings=ism.Settings(region=REGION),
        credentials=lambda settings: Credentials(CREDENTIALS.access_key, "wrong", CREDENTIALS.token),
        sleep=lambda seconds: None,
    )
    ism.handler(event(url), Context(), runtime=runtime)
    answer = fake.responses[-1]
    assert answer["Status"] == "FAILED" and "HTTP 403" in answer["Reason"]
    assert fake.stores["roles"] == {}


def test_a_delete_the_domain_refuses_still_lets_the_stack_finish(security: tuple[Security, str]) -> None:
    """A custom resource that answers FAILED to Delete leaves its stack in DELETE_FAILED (or a
    rolled-back Create in UPDATE_ROLLBACK_FAILED): "Custom resources" troubleshooting,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-delete-stack-fails
    What stays behind is a read-only role mapped to a role being deleted: logged, not blocking."""
    fake, url = security
    run(fake, event(url))
    fake.refuse_deletes = True
    answer = run(fake, event(url, "Delete", PhysicalResourceId=f"opensearch-role-{NAME}"))
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"opensearch-role-{NAME}"
    assert NAME in fake.stores["roles"]  # refused: left in place, and said so in the log
