"""The OpenSearch Service domain itself: its keys, master user, own log groups, network and access.

Everything here is made directly in the LogSearch construct (the domain is its ``Resource``):
construct ids are a contract, and the domain is a retained resource that a moved logical id
would replace. The secure defaults live in :func:`search_domain`: encryption at rest with a
customer managed key, node-to-node encryption, HTTPS only with TLS 1.2+, fine-grained access
control with an IAM master role that only the principals named in config (and the ISM
function) may assume, an access policy that admits only the account's IAM
principals, and slow-search, slow-index, error and audit logs in encrypted log groups.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import jsii
from aws_cdk import ArnFormat, IStableStringProducer, Lazy, Names, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from genba_constructs._names import claim_name
from genba_constructs._secure import REASON_INLINE_POLICY, rotated_key
from genba_constructs._validation import is_unresolved
from genba_constructs.log_search.sizing import SearchSizing
from genba_constructs.nag import acknowledge

if TYPE_CHECKING:
    from genba_constructs.log_search import LogSearch

ES_NAMESPACE = "AWS/ES"
# The domain answers HTTPS only: the one port its security group opens.
HTTPS = ec2.Port.tcp(443)

# The domain's REST verbs, spelled out (genba grants no wildcard actions).
ES_HTTP_ACTIONS = (
    "es:ESHttpGet",
    "es:ESHttpHead",
    "es:ESHttpPost",
    "es:ESHttpPut",
    "es:ESHttpPatch",
    "es:ESHttpDelete",
)

# The domain's own logs; each goes to a log group with id "<kind>Logs".
LOG_KINDS = ("SlowSearch", "SlowIndex", "Error", "Audit")


def default_domain_name(scope: Construct) -> str:
    """A valid domain name (3-28 characters, first a letter) derived from the construct path."""
    raw = Names.unique_resource_name(scope, max_length=28, separator="-").lower()
    raw = re.sub(r"[^a-z0-9-]", "", raw)
    return ("s" + raw)[:28] if not raw[:1].isalpha() else raw[:28]


def domain_arn(scope: Construct, domain_name: str) -> str:
    """The domain's ARN, built from its name (known before the domain exists, so policies can name it)."""
    return Stack.of(scope).format_arn(
        service="es", resource="domain", resource_name=domain_name, arn_format=ArnFormat.SLASH_RESOURCE_NAME
    )


def domain_dimensions(scope: Construct, domain_name: str) -> dict[str, str]:
    """The dimensions OpenSearch Service publishes domain metrics with.

    The L2's own ``metric_*`` methods name the domain by a ``Ref`` to it; genba's alarms and
    dashboard have always named it literally, so the L2 methods are given these dimensions
    (the rendered alarms stay byte for byte as they were).
    """
    return {"DomainName": domain_name, "ClientId": Stack.of(scope).account}


def nag_domain_arn(scope: Construct, domain_name: str) -> str:
    """The domain ARN as cdk-nag prints it in finding ids (pseudo parameters as <AWS::...>)."""
    stack = Stack.of(scope)
    parts = [
        (stack.partition, "<AWS::Partition>"),
        (stack.region, "<AWS::Region>"),
        (stack.account, "<AWS::AccountId>"),
    ]
    partition, region, account = (shown if is_unresolved(value) else value for value, shown in parts)
    return f"arn:{partition}:es:{region}:{account}:domain/{domain_name}"


def new_domain_key(scope: Construct, *, domain_name: str, removal: RemovalPolicy) -> kms.Key:
    """The rotated customer managed key of the domain, its delivery stream and its default backup bucket."""
    return rotated_key(
        scope,
        "Key",
        description=f"Encrypts the log search domain {domain_name}, its ingestion and backups",
        removal=removal,
    )


@jsii.implements(IStableStringProducer)
class LaterRoleArn:
    """The ARN of a role made after the master role (the ISM function's): set before synth."""

    def __init__(self) -> None:
        self.role: iam.IRole | None = None

    def produce(self) -> str | None:
        return self.role.role_arn if self.role is not None else None


