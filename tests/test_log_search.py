"""LogSearch: the domain's secure defaults, sizing, ingestion, index policy and alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from genba_constructs import AlarmSet, GenbaPropsError, LogSearch, LogSearchAlarmSettings, SearchSizing, Severity
from genba_constructs.log_search import ISM_CONTRACT, free_storage_threshold_mib
from tests.conftest import app_of, new_stack

PROD_SIZING = SearchSizing(
    instance_type="r6g.large.search",
    data_nodes=3,
    volume_gib=200,
    availability_zones=3,
    master_instance_type="m6g.large.search",
    master_nodes=3,
    multi_az_with_standby=True,
)


def _build(**props: Any) -> tuple[LogSearch, Template]:
    stack = new_stack()
    search = LogSearch(stack, "Search", **props)
    search.subscribe(logs.LogGroup(stack, "Audit"))
    return search, Template.from_stack(stack)


@pytest.fixture(scope="module")
def default() -> tuple[LogSearch, Template]:
    return _build()


@pytest.fixture(scope="module")
def prod() -> tuple[LogSearch, Template]:
    return _build(
        sizing=PROD_SIZING,
        domain_name="audit-search",
        index_name="audit-logs",
        index_retention_days=90,
        alarm_settings=LogSearchAlarmSettings(cpu_utilization_percent=70),
    )


def domain_props(template: Template) -> dict[str, Any]:
    (domain,) = template.find_resources("AWS::OpenSearchService::Domain").values()
    return dict(domain["Properties"])


def logical_id(construct: Any) -> str:
    """The logical id of a construct's CloudFormation resource (or of the resource itself)."""
    resource = getattr(construct.node, "default_child", None) or construct
    return Stack.of(construct).get_logical_id(resource)


def arn_of(construct: Any) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(construct), "Arn"]}


def joined_json(value: Any) -> Any:
    """A JSON document CloudFormation joins from strings and references, parsed; ``GetAtt X Arn`` reads ``<X.Arn>``."""
    separator, parts = value["Fn::Join"]
    text = separator.join(p if isinstance(p, str) else "<{}.{}>".format(*p["Fn::GetAtt"]) for p in parts)
    return json.loads(text)


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        # Metric math alarms (the subscription's) have no single MetricName; the warning of a pair wins.
        if "MetricName" in a["Properties"] and not a["Properties"]["AlarmName"].endswith("firehose-delivery-critical")
    }


# ------------------------------------------------------------------------------ secure defaults
def test_domain_is_encrypted_at_rest_with_its_own_rotated_key(default: tuple[LogSearch, Template]) -> None:
    search, template = default
    encryption = domain_props(template)["EncryptionAtRestOptions"]
    assert encryption == {"Enabled": True, "KmsKeyId": {"Ref": logical_id(search.encryption_key)}}
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_domain_encrypts_between_nodes_and_accepts_only_tls_1_2(default: tuple[LogSearch, Template]) -> None:
    props = domain_props(default[1])
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert props["DomainEndpointOptions"]["TLSSecurityPolicy"] == "Policy-Min-TLS-1-2-2019-07"


def test_fine_grained_access_control_has_an_iam_master_role(default: tuple[LogSearch, Template]) -> None:
    search, template = default
    options = domain_props(template)["AdvancedSecurityOptions"]
    assert options["Enabled"] is True
    assert options["InternalUserDatabaseEnabled"] is False
    assert options["MasterUserOptions"] == {"MasterUserARN": arn_of(search.master_role)}


