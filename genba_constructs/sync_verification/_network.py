"""The sync functions in a VPC: subnets, one HTTPS-only security group, and what the VPC must offer.

In a VPC the functions reach AWS APIs only through a NAT (or another default route) or VPC
endpoints. genba creates neither (they are the network owner's, shared by every workload of
the VPC, and cost per hour); :data:`NEEDED` says which each function calls. When the VPC is a
CDK ``ec2.Vpc`` of the same app with no default route out of the chosen subnets and a needed
endpoint missing, synth warns, naming each one (:class:`_NetworkCheck`).

CloudWatch needs no endpoint: the handlers' metrics are embedded-metric-format log lines,
which Lambda delivers with the logs; Lambda's own service polls the stream and the queues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jsii
from aws_cdk import Annotations, Aspects, IAspect, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct, IConstruct

from genba_constructs._validation import GenbaPropsError, is_unresolved
from genba_constructs.sync_targets import (
    DynamoDbReplicaTarget,
    HttpEndpointTarget,
    LambdaFunctionTarget,
    OpenSearchIndexTarget,
    SyncTarget,
)
from genba_constructs.sync_verification._contract import NAME

#: endpoint service (``com.amazonaws.<region>.<service>``) -> why, per function.
NEEDED = {
    "Forwarder": {"sqs": "SendMessageBatch to the verification queue and the DLQ"},
    "Replay": {
        "sqs": "SendMessageBatch to the verification queue and the DLQ",
        # Interface only, and without private DNS: set AWS_ENDPOINT_URL_DYNAMODB_STREAMS on the replay.
        "dynamodb-streams": "GetShardIterator and GetRecords of failed ranges",
    },
    "Verifier": {
        "sqs": "ChangeMessageVisibility and SendMessage to the DLQ",
        "dynamodb": "BatchGetItem of the source table (gateway or interface endpoint)",
    },
}


def target_needs(target: SyncTarget) -> dict[str, str]:
    """What the verifier's target adds: AWS endpoints, or (key ``egress``) a route to a non-AWS host."""
    if isinstance(target, DynamoDbReplicaTarget):
        return {"dynamodb": "BatchGetItem of the replica table"}
    if isinstance(target, LambdaFunctionTarget):
        return {"lambda": "Invoke of the target function"}
    if isinstance(target, HttpEndpointTarget):
        needs = {"egress": "a route to the HTTP target (NAT, or the endpoint inside the VPC)"}
        if target.auth.mode == "secret":
            needs["secretsmanager"] = "GetSecretValue of the authorization secret"
        return needs
    if isinstance(target, OpenSearchIndexTarget):
        return {"egress": "a route to the OpenSearch domain (a domain in this VPC, or NAT)"}
    return {}


@dataclass(frozen=True)
class SyncNetwork:
    """Where the sync functions run: the VPC, its chosen subnets, their security groups."""

    vpc: ec2.IVpc
    subnets: list[ec2.ISubnet]
    security_groups: list[ec2.ISecurityGroup]


def build_network(
    scope: Construct,
    *,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
    target: SyncTarget,
) -> SyncNetwork | None:
    """The functions' network (None: outside a VPC, as before); warns at synth about what is missing."""
    if vpc is None:
        for prop, value in (("vpc_subnets", vpc_subnets), ("security_groups", security_groups)):
            if value is not None:
                raise GenbaPropsError(f"{NAME}: {prop}={value!r} needs vpc")
        return None
    selected = vpc.select_subnets(**_selection(vpc_subnets))
    if not selected.subnets:
        raise GenbaPropsError(f"{NAME}: vpc_subnets={vpc_subnets!r} selects no subnet of the vpc")
    if selected.has_public:
        raise GenbaPropsError(
            f"{NAME}: vpc_subnets={vpc_subnets!r} selects public subnets: a Lambda function there gets no "
            "public IP and cannot reach AWS APIs; choose private or isolated subnets"
        )
    groups: list[ec2.ISecurityGroup] = (
        list(security_groups) if security_groups is not None else [_https_only_group(scope, vpc, target)]
    )
    if not groups:
        raise GenbaPropsError(f"{NAME}: security_groups=[] leaves the functions no security group")
    network = SyncNetwork(vpc=vpc, subnets=list(selected.subnets), security_groups=groups)
    if isinstance(vpc, ec2.Vpc):
        needs = {**{s: w for function in NEEDED.values() for s, w in function.items()}, **target_needs(target)}
        Aspects.of(scope).add(_NetworkCheck(scope, network, needs))
    return network