def new_master_role(
    scope: Construct, *, domain_name: str, function_role: LaterRoleArn, principal_arns: Sequence[str] = ()
) -> iam.Role:
    """The fine-grained access control master user, assumable only by the principals named.

    Trusted: the ISM custom resource's function role (``function_role``, set once that function
    exists: it applies the index policy, writer role and audit configuration) and each of
    ``principal_arns`` (e.g. an SSO permission-set role). Nobody else, not even the account's
    administrators, through this role: with none named, no person can assume it. An operator
    who needs the security plugin as master adds their role's ARN to ``search.master_principal_arns``
    (cdk.json) and deploys; that change shows in ``cdk diff`` and in the stack's history.
    """
    principals: list[iam.IPrincipal] = [iam.ArnPrincipal(Lazy.string(function_role))]
    principals += [iam.ArnPrincipal(arn) for arn in principal_arns]
    role = iam.Role(
        scope,
        "MasterRole",
        assumed_by=iam.CompositePrincipal(*principals),
        description=f"Fine-grained access control master user of {domain_name}",
    )
    return role


def domain_log_groups(
    scope: Construct,
    *,
    domain_name: str,
    domain_arn: str,
    retention: logs.RetentionDays,
    encryption_key: kms.IKey,
    removal: RemovalPolicy,
) -> tuple[dict[str, logs.LogGroup], logs.ResourcePolicy]:
    """The domain's four log groups (by kind) and the account's resource policy that lets only it write."""
    groups = {
        kind: logs.LogGroup(
            scope,
            f"{kind}Logs",
            log_group_name=f"/aws/opensearch/{domain_name}/{kind.lower()}",
            retention=retention,
            encryption_key=encryption_key,
            removal_policy=removal,
        )
        for kind in LOG_KINDS
    }
    # OpenSearch writes its logs with this account's CloudWatch Logs resource policy.
    policy = logs.ResourcePolicy(
        scope,
        "LogsResourcePolicy",
        resource_policy_name=f"{domain_name}-opensearch-logs",
        policy_statements=[
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("es.amazonaws.com")],
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[group.log_group_arn for group in groups.values()],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
                    "ArnLike": {"aws:SourceArn": domain_arn},
                },
            )
        ],
    )
    return groups, policy


def search_network(
    scope: Construct,
    *,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    zones: int,
    domain_name: str,
) -> tuple[list[ec2.ISubnet], ec2.SecurityGroup | None]:
    """In a VPC: one subnet per zone the domain uses and a security group for HTTPS within it. Else none."""
    if vpc is None:
        return [], None
    selection = vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, one_per_az=True)
    # One subnet per zone the domain uses (a single-node domain takes exactly one).
    subnets = vpc.select_subnets(**selection._values).subnets[:zones]
    group = search_security_group(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description=f"{domain_name}: HTTPS from ingestion and ISM",
        allow_all_outbound=False,
        admitted_as="HTTPS within the search group",
    )
    group.add_egress_rule(group, HTTPS, "HTTPS to the domain")
    return subnets, group


def search_security_group(
    scope: Construct,
    construct_id: str,
    *,
    vpc: ec2.IVpc,
    description: str,
    allow_all_outbound: bool,
    admitted_as: str,
    domain_group: ec2.ISecurityGroup | None = None,
) -> ec2.SecurityGroup:
    """A security group of the search's network, which the domain's group admits over HTTPS (443).

    :param admitted_as: the description of that ingress rule.
    :param domain_group: the domain's group. Default: the group made here is the domain's own
        (Firehose's network interfaces share it with the domain).
    """
    group = ec2.SecurityGroup(
        scope, construct_id, vpc=vpc, description=description, allow_all_outbound=allow_all_outbound
    )
    (domain_group or group).add_ingress_rule(group, HTTPS, admitted_as)
    return group