def test_access_policy_admits_only_the_accounts_principals_for_rest_verbs(default: tuple[LogSearch, Template]) -> None:
    (statement,) = domain_props(default[1])["AccessPolicies"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert all("*" not in action for action in statement["Action"])
    assert statement["Resource"] == f"arn:aws:es:ap-northeast-1:123456789012:domain/{default[0].domain_name}/*"


def test_no_custom_resource_is_needed_for_the_access_or_logs_policy(default: tuple[LogSearch, Template]) -> None:
    template = default[1]
    assert template.find_resources("Custom::OpenSearchAccessPolicy") == {}
    assert template.find_resources("Custom::CloudwatchLogResourcePolicy") == {}
    template.resource_count_is("AWS::Logs::ResourcePolicy", 1)


def test_all_four_domain_logs_go_to_encrypted_retained_log_groups(default: tuple[LogSearch, Template]) -> None:
    template = default[1]
    published = domain_props(template)["LogPublishingOptions"]
    assert set(published) == {"SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"}
    assert all(option["Enabled"] is True for option in published.values())
    groups = template.find_resources(
        "AWS::Logs::LogGroup", {"Properties": {"LogGroupName": Match.string_like_regexp("^/aws/opensearch/")}}
    )
    assert len(groups) == 4
    for group in groups.values():
        assert group["DeletionPolicy"] == "Retain"
        assert group["Properties"]["RetentionInDays"] == 30
        assert "KmsKeyId" in group["Properties"]


def test_logs_resource_policy_lets_only_this_domain_write(default: tuple[LogSearch, Template]) -> None:
    search, template = default
    (policy,) = template.find_resources("AWS::Logs::ResourcePolicy").values()
    (statement,) = joined_json(policy["Properties"]["PolicyDocument"])["Statement"]
    assert statement == {
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Condition": {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnLike": {"aws:SourceArn": f"arn:aws:es:ap-northeast-1:123456789012:domain/{search.domain_name}"},
        },
        "Effect": "Allow",
        "Principal": {"Service": "es.amazonaws.com"},
        "Resource": [f"<{logical_id(group)}.Arn>" for group in search.log_groups.values()],
    }


def test_domain_is_retained_by_default(default: tuple[LogSearch, Template]) -> None:
    (domain,) = default[1].find_resources("AWS::OpenSearchService::Domain").values()
    assert domain["DeletionPolicy"] == "Retain"


# ------------------------------------------------------------------------------------- sizing
def test_default_sizing_is_one_small_node_without_zone_awareness_or_standby(
    default: tuple[LogSearch, Template],
) -> None:
    cluster = domain_props(default[1])["ClusterConfig"]
    assert cluster["InstanceType"] == "t3.small.search"
    assert cluster["InstanceCount"] == 1
    assert cluster["ZoneAwarenessEnabled"] is False
    assert cluster["MultiAZWithStandbyEnabled"] is False
    assert cluster.get("DedicatedMasterEnabled", False) is False


def test_prod_sizing_spreads_over_three_zones_with_masters_and_standby(prod: tuple[LogSearch, Template]) -> None:
    props = domain_props(prod[1])
    cluster = props["ClusterConfig"]
    assert cluster["ZoneAwarenessEnabled"] is True
    assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 3}
    assert cluster["DedicatedMasterEnabled"] is True
    assert cluster["DedicatedMasterCount"] == 3
    assert cluster["DedicatedMasterType"] == "m6g.large.search"
    assert cluster["MultiAZWithStandbyEnabled"] is True
    assert props["EBSOptions"]["VolumeSize"] == 200
    assert props["EBSOptions"]["VolumeType"] == "gp3"


BAD_SIZINGS = [
    (
        {
            "instance_type": "t3.medium.search",
            "data_nodes": 3,
            "availability_zones": 3,
            "master_instance_type": "m6g.large.search",
            "master_nodes": 3,
            "multi_az_with_standby": True,
        },
        "instance_type",
        "Multi-AZ with Standby",
    ),
    ({"master_instance_type": "m6g.large.search", "master_nodes": 4}, "master_nodes", "even"),
    ({"data_nodes": 2, "availability_zones": 3}, "data_nodes", "multiple of availability_zones (3)"),
    (
        {"multi_az_with_standby": True, "instance_type": "r6g.large.search", "data_nodes": 2, "availability_zones": 2},
        "availability_zones",
        "must be 3",
    ),
    ({"master_nodes": 3}, "master_instance_type", "required"),
    ({"instance_type": "r6g.large"}, "instance_type", "not an OpenSearch instance type"),
]


@pytest.mark.parametrize(("sizing", "key", "words"), BAD_SIZINGS, ids=[b[1] + "-" + b[2] for b in BAD_SIZINGS])
def test_fails_bad_sizing_before_synth(sizing: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(GenbaPropsError) as raised:
        LogSearch(new_stack(), "Search", sizing=SearchSizing(**sizing))
    assert f"sizing.{key}=" in str(raised.value)
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("prop", "value"),
    [("domain_name", "Bad_Name"), ("index_name", "Logs!"), ("log_retention_days", 42), ("index_retention_days", 0)],
)
def test_fails_bad_props_naming_them(prop: str, value: Any) -> None:
    with pytest.raises(GenbaPropsError, match=prop):
        LogSearch(new_stack(), "Search", **{prop: value})


