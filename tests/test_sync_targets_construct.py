"""Sync targets as teams deploy them: authenticated HTTP endpoints, the functions in a VPC, FGAC mapping.

- SigV4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
  API Gateway IAM auth needs ``execute-api:Invoke`` on the method's ARN
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html); a Lambda function
  URL with AWS_IAM auth needs ``lambda:InvokeFunctionUrl`` (and, since October 2025,
  ``lambda:InvokeFunction``) (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html).
- In a VPC the execution role needs the network-interface actions of
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html.
- Fine-grained access control answers 403 to an unmapped role
  (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html#fgac-mapping).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Annotations, Match, Template

from genba_constructs import GenbaPropsError, LogSearch, SyncVerification, add_nag_packs
from genba_constructs.log_search import ISM_CONTRACT
from genba_constructs.sync_targets import DynamoDbReplicaTarget, HttpEndpointTarget, OpenSearchIndexTarget
from tests.conftest import app_of, new_stack
from tests.test_nag_defaults import unacknowledged

PK = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
API_ARN = "arn:aws:execute-api:ap-northeast-1:123456789012:a1b2c3d4e5/prod/POST/sync/check"
FUNCTION_ARN = "arn:aws:lambda:ap-northeast-1:123456789012:function:sync-checker"
URL = "https://sync.example.com/check"


def sync(stack: Stack, target: Any, id: str = "Sync", **props: Any) -> SyncVerification:
    return SyncVerification(
        stack, id, subject=id.lower(), partition_key=PK, target=target, canary_interval=None, **props
    )


def verifier_statements(stack: Stack, verification: SyncVerification) -> list[dict[str, Any]]:
    """The verifier role's statements beyond what every verifier has (logs, X-Ray, queues, the source)."""
    assert verification.verifier.role is not None
    role = stack.resolve(verification.verifier.role.role_name)
    (policy,) = [
        p["Properties"]
        for p in Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [role]
    ]

    def common(statement: dict[str, Any]) -> bool:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        queue_key = set(actions) == {"kms:Decrypt", "kms:GenerateDataKey"}
        return queue_key or all(a.startswith(("logs:", "xray:", "sqs:", "dynamodb:")) for a in actions)

    return [s for s in policy["PolicyDocument"]["Statement"] if not common(s)]


def target_config(stack: Stack) -> Any:
    (function,) = [
        f
        for f in Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
        if "GENBA_SYNC_TARGET_CONFIG" in f["Properties"]["Environment"]["Variables"]
    ]
    value = function["Properties"]["Environment"]["Variables"]["GENBA_SYNC_TARGET_CONFIG"]
    return json.loads(value) if isinstance(value, str) else value


# ---- SigV4 and the secret header ---------------------------------------------------------------


@pytest.mark.parametrize(
    "execute_api",
    [
        lambda s: (
            apigateway.RestApi.from_rest_api_id(s, "Api", "a1b2c3d4e5"),
            {"execute_api_stage": "prod", "execute_api_path": "/sync/check"},
        ),
        lambda s: (API_ARN, {}),
    ],
    ids=["rest-api", "method-arn"],
)
def test_an_iam_rest_api_gets_invoke_on_its_one_method_and_signed_requests(
    fresh_stack: Stack, execute_api: Any
) -> None:
    api, props = execute_api(fresh_stack)
    verification = sync(fresh_stack, HttpEndpointTarget(url=URL, execute_api=api, **props))
    assert verifier_statements(fresh_stack, verification) == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": API_ARN}
    ]
    assert target_config(fresh_stack)["auth"] == {"mode": "sigv4", "service": "execute-api", "region": "ap-northeast-1"}


def test_a_post_method_of_a_rest_api_gives_its_method_arn(fresh_stack: Stack) -> None:
    api = apigateway.RestApi(
        fresh_stack,
        "Api",
        default_method_options=apigateway.MethodOptions(authorization_type=apigateway.AuthorizationType.IAM),
    )
    method = api.root.add_resource("check").add_method("POST", apigateway.MockIntegration())
    verification = sync(fresh_stack, HttpEndpointTarget(url=URL, execute_api=method))
    (statement,) = verifier_statements(fresh_stack, verification)
    assert statement["Action"] == "execute-api:Invoke"
    assert fresh_stack.resolve(method.method_arn) == statement["Resource"]


