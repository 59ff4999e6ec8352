"""Resource-policy statements genba needs on resources it may not own (an imported bucket or key).

CDK silently drops a statement added to an imported resource (``statement_added`` is False):
the template deploys and the service is later denied. :func:`add_or_warn` adds the statement
where CDK can and otherwise leaves a synth-time warning that gives the owner of the resource
the exact statement to add, as JSON, so the gap is visible in ``cdk synth`` and in tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aws_cdk import Annotations, ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from genba_constructs._validation import is_unresolved


class TakesResourcePolicy(Protocol):
    """A resource with a resource policy (bucket, key, topic, queue)."""

    def add_to_resource_policy(self, statement: iam.PolicyStatement) -> iam.AddToResourcePolicyResult: ...


def any_log_group_arn(stack: Stack) -> str:
    """Every log group of the stack's account and region (``...:log-group:*``), as a source condition."""
    return stack.format_arn(
        service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
    )


def service_statement(
    *, sid: str, service: str, actions: Sequence[str], resources: Sequence[str], conditions: Mapping[str, Any]
) -> iam.PolicyStatement:
    """A resource-policy statement for an AWS service principal (``<service>.amazonaws.com``).

    genba gives every service principal a source condition (``aws:SourceArn``,
    ``aws:SourceAccount``, an encryption context), against the confused deputy: one without is refused.
    """
    if not conditions:
        raise ValueError(f"service_statement {sid}: a service principal needs a source condition")
    return iam.PolicyStatement(
        sid=sid,
        principals=[iam.ServicePrincipal(f"{service}.amazonaws.com")],
        actions=list(actions),
        resources=list(resources),
        conditions=dict(conditions),
    )


def add_or_warn(owner: Construct, resource: TakesResourcePolicy, statement: iam.PolicyStatement, *, what: str) -> bool:
    """Add ``statement`` to ``resource``'s policy; if CDK cannot (imported), warn on ``owner`` with it.

    :param what: the resource as the owner knows it, e.g. ``"the archive bucket"``.
    :returns: whether the statement is in the template.
    """
    if resource.add_to_resource_policy(statement).statement_added:
        return True
    rendered = statement_json(owner, statement)
    sid = statement.sid or "statement"
    Annotations.of(owner).add_warning_v2(
        f"genba:ImportedResourcePolicy:{sid}",
        f"{owner.node.path}: {what} is imported, so CDK cannot add to its resource policy; "
        f"add this statement to it yourself, or the service is denied at run time: {rendered}",
    )
    return False


def statement_json(scope: Construct, statement: iam.PolicyStatement) -> str:
    """The statement as policy JSON, with the stack's account, region and partition filled in where known."""
    stack = Stack.of(scope)
    return json.dumps(_plain(stack, stack.resolve(statement.to_statement_json())), sort_keys=True)


def _plain(stack: Stack, value: Any) -> Any:
    """CloudFormation intrinsics as the text a policy editor takes (``${AWS::AccountId}`` where unknown)."""
    if isinstance(value, list):
        return [_plain(stack, item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        known = {"AWS::AccountId": stack.account, "AWS::Region": stack.region, "AWS::Partition": None}
        concrete = known.get(value["Ref"])
        if value["Ref"] == "AWS::Partition" and not is_unresolved(stack.region):
            concrete = {"cn-": "aws-cn", "us-gov-": "aws-us-gov"}.get(stack.region.split("-")[0] + "-", "aws")
            if stack.region.startswith("us-gov-"):
                concrete = "aws-us-gov"
        if concrete is not None and not is_unresolved(concrete):
            return concrete
        return "${" + str(value["Ref"]) + "}"
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return str(separator).join(str(_plain(stack, part)) for part in parts)
    if set(value) == {"Fn::GetAtt"}:
        return "${" + ".".join(str(part) for part in value["Fn::GetAtt"]) + "}"
    return {key: _plain(stack, item) for key, item in value.items()}