# ---------------------------------------------------------------------------------- ingestion
def firehose(template: Template) -> dict[str, Any]:
    (stream,) = template.find_resources("AWS::KinesisFirehose::DeliveryStream").values()
    return dict(stream["Properties"])


def test_firehose_rotates_indices_daily_and_retries(default: tuple[LogSearch, Template]) -> None:
    destination = firehose(default[1])["AmazonopensearchserviceDestinationConfiguration"]
    assert destination["IndexName"] == "logs"
    assert destination["IndexRotationPeriod"] == "OneDay"
    assert destination["RetryOptions"] == {"DurationInSeconds": 300}


def test_firehose_decompresses_and_extracts_cloudwatch_messages(default: tuple[LogSearch, Template]) -> None:
    processors = firehose(default[1])["AmazonopensearchserviceDestinationConfiguration"]["ProcessingConfiguration"]
    assert processors["Enabled"] is True
    assert [(p["Type"], p["Parameters"][0]["ParameterName"]) for p in processors["Processors"]] == [
        ("Decompression", "CompressionFormat"),
        ("CloudWatchLogProcessing", "DataMessageExtraction"),
    ]


def test_failed_documents_only_are_backed_up_under_their_own_prefix(default: tuple[LogSearch, Template]) -> None:
    destination = firehose(default[1])["AmazonopensearchserviceDestinationConfiguration"]
    assert destination["S3BackupMode"] == "FailedDocumentsOnly"
    assert destination["S3Configuration"]["Prefix"] == "search-failed/logs/"
    assert destination["S3Configuration"]["ErrorOutputPrefix"] == "search-errors/logs/"
    assert "AWSKMSKeyARN" in destination["S3Configuration"]["EncryptionConfiguration"]["KMSEncryptionConfig"]


def test_delivery_errors_are_logged(default: tuple[LogSearch, Template]) -> None:
    logging_options = firehose(default[1])["AmazonopensearchserviceDestinationConfiguration"][
        "CloudWatchLoggingOptions"
    ]
    assert logging_options["Enabled"] is True
    assert logging_options["LogStreamName"]


def test_stream_is_encrypted_with_the_cmk(default: tuple[LogSearch, Template]) -> None:
    assert firehose(default[1])["DeliveryStreamEncryptionConfigurationInput"]["KeyType"] == "CUSTOMER_MANAGED_CMK"


def test_default_backup_bucket_is_encrypted_versioned_tls_only_and_access_logged(
    default: tuple[LogSearch, Template],
) -> None:
    template = default[1]
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": Match.any_value(),
                            }
                        }
                    )
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "backup-bucket/"}),
        },
    )
    # Both buckets (the backup and its access logs) refuse requests without TLS.
    template.resource_count_is("AWS::S3::BucketPolicy", 2)
    template.all_resources_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": Match.object_like(
                {
                    "Statement": Match.array_with(
                        [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                    )
                }
            )
        },
    )


def test_given_backup_bucket_is_used_and_none_is_created() -> None:
    stack = new_stack()
    archive = s3.Bucket(stack, "Archive")
    LogSearch(stack, "Search", backup_bucket=archive)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::S3::Bucket", 1)
    s3_config = firehose(template)["AmazonopensearchserviceDestinationConfiguration"]["S3Configuration"]
    assert s3_config["BucketARN"] == arn_of(archive)


def test_subscription_uses_a_role_cloudwatch_logs_can_assume(default: tuple[LogSearch, Template]) -> None:
    search, template = default
    (subscription,) = template.find_resources("AWS::Logs::SubscriptionFilter").values()
    assert subscription["Properties"]["DestinationArn"] == arn_of(search.delivery_stream)
    assert subscription["Properties"]["RoleArn"] == arn_of(search.subscription_role)
    role = template.to_json()["Resources"][logical_id(search.subscription_role)]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Action"], trust["Principal"]) == ("sts:AssumeRole", {"Service": "logs.ap-northeast-1.amazonaws.com"})
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": logical_id(search.subscription_role)}],
            "PolicyDocument": Match.object_like(
                {
                    "Statement": [
                        {
                            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                            "Effect": "Allow",
                            "Resource": arn_of(search.delivery_stream),
                        }
                    ]
                }
            ),
        },
    )