@pytest.mark.parametrize(
    "function_url",
    [lambda s: FUNCTION_ARN, lambda s: lambda_.Function.from_function_arn(s, "Checker", FUNCTION_ARN)],
    ids=["arn", "function"],
)
def test_a_function_url_with_iam_auth_may_be_invoked_through_the_url_only(
    fresh_stack: Stack, function_url: Any
) -> None:
    verification = sync(fresh_stack, HttpEndpointTarget(url=URL, function_url=function_url(fresh_stack)))
    assert verifier_statements(fresh_stack, verification) == [
        {
            "Action": "lambda:InvokeFunctionUrl",
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
            "Effect": "Allow",
            "Resource": FUNCTION_ARN,
        },
        {
            "Action": "lambda:InvokeFunction",
            "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
            "Effect": "Allow",
            "Resource": FUNCTION_ARN,
        },
    ]
    assert target_config(fresh_stack)["auth"] == {"mode": "sigv4", "service": "lambda", "region": "ap-northeast-1"}


def test_the_secret_header_reads_that_secret_only_and_decrypts_with_its_key(fresh_stack: Stack) -> None:
    key = kms.Key(fresh_stack, "SecretKey", enable_key_rotation=True)
    secret = secretsmanager.Secret(fresh_stack, "Token", encryption_key=key)
    verification = sync(
        fresh_stack, HttpEndpointTarget(url=URL, authorization_secret=secret, authorization_header="X-Sync-Token")
    )
    secret_arn = fresh_stack.resolve(secret.secret_arn)
    assert verifier_statements(fresh_stack, verification) == [
        {
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Effect": "Allow",
            "Resource": secret_arn,
        }
    ]
    # A key of the same stack: CDK grants in its key policy, through Secrets Manager only.
    assert verification.verifier.role is not None
    key_id = fresh_stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    key_resource = Template.from_stack(fresh_stack).to_json()["Resources"][key_id]
    statements = key_resource["Properties"]["KeyPolicy"]["Statement"]
    (decrypt,) = [
        s for s in statements if s["Principal"].get("AWS") == fresh_stack.resolve(verification.verifier.role.role_arn)
    ]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.ap-northeast-1.amazonaws.com"}}
    auth = json.dumps(target_config(fresh_stack))
    assert '\\"mode\\":\\"secret\\"' in auth and "X-Sync-Token" in auth


def test_without_auth_the_config_is_as_before(fresh_stack: Stack) -> None:
    verification = sync(fresh_stack, HttpEndpointTarget(url=URL))
    assert verifier_statements(fresh_stack, verification) == []
    assert target_config(fresh_stack) == {"url": URL, "timeout_seconds": 10}


