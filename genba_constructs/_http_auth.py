"""How the sync verifier authenticates to an HTTP endpoint target: SigV4 or a header from Secrets Manager.

One mode per target (none: an unauthenticated request, as before):

* ``execute-api``: an API Gateway REST API method with IAM authorization. The verifier signs
  each request with SigV4 (service ``execute-api``) and its role gets ``execute-api:Invoke``
  on that one method ARN (API Gateway developer guide, "Control access to an API with IAM
  permissions": ``arn:<partition>:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>``).
* ``lambda``: a Lambda function URL with ``AuthType`` ``AWS_IAM``. Signed with service
  ``lambda``; the role gets ``lambda:InvokeFunctionUrl`` on the function with the
  ``lambda:FunctionUrlAuthType`` = ``AWS_IAM`` condition and, as Lambda requires for function
  URLs since October 2025, ``lambda:InvokeFunction`` only when invoked through the URL
  (``lambda:InvokedViaFunctionUrl``) ("Control access to Lambda function URLs").
* ``secret``: a header (``Authorization`` unless named) whose value the verifier reads from a
  Secrets Manager secret at run time; the role may read that secret only (and decrypt with its
  key through Secrets Manager, if it has one).

:func:`resolve_auth` checks the props at synth (one line naming construct, prop and value);
:meth:`HttpAuth.bind` grants and returns the handler's part of the target config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import Arn, ArnFormat, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager

from genba_constructs._validation import fail, is_unresolved

NAME = "HttpEndpointTarget"
_PARTITION = r"arn:aws(?:-[a-z]+)*"
EXECUTE_API_ARN = rf"{_PARTITION}:execute-api:[a-z0-9-]+:\d{{12}}:[a-z0-9]+/[^/]+/(POST|\*)/.*"
FUNCTION_ARN = rf"{_PARTITION}:lambda:[a-z0-9-]+:\d{{12}}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?"
# RFC 9110 field-name (a token); headers the signer or the HTTP client set are refused.
_HEADER = r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}"
_RESERVED_HEADERS = {"host", "content-type", "content-length", "x-amz-date", "x-amz-security-token"}
_STAGE = r"[A-Za-z0-9_-]{1,128}"


@dataclass(frozen=True)
class HttpAuth:
    """One resolved auth mode of an :class:`HttpEndpointTarget`."""

    mode: str  # "none", "execute-api", "lambda" or "secret"
    resource_arn: str | None = None
    function_arn: str | None = None
    secret: secretsmanager.ISecret | None = None
    header: str = "Authorization"

    def bind(self, function: lambda_.IFunction) -> dict[str, Any]:
        """Grant ``function`` exactly what this mode needs; the handler's ``auth`` config (empty: none)."""
        if self.mode == "execute-api":
            assert self.resource_arn is not None
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["execute-api:Invoke"], resources=[self.resource_arn])
            )
            return {"auth": {"mode": "sigv4", "service": "execute-api", "region": _region(function, self.resource_arn)}}
        if self.mode == "lambda":
            assert self.function_arn is not None
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunctionUrl"],
                    resources=[self.function_arn],
                    conditions={"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
                )
            )
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[self.function_arn],
                    conditions={"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
                )
            )
            return {"auth": {"mode": "sigv4", "service": "lambda", "region": _region(function, self.function_arn)}}
        if self.mode == "secret":
            assert self.secret is not None
            # GetSecretValue and DescribeSecret on this secret; kms:Decrypt on its key via Secrets Manager only.
            self.secret.grant_read(function)
            return {"auth": {"mode": "secret", "secret_arn": self.secret.secret_arn, "header": self.header}}
        return {}


def _region(scope: lambda_.IFunction, arn: str) -> str:
    """The region to sign for: the ARN's (a token-safe Fn::Select where the ARN is a token)."""
    if not is_unresolved(arn):
        return arn.split(":")[3]
    return Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME).region or Stack.of(scope).region