def search_domain(
    search: LogSearch, *, engine_version: opensearch.EngineVersion | None, removal: RemovalPolicy
) -> opensearch.Domain:
    """The domain (id ``Resource``), sized by the search's sizing, with genba's secure defaults and access policy.

    Made after the search's keys, master role, log groups and network (``LogSearch._build_domain``).
    """
    sizing, domain_arn, log_groups = search.sizing, search.domain_arn, search.log_groups
    subnets, security_group = search.subnets, search.security_group
    zones = sizing.availability_zones
    domain = opensearch.Domain(
        search,
        "Resource",
        domain_name=search.domain_name,
        version=engine_version or opensearch.EngineVersion.OPENSEARCH_2_19,
        capacity=opensearch.CapacityConfig(
            data_node_instance_type=sizing.instance_type,
            data_nodes=sizing.data_nodes,
            master_node_instance_type=sizing.master_instance_type,
            master_nodes=sizing.master_nodes or None,
            multi_az_with_standby_enabled=sizing.multi_az_with_standby,
        ),
        ebs=opensearch.EbsOptions(volume_size=sizing.volume_gib, volume_type=ec2.EbsDeviceVolumeType.GP3),
        zone_awareness=opensearch.ZoneAwarenessConfig(
            enabled=zones > 1, availability_zone_count=zones if zones > 1 else None
        ),
        encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True, kms_key=search.encryption_key),
        node_to_node_encryption=True,
        enforce_https=True,
        tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
        fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=search.master_role.role_arn),
        logging=opensearch.LoggingOptions(
            slow_search_log_enabled=True,
            slow_search_log_group=log_groups["SlowSearch"],
            slow_index_log_enabled=True,
            slow_index_log_group=log_groups["SlowIndex"],
            app_log_enabled=True,
            app_log_group=log_groups["Error"],
            audit_log_enabled=True,
            audit_log_group=log_groups["Audit"],
        ),
        suppress_logs_resource_policy=True,
        enable_auto_software_update=True,
        off_peak_window_enabled=True,
        removal_policy=removal,
        vpc=search.vpc,
        vpc_subnets=[ec2.SubnetSelection(subnets=subnets)] if subnets else None,
        security_groups=[security_group] if security_group else None,
    )
    domain.node.add_dependency(search.logs_resource_policy)
    # The access policy is set on the CloudFormation resource itself (the L2 would add a
    # custom resource for it): only this account's IAM principals, with signed requests.
    cfn = domain.node.default_child
    assert isinstance(cfn, opensearch.CfnDomain)
    cfn.access_policies = iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="AccountPrincipalsOnly",
                principals=[iam.AccountRootPrincipal()],
                actions=list(ES_HTTP_ACTIONS),
                resources=[f"{domain_arn}/*"],
            )
        ]
    ).to_json()
    acknowledge(
        domain,
        "AwsSolutions-OS3",
        "Access is by this account's IAM principals with SigV4-signed requests and fine-grained access control, "
        "not by source IP.",
    )
    return domain


def grant_http(grantee: iam.IGrantable, domain_arn: str, actions: tuple[str, ...]) -> iam.Grant:
    """Allow ``grantee`` the domain's REST ``actions`` (the security plugin still decides what it may do).

    ``<domain arn>/*``: the ESHttp* actions authorize against the request's path under the domain.
    """
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=list(actions or ES_HTTP_ACTIONS),
        resource_arns=[domain_arn, f"{domain_arn}/*"],
    )


def acknowledge_inline_policy(role: iam.IRole) -> None:
    """genba's roles keep their policy inline: it grants what the one role needs and is deleted with it."""
    if isinstance(role, iam.Role):
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", REASON_INLINE_POLICY)


def acknowledge_domain_paths(role: iam.IRole, nag_arn: str) -> None:
    """A role granted the REST paths of this one domain (``<domain arn>/*``): its security plugin decides."""
    if isinstance(role, iam.Role):
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "REST paths of this one domain; the domain's security plugin decides what each role may do.",
            finding=f"Resource::{nag_arn}/*",
        )


def acknowledge_public_endpoint(domain: opensearch.Domain, reason: str) -> None:
    """The domain outside a VPC, acknowledged with the caller's reason."""
    for rule in ("AwsSolutions-OS1", "NIST.800.53.R5-OpenSearchInVPCOnly"):
        acknowledge(domain, rule, reason)


def acknowledge_small_cluster(domain: opensearch.Domain, sizing: SearchSizing, reason: str) -> None:
    """No dedicated masters or no zone awareness (a development domain), acknowledged with the caller's reason."""
    if not sizing.master_nodes:
        acknowledge(domain, "AwsSolutions-OS4", reason)
    if sizing.availability_zones < 2:
        acknowledge(domain, "AwsSolutions-OS7", reason)


def claim_names(search: Construct, name: str) -> None:
    # A domain name, its log groups and its logs resource policy are unique per account and region.
    claim_name(search, "OpenSearch domain name", name, owner="LogSearch", child="Resource")
    for kind in LOG_KINDS:
        claim_name(search, "log group name", f"/aws/opensearch/{name}/{kind.lower()}", owner="LogSearch")
    claim_name(search, "logs resource policy name", f"{name}-opensearch-logs", owner="LogSearch")
