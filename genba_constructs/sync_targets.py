"""Where a synced change must arrive: the targets the sync verifier can check.

Each target grants the verifier function what it needs and returns the configuration the
handler reads (``lambda/sync_verifier/targets.py`` implements the same four kinds).
"""

from __future__ import annotations

import abc
from typing import Any

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_secretsmanager as secretsmanager

from genba_constructs._http_auth import resolve_auth
from genba_constructs._search_reader import map_reader
from genba_constructs._types import checked
from genba_constructs._validation import GenbaPropsError, is_unresolved, require_range


class SyncTarget(abc.ABC):
    """A system a source table is synced to; the verifier asks it whether each change arrived."""

    kind: str

    @abc.abstractmethod
    def bind(self, function: lambda_.IFunction, *, version_attribute: str) -> dict[str, Any]:
        """Grant ``function`` read access to the target; return the handler's target config."""


class DynamoDbReplicaTarget(SyncTarget):
    """A replica DynamoDB table, read with BatchGetItem (up to 100 keys a call).

    :param table: the replica table (same key schema as the source).
    :param version_attribute: the replica's version attribute. Default: the source's.
    """

    kind = "dynamodb"

    @checked
    def __init__(self, *, table: dynamodb.ITable, version_attribute: str | None = None) -> None:
        self.table = table
        self.version_attribute = version_attribute

    @checked
    def bind(self, function: lambda_.IFunction, *, version_attribute: str) -> dict[str, Any]:
        self.table.grant(function, "dynamodb:BatchGetItem")
        if self.table.encryption_key is not None:
            self.table.encryption_key.grant_decrypt(function)
        return {"table_name": self.table.table_name, "version_attribute": self.version_attribute or version_attribute}


class OpenSearchIndexTarget(SyncTarget):
    """An OpenSearch index with one document per item, read with ``_mget``.

    Document ids: a one-attribute key's value as text (binary: its base64 text); a composite
    key's values as a JSON array in attribute-name order (``["shop|1","42"]``), which no two keys
    share. Versions stored as strings compare as numbers. Keys-only streams: the verifier reads
    the source's key and version (BatchGetItem with a ProjectionExpression).

    :param domain: the OpenSearch Service domain. A genba ``LogSearch`` (or its ``domain``): the
        verifier's role is mapped read-only to the index under fine-grained access control;
        any other domain: synth warns with the role and mapping its owner must add.
    :param index: the index name.
    :param version_field: the document field holding the change's version. Default: the
        source's version attribute.
    """

    kind = "opensearch"

    @checked
    def __init__(self, *, domain: opensearch.IDomain, index: str, version_field: str | None = None) -> None:
        if not is_unresolved(index) and (not index or index != index.lower() or "/" in index):
            raise GenbaPropsError(f"OpenSearchIndexTarget: index={index!r} must be a lower-case index name")
        self.domain = domain
        self.index = index
        self.version_field = version_field

    @checked
    def bind(self, function: lambda_.IFunction, *, version_attribute: str) -> dict[str, Any]:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["es:ESHttpGet", "es:ESHttpPost"],
                resources=[f"{self.domain.domain_arn}/{self.index}/_mget"],
            )
        )
        # Under fine-grained access control the IAM grant alone still gets 403: map the role read-only.
        map_reader(function, self.domain, self.index)
        return {
            "endpoint": f"https://{self.domain.domain_endpoint}",
            "index": self.index,
            "version_field": self.version_field or version_attribute,
            "service": "es",
        }


class HttpEndpointTarget(SyncTarget):
    """An HTTPS endpoint that answers, for a POSTed batch of changes, which arrived.

    Request ``{"changes": [{"id", "key", "sequence", "version", "event_name", "event_time"}]}``;
    answer ``{"results": {"<id>": {"status": "synced" | "not_yet" | "failed", "reason": "..."}}}``.

    At most one way to authenticate (``genba_constructs._http_auth``; none: an unauthenticated POST):

    :param url: the endpoint (https://).
    :param timeout_seconds: per request. Default: 10.
    :param execute_api: an API Gateway REST API method with IAM authorization: a ``RestApi``
        (with ``execute_api_stage`` and ``execute_api_path``), its POST ``Method``, or the
        method's execute-api ARN. Requests are SigV4-signed (``execute-api``); the verifier may
        ``execute-api:Invoke`` that method only. Default: none.
    :param execute_api_stage: the stage of ``execute_api`` (a RestApi). Default: none.
    :param execute_api_path: the resource path of ``execute_api`` (a RestApi), e.g. ``/sync/check``. Default: none.
    :param function_url: a Lambda function URL with ``AWS_IAM`` auth: the ``FunctionUrl``, its
        function, or the function's ARN. Requests are SigV4-signed (``lambda``); the verifier may
        invoke that function through its URL only. Default: none.
    :param authorization_secret: a Secrets Manager secret whose value is sent as
        ``authorization_header`` (read at run time, cached, read again on a 401 or 403, never
        logged); the verifier may read that secret only. Default: none.
    :param authorization_header: the header that carries the secret. Default: ``Authorization``.
    """

    kind = "http"

    @checked
    def __init__(
        self,
        *,
        url: str,
        timeout_seconds: int = 10,
        execute_api: apigateway.IRestApi | apigateway.Method | str | None = None,
        execute_api_stage: str | None = None,
        execute_api_path: str | None = None,
        function_url: lambda_.IFunctionUrl | lambda_.IFunction | str | None = None,
        authorization_secret: secretsmanager.ISecret | None = None,
        authorization_header: str = "Authorization",
    ) -> None:
        if not is_unresolved(url) and not url.startswith("https://"):
            raise GenbaPropsError(f"HttpEndpointTarget: url={url!r} must be an https:// URL")
        require_range("HttpEndpointTarget", "timeout_seconds", timeout_seconds, minimum=1, maximum=60)
        self.url = url
        self.timeout_seconds = timeout_seconds
        #: how the verifier authenticates (mode ``none``, ``execute-api``, ``lambda`` or ``secret``).
        self.auth = resolve_auth(
            execute_api=execute_api,
            execute_api_stage=execute_api_stage,
            execute_api_path=execute_api_path,
            function_url=function_url,
            authorization_secret=authorization_secret,
            authorization_header=authorization_header,
        )

    @checked
    def bind(self, function: lambda_.IFunction, *, version_attribute: str) -> dict[str, Any]:
        return {"url": self.url, "timeout_seconds": self.timeout_seconds, **self.auth.bind(function)}


class LambdaFunctionTarget(SyncTarget):
    """A user-supplied Lambda function that answers like :class:`HttpEndpointTarget` (one invoke per batch).

    :param function: the function the verifier invokes.
    """

    kind = "lambda"

    @checked
    def __init__(self, *, function: lambda_.IFunction) -> None:
        self.function = function

    @checked
    def bind(self, function: lambda_.IFunction, *, version_attribute: str) -> dict[str, Any]:
        self.function.grant_invoke(function)
        return {"function_name": self.function.function_name}
