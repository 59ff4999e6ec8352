"""How old indices go away and who may write them: the ISM policy, index template and writer role.

CloudFormation cannot reach inside OpenSearch, so a custom resource does: a Lambda function
(handler: ``lambda/opensearch_ism``) assumes the domain's master role and, with SigV4-signed
requests to the domain's REST API, puts

* an ISM policy that deletes ``<index_name>-*`` indices ``index_retention_days`` after creation,
* an index template (one shard, one copy per zone the domain spans),
* a security-plugin role that may write only those indices, with Firehose's delivery role
  mapped to it as a backend role (fine-grained access control answers 403 to an unmapped role),
* the security plugin's audit log configuration (:func:`audit_config`): without it the domain
  publishes ``AUDIT_LOGS`` to its audit log group and the group stays empty.

What the construct and the handler agree on (environment variable and property names) is
``lambda/opensearch_ism/contract.json``, read here once. Everything is made under the
``IndexPolicy`` construct; its ``Resource`` is the custom resource.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnResource, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from genba_constructs._secure import (
    REASON_XRAY_NO_RESOURCE,
    dead_letter_queue,
    function_log_group,
    function_role,
    genba_function,
    write_own_logs,
)
from genba_constructs.alarms import AlarmFactory, AlarmSet, AlarmSpec, Thresholds
from genba_constructs.handler_code import handler_code_path
from genba_constructs.handler_runtime import POWERTOOLS_SERVICE_NAME
from genba_constructs.log_search._domain import acknowledge_inline_policy, search_security_group
from genba_constructs.log_search._ingestion import default_policy
from genba_constructs.log_search.sizing import SearchSizing
from genba_constructs.nag import acknowledge

if TYPE_CHECKING:
    from genba_constructs.log_search import LogSearch

ISM_FUNCTION = "opensearch_ism"
ISM_CONTRACT: dict[str, Any] = json.loads((Path(handler_code_path(ISM_FUNCTION)) / "contract.json").read_text())


def ism_policy(index_name: str, retention_days: int) -> dict[str, Any]:
    """The ISM policy body: indices of ``index_name`` are deleted ``retention_days`` after creation."""
    return {
        "policy": {
            "description": f"genba: delete {index_name} indices {retention_days} days after creation",
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [],
                    "transitions": [{"state_name": "delete", "conditions": {"min_index_age": f"{retention_days}d"}}],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": [f"{index_name}-*"], "priority": 100}],
        }
    }


def audit_config() -> dict[str, Any]:
    """The security plugin's audit logging: on, for REST and transport, without request bodies.

    Failed logins, missing privileges, index and security configuration changes are logged;
    successful authentication and granted privileges are not (every Firehose bulk request would
    be one). Request bodies and sensitive headers stay out: audit events hold who did what, not
    the log documents themselves. The shape is the one OpenSearch Service documents for
    ``PUT _plugins/_security/api/audit/config`` (a PUT replaces the whole configuration).
    """
    quiet = ["GRANTED_PRIVILEGES", "AUTHENTICATED"]
    return {
        "enabled": True,
        "audit": {
            "enable_rest": True,
            "disabled_rest_categories": quiet,
            "enable_transport": True,
            "disabled_transport_categories": quiet,
            "resolve_bulk_requests": False,
            "log_request_body": False,
            "resolve_indices": True,
            "exclude_sensitive_headers": True,
            "ignore_users": ["kibanaserver"],
            "ignore_requests": [],
        },
        "compliance": {
            "enabled": True,
            "internal_config": True,
            "external_config": False,
            "read_metadata_only": True,
            "read_watched_fields": {},
            "read_ignore_users": ["kibanaserver"],
            "write_metadata_only": True,
            "write_log_diffs": False,
            "write_watched_indices": [],
            "write_ignore_users": ["kibanaserver"],
        },
    }


def index_template(index_name: str, sizing: SearchSizing) -> dict[str, Any]:
    """Settings of new log indices: one copy per zone (primary + replicas), at most two on one zone."""
    zones = sizing.availability_zones
    copies = zones if zones > 1 else min(2, sizing.data_nodes)
    return {
        "index_patterns": [f"{index_name}-*"],
        "priority": 100,
        "template": {"settings": {"index": {"number_of_shards": 1, "number_of_replicas": copies - 1}}},
    }


def writer_role(index_name: str) -> dict[str, Any]:
    """The security-plugin role Firehose's delivery role is mapped to: write its own indices, nothing else."""
    return {
        "cluster_permissions": ["cluster_composite_ops", "cluster_monitor"],
        "index_permissions": [
            {"index_patterns": [f"{index_name}-*"], "allowed_actions": ["create_index", "crud", "manage"]}
        ],
    }