def _secret(s: Stack) -> secretsmanager.ISecret:
    return secretsmanager.Secret.from_secret_name_v2(s, "S", "sync-token")


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            lambda s: {"execute_api": API_ARN, "function_url": FUNCTION_ARN},
            "HttpEndpointTarget: function_url=['execute_api', 'function_url'] is a second auth mode",
        ),
        (lambda s: {"function_url": FUNCTION_ARN, "authorization_secret": _secret(s)}, "is a second auth mode"),
        (
            lambda s: {"execute_api": apigateway.RestApi.from_rest_api_id(s, "A", "abc")},
            "HttpEndpointTarget: execute_api_stage=None is needed with a RestApi",
        ),
        (
            lambda s: {
                "execute_api": apigateway.RestApi.from_rest_api_id(s, "A", "abc"),
                "execute_api_stage": "prod",
                "execute_api_path": "/*",
            },
            "execute_api_path='/*' must be the resource path",
        ),
        (lambda s: {"execute_api": API_ARN.replace("POST", "GET")}, "must be a POST method's execute-api ARN"),
        (
            lambda s: {"execute_api_stage": "prod"},
            "HttpEndpointTarget: execute_api_stage='prod' is only for execute_api",
        ),
        (
            lambda s: {"function_url": "arn:aws:lambda:ap-northeast-1:123456789012:layer:x"},
            "function_url='arn:aws:lambda:ap-northeast-1:123456789012:layer:x' must be a function ARN",
        ),
        (
            lambda s: {"authorization_header": "X-Token"},
            "HttpEndpointTarget: authorization_header='X-Token' is only for authorization_secret",
        ),
        (
            lambda s: {"authorization_secret": _secret(s), "authorization_header": "X-Amz-Date"},
            "authorization_header='X-Amz-Date' must be an HTTP header name",
        ),
        (
            lambda s: {"authorization_secret": _secret(s), "authorization_header": "Bad Header"},
            "authorization_header='Bad Header' must be an HTTP header name",
        ),
        (lambda s: {"authorization_secret": "arn:aws:secretsmanager:x"}, "HttpEndpointTarget: authorization_secret="),
    ],
)
def test_fails_auth_props_with_one_line_naming_the_prop(fresh_stack: Stack, props: Any, message: str) -> None:
    with pytest.raises(GenbaPropsError) as error:
        HttpEndpointTarget(url=URL, **props(fresh_stack))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_fails_a_function_url_without_iam_auth(fresh_stack: Stack) -> None:
    function = lambda_.Function(
        fresh_stack, "F", runtime=lambda_.Runtime.PYTHON_3_12, handler="i.h", code=lambda_.Code.from_inline("x")
    )
    url = function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
    with pytest.raises(GenbaPropsError, match=r"function_url='auth_type FunctionUrlAuthType\.NONE' must be AWS_IAM"):
        HttpEndpointTarget(url=URL, function_url=url)


# ---- in a VPC ----------------------------------------------------------------------------------


def isolated_vpc(stack: Stack, *, nat: bool = False) -> ec2.Vpc:
    subnet = ec2.SubnetType.PRIVATE_WITH_EGRESS if nat else ec2.SubnetType.PRIVATE_ISOLATED
    configuration = [ec2.SubnetConfiguration(name="app", subnet_type=subnet)]
    if nat:
        configuration.append(ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC))
    return ec2.Vpc(stack, "Vpc", nat_gateways=1 if nat else 0, max_azs=2, subnet_configuration=configuration)


def replica(stack: Stack) -> DynamoDbReplicaTarget:
    return DynamoDbReplicaTarget(table=dynamodb.Table.from_table_name(stack, "Replica", "users-replica"))


def endpoint_warnings(stack: Stack) -> list[str]:
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("VPC endpoints"))
    return [str(entry.entry.data) for entry in found]


def test_the_three_functions_run_in_the_vpcs_private_subnets_with_https_egress_only(fresh_stack: Stack) -> None:
    vpc = isolated_vpc(fresh_stack)
    sync(fresh_stack, replica(fresh_stack), vpc=vpc)
    template = Template.from_stack(fresh_stack)
    functions = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if "GENBA_SYNC_VERIFICATION_QUEUE_URL" in json.dumps(f["Properties"].get("Environment"))
    ]
    subnets = [fresh_stack.resolve(s.subnet_id) for s in vpc.isolated_subnets]
    assert len(functions) == 3
    assert {json.dumps(f["VpcConfig"]["SubnetIds"]) for f in functions} == {json.dumps(subnets)}
    (group,) = [
        g["Properties"]
        for g in template.find_resources("AWS::EC2::SecurityGroup").values()
        if "genba sync" in g["Properties"]["GroupDescription"]
    ]
    assert "SecurityGroupIngress" not in group
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "HTTPS to AWS APIs and the sync target",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