def test_grant_http_returns_the_grant_of_the_domains_rest_paths() -> None:
    stack = new_stack()
    search = LogSearch(stack, "Search")
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    grant = search.grant_http(reader, "es:ESHttpGet")
    assert isinstance(grant, iam.Grant) and grant.success
    domain_arn = stack.resolve(search.domain_arn)
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [{"Ref": logical_id(reader)}],
            "PolicyDocument": Match.object_like(
                {
                    "Statement": [
                        {
                            "Action": "es:ESHttpGet",
                            "Effect": "Allow",
                            "Resource": [domain_arn, stack.resolve(f"{search.domain_arn}/*")],
                        }
                    ]
                }
            ),
        },
    )


# ---------------------------------------------------------------------------- index lifecycle
def test_ism_policy_deletes_indices_after_the_retention(prod: tuple[LogSearch, Template]) -> None:
    (resource,) = prod[1].find_resources(ISM_CONTRACT["resource_type"]).values()
    props = resource["Properties"]
    policy = json.loads(props[ISM_CONTRACT["properties"]["policy"]])["policy"]
    assert policy["states"][0]["transitions"][0]["conditions"] == {"min_index_age": "90d"}
    assert policy["states"][1]["actions"] == [{"delete": {}}]
    assert policy["ism_template"][0]["index_patterns"] == ["audit-logs-*"]
    assert props[ISM_CONTRACT["properties"]["policy_id"]] == "audit-logs-retention"


@pytest.mark.parametrize(
    ("sizing", "replicas"),
    [(SearchSizing(), 0), (SearchSizing(data_nodes=2), 1), (PROD_SIZING, 2)],
    ids=["single-node", "two-nodes-one-zone", "three-zones"],
)
def test_index_template_keeps_one_copy_per_zone(sizing: SearchSizing, replicas: int) -> None:
    search = LogSearch(new_stack(), "Search", sizing=sizing)
    assert search.index_template()["template"]["settings"]["index"]["number_of_replicas"] == replicas


def test_index_template_is_passed_to_the_custom_resource(prod: tuple[LogSearch, Template]) -> None:
    (resource,) = prod[1].find_resources(ISM_CONTRACT["resource_type"]).values()
    template = json.loads(resource["Properties"][ISM_CONTRACT["properties"]["index_template"]])
    assert template["index_patterns"] == ["audit-logs-*"]