def _https_only_group(scope: Construct, vpc: ec2.IVpc, target: SyncTarget) -> ec2.SecurityGroup:
    """One group for the three functions: no ingress (nothing connects to them), egress HTTPS only
    (443, and an HTTP target's own port where its URL names one)."""
    group = ec2.SecurityGroup(
        scope,
        "FunctionSecurityGroup",
        vpc=vpc,
        description="genba sync functions: HTTPS out to AWS APIs and the sync target, nothing in",
        allow_all_outbound=False,
    )
    group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs and the sync target")
    if isinstance(target, HttpEndpointTarget) and not is_unresolved(target.url):
        port = urlsplit(target.url).port
        if port is not None and port != 443:
            group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(port), "HTTPS to the sync target's port")
    return group


@jsii.implements(IAspect)
class _NetworkCheck:
    """At synth, once the app is complete: warn on the construct about every needed endpoint the VPC lacks."""

    def __init__(self, owner: Construct, network: SyncNetwork, needs: dict[str, str]) -> None:
        self.owner, self.network, self.needs = owner, network, needs
        self.done = False

    def visit(self, node: IConstruct) -> None:
        if self.done or node is not self.owner:
            return
        self.done = True
        if _has_default_route(self.network):
            return
        present = _endpoint_services(self.owner, self.network.vpc)
        missing = [f"{service} ({why})" for service, why in self.needs.items() if service not in present]
        if missing:
            region = Stack.of(self.owner).region
            prefix = f"com.amazonaws.{region if not is_unresolved(region) else '<region>'}."
            listed = "; ".join(m if m.startswith("egress") else prefix + m for m in missing)
            Annotations.of(self.owner).add_warning_v2(
                "genba:SyncVpcEndpoints",
                f"{self.owner.node.path}: the sync functions run in {self.network.vpc.node.path}, which has no NAT "
                f"or other default route and lacks what they call: {listed}. Add these VPC endpoints (or a NAT "
                "gateway), or the functions time out; see docs/constructs/sync_verification.md#in-a-vpc",
            )


def _has_default_route(network: SyncNetwork) -> bool:
    """A 0.0.0.0/0 route from a chosen subnet through a NAT gateway, instance, transit gateway or interface."""
    route_tables = {Stack.of(network.vpc).resolve(s.route_table.route_table_id).__repr__() for s in network.subnets}
    for child in network.vpc.node.find_all():
        if isinstance(child, ec2.CfnRoute) and child.destination_cidr_block == "0.0.0.0/0":
            if Stack.of(child).resolve(child.route_table_id).__repr__() not in route_tables:
                continue
            if child.nat_gateway_id or child.instance_id or child.transit_gateway_id or child.network_interface_id:
                return True
    return False


def _endpoint_services(scope: Construct, vpc: ec2.IVpc) -> set[str]:
    """The services of the app's VPC endpoints in ``vpc`` (interface and gateway), by their last name part."""
    stack = Stack.of(vpc)
    vpc_id = repr(stack.resolve(vpc.vpc_id))
    services: set[str] = set()
    for child in scope.node.root.node.find_all():
        if not isinstance(child, ec2.CfnVPCEndpoint) or repr(Stack.of(child).resolve(child.vpc_id)) != vpc_id:
            continue
        resolved = Stack.of(child).resolve(child.service_name)
        parts = resolved if isinstance(resolved, str) else "".join(_texts(resolved))
        services.add(parts.rstrip(".").rsplit(".", 1)[-1])
    return services


def _texts(value: object) -> list[str]:
    """The literal text parts of a resolved Fn::Join (the service name around region tokens)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict) and "Fn::Join" in value:
        return _texts(value["Fn::Join"][1])
    return []


def _selection(selection: ec2.SubnetSelection | None) -> dict[str, Any]:
    """A SubnetSelection as ``select_subnets`` keyword arguments (the Python binding takes no struct)."""
    if selection is None:
        return {}
    fields = ("availability_zones", "one_per_az", "subnet_filters", "subnet_group_name", "subnets", "subnet_type")
    return {name: getattr(selection, name) for name in fields if getattr(selection, name) is not None}