def resolve_auth(
    *,
    execute_api: apigateway.IRestApi | apigateway.Method | str | None,
    execute_api_stage: str | None,
    execute_api_path: str | None,
    function_url: lambda_.IFunctionUrl | lambda_.IFunction | str | None,
    authorization_secret: secretsmanager.ISecret | None,
    authorization_header: str,
) -> HttpAuth:
    """The one auth mode the props give, checked; a GenbaPropsError line otherwise."""
    given = [
        name
        for name, value in (
            ("execute_api", execute_api),
            ("function_url", function_url),
            ("authorization_secret", authorization_secret),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise fail(
            NAME, given[1], given, "is a second auth mode: give one of execute_api, function_url, authorization_secret"
        )
    _check_header(authorization_header, authorization_secret is not None)
    if execute_api is None and (execute_api_stage is not None or execute_api_path is not None):
        prop = "execute_api_stage" if execute_api_stage is not None else "execute_api_path"
        raise fail(NAME, prop, execute_api_stage or execute_api_path, "is only for execute_api (a RestApi)")
    if execute_api is not None:
        return HttpAuth("execute-api", resource_arn=_method_arn(execute_api, execute_api_stage, execute_api_path))
    if function_url is not None:
        return HttpAuth("lambda", function_arn=_function_arn(function_url))
    if authorization_secret is not None:
        return HttpAuth("secret", secret=authorization_secret, header=authorization_header)
    return HttpAuth("none")


def _check_header(header: str, with_secret: bool) -> None:
    if header != "Authorization" and not with_secret:
        raise fail(NAME, "authorization_header", header, "is only for authorization_secret")
    if is_unresolved(header):
        return
    if not re.fullmatch(_HEADER, header) or header.lower() in _RESERVED_HEADERS or header.lower().startswith("x-amz-"):
        raise fail(NAME, "authorization_header", header, "must be an HTTP header name the verifier does not set itself")


def _method_arn(api: apigateway.IRestApi | apigateway.Method | str, stage: str | None, path: str | None) -> str:
    if isinstance(api, apigateway.Method):
        if stage is not None or path is not None:
            raise fail(
                NAME, "execute_api_stage" if stage else "execute_api_path", stage or path, "comes from the Method"
            )
        if not is_unresolved(api.http_method) and api.http_method not in ("POST", "ANY"):
            raise fail(
                NAME, "execute_api", f"{api.http_method} method", "must be a POST (or ANY) method: the verifier POSTs"
            )
        return api.method_arn
    if isinstance(api, str):
        if stage is not None or path is not None:
            raise fail(NAME, "execute_api_stage" if stage else "execute_api_path", stage or path, "comes from the ARN")
        if not is_unresolved(api) and not re.fullmatch(EXECUTE_API_ARN, api):
            raise fail(
                NAME,
                "execute_api",
                api,
                "must be a POST method's execute-api ARN: "
                "arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/POST/<path>",
            )
        return api
    if stage is None or path is None:
        missing = "execute_api_stage" if stage is None else "execute_api_path"
        raise fail(
            NAME, missing, None, "is needed with a RestApi: the one stage and resource path the verifier POSTs to"
        )
    if not is_unresolved(stage) and not re.fullmatch(_STAGE, stage):
        raise fail(NAME, "execute_api_stage", stage, "is not an API Gateway stage name")
    if not is_unresolved(path) and (not path.startswith("/") or "*" in path or " " in path):
        raise fail(NAME, "execute_api_path", path, "must be the resource path, starting with '/', without wildcards")
    return api.arn_for_execute_api("POST", path, stage)


def _function_arn(target: lambda_.IFunctionUrl | lambda_.IFunction | str) -> str:
    if isinstance(target, str):
        if not is_unresolved(target) and not re.fullmatch(FUNCTION_ARN, target):
            raise fail(
                NAME,
                "function_url",
                target,
                "must be a function ARN: arn:aws:lambda:<region>:<account>:function:<name>",
            )
        return target
    if isinstance(target, lambda_.FunctionUrl) and target.auth_type != lambda_.FunctionUrlAuthType.AWS_IAM:
        raise fail(
            NAME, "function_url", f"auth_type {target.auth_type}", "must be AWS_IAM to be signed (NONE takes no auth)"
        )
    return target.function_arn