def test_the_roles_may_manage_network_interfaces_in_their_own_subnets_only(fresh_stack: Stack) -> None:
    vpc = isolated_vpc(fresh_stack)
    verification = sync(fresh_stack, replica(fresh_stack), vpc=vpc)
    statements = {s.get("Sid"): s for s in verifier_statements(fresh_stack, verification) if "ec2:" in str(s["Action"])}
    interfaces = "arn:aws:ec2:ap-northeast-1:123456789012:network-interface/*"
    assert statements["DescribeNetworkInterfaces"]["Resource"] == "*"  # the only resource Describe* accept
    assert statements["ManageNetworkInterfaces"] == {
        "Action": ["ec2:AssignPrivateIpAddresses", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"],
        "Effect": "Allow",
        "Resource": interfaces,
        "Sid": "ManageNetworkInterfaces",
    }
    create = statements["CreateOwnNetworkInterfaces"]["Resource"]
    assert create[0] == interfaces and len(create) == 1 + 1 + len(vpc.isolated_subnets)
    roles = Template.from_stack(fresh_stack).find_resources("AWS::IAM::Role")
    assert all(
        "ManagedPolicyArns" not in r["Properties"] for id, r in roles.items() if id.startswith("Sync")
    )  # no AWSLambdaVPCAccessExecutionRole


def test_a_vpc_without_nat_or_endpoints_warns_naming_each_missing_endpoint(fresh_stack: Stack) -> None:
    vpc = isolated_vpc(fresh_stack)
    vpc.add_interface_endpoint("Sqs", service=ec2.InterfaceVpcEndpointAwsService.SQS)
    secret = secretsmanager.Secret.from_secret_name_v2(fresh_stack, "Token", "sync-token")
    sync(fresh_stack, HttpEndpointTarget(url=URL, authorization_secret=secret), vpc=vpc)
    # Added after the construct: the check runs when the app is complete.
    vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
    (warning,) = endpoint_warnings(fresh_stack)
    assert "com.amazonaws.ap-northeast-1.dynamodb-streams (GetShardIterator" in warning
    assert "com.amazonaws.ap-northeast-1.secretsmanager (GetSecretValue" in warning
    assert "egress (a route to the HTTP target" in warning
    assert ".sqs " not in warning and "ap-northeast-1.dynamodb (" not in warning


def test_a_vpc_with_every_endpoint_or_a_nat_gives_no_warning(fresh_stack: Stack) -> None:
    vpc = isolated_vpc(fresh_stack)
    for id, service in (("Sqs", "SQS"), ("Streams", "DYNAMODB_STREAMS")):
        vpc.add_interface_endpoint(id, service=getattr(ec2.InterfaceVpcEndpointAwsService, service))
    vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
    sync(fresh_stack, replica(fresh_stack), vpc=vpc)
    other = new_stack("Other")
    sync(other, replica(other), vpc=isolated_vpc(other, nat=True))
    assert endpoint_warnings(fresh_stack) == [] and endpoint_warnings(other) == []


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            lambda s: {"vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)},
            "vpc_subnets=SubnetSelection",
        ),
        (lambda s: {"security_groups": []}, "SyncVerification: security_groups=[] needs vpc"),
        (
            lambda s: {
                "vpc": isolated_vpc(s, nat=True),
                "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            },
            "selects public subnets",
        ),
        (
            lambda s: {"vpc": isolated_vpc(s), "security_groups": []},
            "SyncVerification: security_groups=[] leaves the functions no security group",
        ),
    ],
)
def test_fails_vpc_props_with_one_line(fresh_stack: Stack, props: Any, message: str) -> None:
    with pytest.raises(GenbaPropsError) as error:
        sync(fresh_stack, replica(fresh_stack), **props(fresh_stack))
    assert message in str(error.value) and "\n" not in str(error.value)


# ---- fine-grained access control ---------------------------------------------------------------