class IndexPolicy(Construct):
    """The custom resource (``Resource``) that applies the ISM policy, index template and writer role.

    :param search: the search whose domain's REST API the function calls (via its master role), and
        whose delivery role is mapped to the writer role; in its VPC when it has one. Its dead-letter
        alarm is ``<subject>-index-policy``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        search: LogSearch,
        retention_days: int,
        log_retention: logs.RetentionDays,
        removal: RemovalPolicy,
        alarm_factory: AlarmFactory,
    ) -> None:
        super().__init__(scope, id)
        domain_name, index_name, encryption_key = search.domain_name, search.index_name, search.encryption_key
        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            key=encryption_key,
            removal=removal,
            reason="This queue is the dead-letter queue of the ISM policy function, the end of its chain: nothing "
            "consumes it, and its 'DLQ not empty' alarm calls a person.",
        )
        self.function = self._function(search, log_retention=log_retention, removal=removal)
        self.alarms: AlarmSet = alarm_factory.create_all(
            self,
            subject=f"{search.subject}-index-policy",
            specs=[
                AlarmSpec(
                    runbook="dlq-not-empty",
                    summary=f"A deployment event for the ISM policy of {domain_name} failed every retry.",
                    first_check="the messages in the dead-letter queue and the function's log group.",
                    metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                        statistic="Maximum", period=Duration.minutes(5)
                    ),
                    thresholds=Thresholds(critical=1),
                    comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            ],
        )
        props = ISM_CONTRACT["properties"]
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.function_arn,
            resource_type=ISM_CONTRACT["resource_type"],
            properties={
                props["endpoint"]: search.domain.domain_endpoint,
                props["policy_id"]: f"{index_name}-retention",
                props["policy"]: json.dumps(ism_policy(index_name, retention_days), sort_keys=True),
                props["index_template_name"]: f"{index_name}-template",
                props["index_template"]: json.dumps(index_template(index_name, search.sizing), sort_keys=True),
                props["writer_role_name"]: f"{index_name}_writer",
                props["writer_role"]: json.dumps(writer_role(index_name), sort_keys=True),
                props["writer_backend_roles"]: [search.delivery_role.role_arn],
                props["audit_config"]: json.dumps(audit_config(), sort_keys=True),
            },
            removal_policy=RemovalPolicy.RETAIN if removal == RemovalPolicy.RETAIN else RemovalPolicy.DESTROY,
        )

    def _function(
        self, search: LogSearch, *, log_retention: logs.RetentionDays, removal: RemovalPolicy
    ) -> lambda_.Function:
        """The handler: its own log group and role (no AWSLambdaBasicExecutionRole), the master role to assume;
        in the search's subnets (and a security group its domain admits) when the search is in a VPC."""
        domain_name, master_role, encryption_key = search.domain_name, search.master_role, search.encryption_key
        vpc, subnets, domain_security_group = search.vpc, search.subnets, search.security_group
        function_logs = function_log_group(
            self, "FunctionLogs", key=search.log_encryption_key, retention=log_retention, removal=removal
        )
        role = function_role(
            self, "FunctionRole", description=f"The ISM policy function of {domain_name}: its own logs, the master role"
        )
        if subnets:  # ENIs in the VPC: AWS's managed policy is the documented way
            role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
            )
            acknowledge(
                role,
                "AwsSolutions-IAM4",
                "AWS's managed policy is the documented minimum for a function's network interfaces in a VPC.",
                finding="Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
            )
        security_groups = None
        if vpc is not None and domain_security_group is not None:
            security_groups = [self._security_group(vpc, domain_security_group, domain_name)]
        function = genba_function(
            self,
            "Function",
            code=ISM_FUNCTION,
            description=f"Applies the ISM policy and log writer role of {domain_name}",
            role=role,
            log_group=function_logs,
            timeout=Duration.minutes(2),
            reserved_concurrency=1,
            environment={
                ISM_CONTRACT["environment"]["master_role_arn"]: master_role.role_arn,
                POWERTOOLS_SERVICE_NAME: "genba-opensearch-ism",
            },
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
            vpc=vpc,
            subnets=subnets,
            security_groups=security_groups,
        )
        master_role.grant_assume_role(role)
        # Lambda sends failed events to the dead-letter queue as the function: the queue's key too.
        encryption_key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        # Its own log group instead of AWSLambdaBasicExecutionRole's logs:* on every log group.
        write_own_logs(role, function_logs, sid="WriteOwnLogs")
        # CDK repeats the role (already a GetAtt) in DependsOn; wait only for its policy.
        cfn_function = function.node.default_child
        assert isinstance(cfn_function, CfnResource)
        cfn_function.add_override("DependsOn", [Stack.of(self).get_logical_id(default_policy(role))])
        self._acknowledge(role, function)
        return function

    def _security_group(
        self, vpc: ec2.IVpc, domain_security_group: ec2.ISecurityGroup, domain_name: str
    ) -> ec2.SecurityGroup:
        """The function calls STS and answers CloudFormation's pre-signed S3 URL: it needs egress."""
        return search_security_group(
            self,
            "FunctionSecurityGroup",
            vpc=vpc,
            description=f"{domain_name} ISM function: HTTPS to the domain, STS and CloudFormation",
            allow_all_outbound=True,
            admitted_as="HTTPS from the ISM function",
            domain_group=domain_security_group,
        )

    def acknowledge_outside_vpc(self, reason: str) -> None:
        """Acknowledge that the function runs outside a VPC (as the domain does), with the caller's reason."""
        acknowledge(self.function, "NIST.800.53.R5-LambdaInsideVPC", reason)

    @staticmethod
    def _acknowledge(role: iam.Role, function: lambda_.Function) -> None:
        acknowledge_inline_policy(role)
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            REASON_XRAY_NO_RESOURCE,
            finding="Resource::*",
        )
        acknowledge(
            function,
            "Serverless-LambdaAsyncFailureDestination",
            "Events that fail every retry go to the function's dead-letter queue, which has a 'DLQ not empty' alarm.",
        )