def test_ism_function_gets_the_master_role_from_the_contract_variable(default: tuple[LogSearch, Template]) -> None:
    (function,) = default[1].find_resources("AWS::Lambda::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    assert ISM_CONTRACT["environment"]["master_role_arn"] in variables
    assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    assert "DeadLetterConfig" in function["Properties"]


def test_ism_function_may_use_the_key_of_its_encrypted_dead_letter_queue(default: tuple[LogSearch, Template]) -> None:
    search, template = default
    role_id = Stack.of(search).get_logical_id(search.index_policy_function.role.node.default_child)
    (policy,) = [
        p for p in template.find_resources("AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    key_id = Stack.of(search).get_logical_id(search.encryption_key.node.default_child)
    key_actions = [s["Action"] for s in statements if s["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}]
    assert key_actions == [["kms:Decrypt", "kms:GenerateDataKey"]]
    assert any(s["Action"] == "sqs:SendMessage" for s in statements)


def test_handler_reads_the_same_contract() -> None:
    from tests.conftest import ROOT

    source = (ROOT / "lambda" / "opensearch_ism" / "index.py").read_text()
    assert 'CONTRACT = json.loads((Path(__file__).resolve().parent / "contract.json").read_text())' in source
    assert "GENBA_" not in source  # names come from contract.json only


# ------------------------------------------------------------------------------------- alarms
def test_free_storage_threshold_is_a_quarter_of_one_nodes_storage_in_mib() -> None:
    assert free_storage_threshold_mib(SearchSizing(volume_gib=10), 25) == 2560
    assert free_storage_threshold_mib(PROD_SIZING, 25) == 51200


def test_free_storage_alarm_uses_the_computed_threshold(prod: tuple[LogSearch, Template]) -> None:
    alarm = alarms(prod[1])["FreeStorageSpace"]
    assert alarm["Threshold"] == 51200
    assert alarm["Statistic"] == "Minimum" and alarm["Period"] == 60
    assert alarm["ComparisonOperator"] == "LessThanOrEqualToThreshold"


RECOMMENDED = {
    # metric: (statistic, period seconds, evaluation periods, comparison, threshold)
    "ClusterStatus.red": ("Maximum", 60, 1, "GreaterThanOrEqualToThreshold", 1),
    "ClusterStatus.yellow": ("Maximum", 60, 5, "GreaterThanOrEqualToThreshold", 1),
    "ClusterIndexWritesBlocked": ("Maximum", 300, 1, "GreaterThanOrEqualToThreshold", 1),
    "Nodes": ("Minimum", 86400, 1, "LessThanThreshold", 6),
    "AutomatedSnapshotFailure": ("Maximum", 60, 1, "GreaterThanOrEqualToThreshold", 1),
    "CPUUtilization": ("Maximum", 900, 3, "GreaterThanOrEqualToThreshold", 70),  # overridden
    "JVMMemoryPressure": ("Maximum", 60, 3, "GreaterThanOrEqualToThreshold", 95),
    "MasterCPUUtilization": ("Maximum", 900, 3, "GreaterThanOrEqualToThreshold", 50),
    "MasterJVMMemoryPressure": ("Maximum", 60, 3, "GreaterThanOrEqualToThreshold", 95),
    "KMSKeyError": ("Maximum", 60, 1, "GreaterThanOrEqualToThreshold", 1),
    "KMSKeyInaccessible": ("Maximum", 60, 1, "GreaterThanOrEqualToThreshold", 1),
}


@pytest.mark.parametrize("metric", sorted(RECOMMENDED))
def test_recommended_domain_alarm(prod: tuple[LogSearch, Template], metric: str) -> None:
    alarm = alarms(prod[1])[metric]
    statistic, period, evaluations, comparison, threshold = RECOMMENDED[metric]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == (statistic, period, evaluations)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (comparison, threshold)
    assert alarm["Namespace"] == "AWS/ES"
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "DomainName": "audit-search",
        "ClientId": "123456789012",
    }


def test_master_alarms_only_with_dedicated_masters(default: tuple[LogSearch, Template]) -> None:
    names = set(alarms(default[1]))
    assert "MasterCPUUtilization" not in names and "MasterJVMMemoryPressure" not in names
    assert {"ClusterStatus.red", "KMSKeyInaccessible", "Nodes"} <= names


def test_nodes_alarm_counts_data_and_master_nodes_and_breaches_when_silent(prod: tuple[LogSearch, Template]) -> None:
    assert alarms(prod[1])["Nodes"]["TreatMissingData"] == "breaching"


def test_firehose_delivery_alarms(default: tuple[LogSearch, Template]) -> None:
    found = alarms(default[1])
    success = found["DeliveryToAmazonOpenSearchService.Success"]
    freshness = found["DeliveryToAmazonOpenSearchService.DataFreshness"]
    for alarm in (success, freshness):
        assert alarm["Namespace"] == "AWS/Firehose"
        assert [d["Name"] for d in alarm["Dimensions"]] == ["DeliveryStreamName"]
    assert (success["Statistic"], success["ComparisonOperator"], success["Threshold"]) == (
        "Average",
        "LessThanThreshold",
        1,
    )
    assert (freshness["Statistic"], freshness["Threshold"]) == ("Maximum", 900)


def test_dead_letter_queue_has_an_alarm(default: tuple[LogSearch, Template]) -> None:
    alarm = alarms(default[1])["ApproximateNumberOfMessagesVisible"]
    assert alarm["Namespace"] == "AWS/SQS" and alarm["Threshold"] == 1


def test_alarms_are_one_set_with_lookup_by_runbook_and_severity(prod: tuple[LogSearch, Template]) -> None:
    search, template = prod
    assert isinstance(search.alarms, AlarmSet)
    assert len(search.alarms) == len(template.find_resources("AWS::CloudWatch::Alarm"))
    assert search.alarms.runbooks[0] == "dlq-not-empty"  # the ISM function's, then the domain's and delivery's
    assert {"opensearch-master-cpu", "firehose-freshness"} <= set(search.alarms.runbooks)
    red = search.alarms.get("opensearch-cluster-red", Severity.CRITICAL)
    assert red.node.path.endswith("/Alarms/OpensearchClusterRedCriticalAlarm")


# -------------------------------------------------------------------------------- VPC placement
@pytest.fixture(scope="module")
def in_vpc() -> Template:
    from aws_cdk import aws_ec2 as ec2

    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=3)
    LogSearch(stack, "Search", vpc=vpc, sizing=PROD_SIZING)
    return Template.from_stack(stack)


def test_domain_in_a_vpc_takes_one_private_subnet_per_zone(in_vpc: Template) -> None:
    options = domain_props(in_vpc)["VPCOptions"]
    private = in_vpc.find_resources(
        "AWS::EC2::Subnet",
        {"Properties": {"Tags": Match.array_with([{"Key": "aws-cdk:subnet-type", "Value": "Private"}])}},
    )
    assert len(private) == 3
    assert sorted(subnet["Ref"] for subnet in options["SubnetIds"]) == sorted(private)
    assert len(options["SecurityGroupIds"]) == 1


def test_firehose_delivers_inside_the_vpc(in_vpc: Template) -> None:
    vpc_config = firehose(in_vpc)["AmazonopensearchserviceDestinationConfiguration"]["VpcConfiguration"]
    assert len(vpc_config["SubnetIds"]) == 3
    assert vpc_config["SecurityGroupIds"] == domain_props(in_vpc)["VPCOptions"]["SecurityGroupIds"]


def test_ism_function_runs_in_the_vpc_with_https_to_the_domain(in_vpc: Template) -> None:
    functions = in_vpc.find_resources("AWS::Lambda::Function")
    (function,) = [f for logical_id, f in functions.items() if "IndexPolicyFunction" in logical_id]
    assert len(function["Properties"]["VpcConfig"]["SubnetIds"]) == 3
    in_vpc.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {"FromPort": 443, "ToPort": 443, "Description": "HTTPS from the ISM function"},
    )


def test_no_vpc_options_by_default(default: tuple[LogSearch, Template]) -> None:
    assert "VPCOptions" not in domain_props(default[1])


def test_an_imported_backup_bucket_leaves_only_its_object_wildcard_to_acknowledge(tmp_path: Any) -> None:
    from genba_constructs import AlarmTopic, add_nag_packs

    stack = new_stack("Nagged", outdir=str(tmp_path))
    app = app_of(stack)
    factory = AlarmTopic(stack, "Topic", email_addresses=["team@example.com"], alarm_name_prefix="t").alarm_factory
    archive = s3.Bucket.from_bucket_name(stack, "Elsewhere", "archive-elsewhere")
    search = LogSearch(stack, "Search", alarm_factory=factory, backup_bucket=archive)
    search.acknowledge_public_endpoint("This test stack has no VPC; access is by signed IAM requests.")
    search.acknowledge_small_cluster("This test stack sizes one development node on purpose.")
    add_nag_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()  # an imported bucket's owner must acknowledge the object wildcard...
    report = json.loads((tmp_path / "validation-report.json").read_text())
    open_findings = [v["ruleName"] for p in report["pluginReports"] for v in p.get("violations", [])]
    assert sorted(open_findings) == [
        "AwsSolutions-IAM5[Resource::arn:aws:s3:::archive-elsewhere/search-errors/logs/*]",
        "AwsSolutions-IAM5[Resource::arn:aws:s3:::archive-elsewhere/search-failed/logs/*]",
    ]


def test_dashboard_widgets_show_health_storage_and_delivery(prod: tuple[LogSearch, Template]) -> None:
    from genba_constructs.operations_dashboard import DashboardSource

    search = prod[0]
    assert isinstance(search, DashboardSource)
    widgets = [Stack.of(search).resolve(w.to_json())[0]["properties"] for w in search.dashboard_widgets()]
    graphed = {(row[0], row[1]) for widget in widgets for row in widget.get("metrics", [])}
    assert {
        ("AWS/ES", "ClusterStatus.red"),
        ("AWS/ES", "MasterJVMMemoryPressure"),
        ("AWS/Firehose", "DeliveryToAmazonOpenSearchService.Records"),
    } <= graphed
    # The storage graph shows its alarm (and so the alarm's threshold).
    (storage,) = [w for w in widgets if w["title"] == f"{search.subject}: free storage (MiB, least node)"]
    assert storage["annotations"] == {"alarms": [arn_of(search.alarms.get("opensearch-free-storage"))]}