def test_on_a_log_search_the_verifier_role_is_mapped_read_only_by_the_search_ism_function(fresh_stack: Stack) -> None:
    search = LogSearch(fresh_stack, "Search")
    verification = sync(fresh_stack, OpenSearchIndexTarget(domain=search, index="users"))
    (resource,) = Template.from_stack(fresh_stack).find_resources(ISM_CONTRACT["reader_resource_type"]).values()
    props, names = resource["Properties"], ISM_CONTRACT["properties"]
    assert verification.verifier.role is not None
    assert props[names["reader_backend_roles"]] == [fresh_stack.resolve(verification.verifier.role.role_arn)]
    assert props["ServiceToken"] == fresh_stack.resolve(search.index_policy_function.function_arn)
    assert json.loads(props[names["reader_role"]]) == {
        "cluster_permissions": ["indices:data/read/mget"],
        "index_permissions": [
            {
                "allowed_actions": ["indices:data/read/get", "indices:data/read/mget*", "indices:data/read/search"],
                "index_patterns": ["users"],
            }
        ],
    }
    assert props[names["reader_role_name"]].startswith("genba-sync-users-reader-")
    assert resource["DependsOn"] == [fresh_stack.get_logical_id(search.index_policy.node.default_child)]
    assert resource["DeletionPolicy"] == "Delete"  # a removed verifier keeps no access


def test_the_search_domain_itself_counts_as_genbas(fresh_stack: Stack) -> None:
    search = LogSearch(fresh_stack, "Search")
    sync(fresh_stack, OpenSearchIndexTarget(domain=search.domain, index="users"))
    assert len(Template.from_stack(fresh_stack).find_resources(ISM_CONTRACT["reader_resource_type"])) == 1


def test_an_imported_domain_warns_with_the_exact_role_and_mapping(fresh_stack: Stack) -> None:
    domain = opensearch.Domain.from_domain_endpoint(
        fresh_stack, "Ext", "https://search-users-abc.ap-northeast-1.es.amazonaws.com"
    )
    verification = sync(fresh_stack, OpenSearchIndexTarget(domain=domain, index="users"))
    found = Annotations.from_stack(fresh_stack).find_warning(
        "*", Match.string_like_regexp("fine-grained access control")
    )
    (warning,) = [str(entry.entry.data) for entry in found]
    assert verification.verifier.role is not None
    logical = fresh_stack.get_logical_id(verification.verifier.role.node.default_child)
    assert "PUT _plugins/_security/api/roles/genba-sync-users-reader-" in warning
    assert '"index_patterns": ["users"]' in warning and '"indices:data/read/mget*"' in warning
    assert f'{{"backend_roles": ["${{{logical}.Arn}}"]}}' in warning
    assert Template.from_stack(fresh_stack).find_resources(ISM_CONTRACT["reader_resource_type"]) == {}


def test_a_cdk_domain_without_fgac_needs_no_mapping(fresh_stack: Stack) -> None:
    domain = opensearch.Domain(fresh_stack, "Plain", version=opensearch.EngineVersion.OPENSEARCH_2_17)
    sync(fresh_stack, OpenSearchIndexTarget(domain=domain, index="users"))
    assert Annotations.from_stack(fresh_stack).find_warning("*", Match.string_like_regexp("fine-grained")) == []


# ---- the packs ---------------------------------------------------------------------------------


def test_every_auth_mode_and_the_vpc_pass_the_packs_with_genbas_acknowledgements_only(tmp_path: Path) -> None:
    """Findings left are the test's own VPC and secret (the owner's), none on a genba construct."""
    stack = new_stack(outdir=str(tmp_path))
    vpc = isolated_vpc(stack)
    api = apigateway.RestApi.from_rest_api_id(stack, "Api", "a1b2c3d4e5")
    secret = secretsmanager.Secret(stack, "Token")
    targets = [
        HttpEndpointTarget(url=URL, execute_api=api, execute_api_stage="prod", execute_api_path="/sync/check"),
        HttpEndpointTarget(url=URL, function_url=FUNCTION_ARN),
        HttpEndpointTarget(url=URL, authorization_secret=secret),
    ]
    for index, target in enumerate(targets):
        sync(stack, target, id=f"Sync{index}", vpc=vpc if index == 0 else None)
    add_nag_packs(app_of(stack), cfn_lint=False)
    try:
        app_of(stack).synth()
    except RuntimeError as error:  # the test's own VPC and secret have findings: the report lists each
        assert "ValidationFailed" in str(error)
    genba = [f for f in unacknowledged(tmp_path) if " Test/Sync" in f]
    assert genba == []
