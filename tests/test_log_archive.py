"""LogArchive and ArchiveTrail: template tests for every default and every prop that changes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from genba_constructs import ArchiveTrail, GenbaPropsError, LogArchive, ServiceLogGroup, Thresholds
from tests.conftest import app_of, new_stack, notifying_alarm_factory

GIB = 1024**3


def archive_with_logs(stack: Stack, **props: Any) -> LogArchive:
    archive = LogArchive(stack, "Archive", **props)
    archive.archive_log_group(ServiceLogGroup(stack, "AppLogs", subject="app-logs"))
    archive.archive_log_group(ServiceLogGroup(stack, "AuditLogs", subject="audit-logs"))
    return archive


@pytest.fixture(scope="module")
def default() -> Template:
    """An archive with every default, two archived log groups and a trail."""
    stack = new_stack()
    archive = archive_with_logs(stack)
    ArchiveTrail(stack, "Trail", archive=archive)
    return Template.from_stack(stack)


def build(**props: Any) -> Template:
    stack = new_stack()
    archive_with_logs(stack, **props)
    return Template.from_stack(stack)


def resources(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(type_)  # type: ignore[no-any-return]


def archive_bucket(template: Template) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (lid, r)
        for lid, r in resources(template, "AWS::S3::Bucket").items()
        if "ObjectLockConfiguration" in r["Properties"]
    ]
    return found


def bucket_by_prefix(template: Template, id_prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(lid, r) for lid, r in resources(template, "AWS::S3::Bucket").items() if lid.startswith(id_prefix)]
    return found


def streams(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["ExtendedS3DestinationConfiguration"]["Prefix"].split("/")[1]: r["Properties"]
        for r in resources(template, "AWS::KinesisFirehose::DeliveryStream").values()
    }


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["AlarmName"]: r["Properties"] for r in resources(template, "AWS::CloudWatch::Alarm").values()
    }


def statements(
    template: Template, type_: str, *, where: Callable[[str], bool] = lambda _: True
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for lid, r in resources(template, type_).items():
        if where(lid):
            document = r["Properties"].get("PolicyDocument") or r["Properties"].get("KeyPolicy")
            found += document["Statement"]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---- the bucket ----------------------------------------------------------------------------


def test_archive_bucket_is_encrypted_with_the_archive_key(default: Template) -> None:
    _, bucket = archive_bucket(default)
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key_id = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    assert resources(default, "AWS::KMS::Key")[key_id]["Properties"]["EnableKeyRotation"] is True


def test_archive_bucket_is_versioned_and_blocks_all_public_access(default: Template) -> None:
    _, bucket = archive_bucket(default)
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["Properties"]["PublicAccessBlockConfiguration"].values()) == {True}


def test_archive_bucket_denies_requests_without_tls(default: Template) -> None:
    bucket_id, _ = archive_bucket(default)
    policy = statements(
        default,
        "AWS::S3::BucketPolicy",
        where=lambda lid: (
            resources(default, "AWS::S3::BucketPolicy")[lid]["Properties"]["Bucket"] == {"Ref": bucket_id}
        ),
    )
    assert any(s["Effect"] == "Deny" and s["Condition"].get("Bool") == {"aws:SecureTransport": "false"} for s in policy)


def test_server_access_logs_go_to_a_separate_sse_s3_bucket(default: Template) -> None:
    _, bucket = archive_bucket(default)
    target = bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    access_logs = resources(default, "AWS::S3::Bucket")[target]
    assert "ObjectLockConfiguration" not in access_logs["Properties"]
    (rule,) = access_logs["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_object_lock_is_governance_mode_for_30_days_outside_production(default: Template) -> None:
    _, bucket = archive_bucket(default)
    assert bucket["Properties"]["ObjectLockEnabled"] is True
    assert bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Days": 30,
        "Mode": "GOVERNANCE",
    }


def test_object_lock_is_compliance_mode_in_production() -> None:
    _, bucket = archive_bucket(build(production=True, object_lock_days=365))
    assert bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Days": 365,
        "Mode": "COMPLIANCE",
    }


def test_object_lock_mode_overrides_the_production_default() -> None:
    _, bucket = archive_bucket(build(production=True, object_lock_mode="governance"))
    assert bucket["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"


def lifecycle(template: Template) -> dict[str, dict[str, Any]]:
    _, bucket = archive_bucket(template)
    return {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}


def test_objects_move_to_colder_classes_and_expire_at_end_of_life_by_default(default: Template) -> None:
    rule = lifecycle(default)["colder-then-expire"]
    assert rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
        {"StorageClass": "GLACIER_IR", "TransitionInDays": 90},
    ]
    assert rule["ExpirationInDays"] == 2557
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_expired_delete_markers_are_removed(default: Template) -> None:
    assert lifecycle(default)["remove-expired-delete-markers"]["ExpiredObjectDeleteMarker"] is True


def test_lifecycle_props_change_the_rule() -> None:
    rule = lifecycle(
        build(
            infrequent_access_after_days=60,
            glacier_after_days=180,
            expire_after_days=400,
            noncurrent_versions_expire_after_days=7,
        )
    )["colder-then-expire"]
    assert [t["TransitionInDays"] for t in rule["Transitions"]] == [60, 180]
    assert rule["ExpirationInDays"] == 400
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}


def test_buckets_and_key_are_retained_by_default(default: Template) -> None:
    for type_ in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup"):
        for lid, r in resources(default, type_).items():
            assert r["DeletionPolicy"] == "Retain", lid


def test_removal_policy_destroy_deletes_the_buckets() -> None:
    template = build(removal_policy=RemovalPolicy.DESTROY)
    buckets = resources(template, "AWS::S3::Bucket").values()
    assert {b["DeletionPolicy"] for b in buckets} == {"Delete"}
    # No object lock (locked versions would block the deletion) and every version emptied first.
    assert not [b for b in buckets if b["Properties"].get("ObjectLockEnabled")]
    assert len(resources(template, "Custom::S3AutoDeleteObjects")) == 2


def test_existing_bucket_is_used_instead_of_a_new_archive_bucket() -> None:
    stack = new_stack()
    existing = s3.Bucket.from_bucket_name(stack, "Existing", "org-log-archive")
    archive = LogArchive(stack, "Archive", bucket=existing)
    archive.archive_log_group(ServiceLogGroup(stack, "AppLogs", subject="app-logs"))
    template = Template.from_stack(stack)
    assert not [
        r for r in resources(template, "AWS::S3::Bucket").values() if "ObjectLockConfiguration" in r["Properties"]
    ]
    (stream,) = streams(template).values()
    assert stream["ExtendedS3DestinationConfiguration"]["BucketARN"] == "arn:aws:s3:::org-log-archive"


def test_cloudwatch_logs_vended_delivery_may_write_audit_findings_under_awslogs(default: Template) -> None:
    policy = statements(default, "AWS::S3::BucketPolicy")
    (write,) = [s for s in policy if s.get("Sid") == "AWSLogDeliveryWrite"]
    assert write["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert write["Action"] == "s3:PutObject"
    bucket_id, _ = archive_bucket(default)
    assert write["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/AWSLogs/", {"Ref": "AWS::AccountId"}, "/*"]]
    }
    assert write["Condition"]["StringEquals"]["aws:SourceAccount"]


# ---- Firehose ------------------------------------------------------------------------------


def test_one_delivery_stream_per_archived_log_group(default: Template) -> None:
    assert set(streams(default)) == {"log_group=app-logs", "log_group=audit-logs"}


def test_stream_decompresses_then_extracts_messages_then_writes_one_line_each(default: Template) -> None:
    stream = streams(default)["log_group=app-logs"]["ExtendedS3DestinationConfiguration"]
    processors = stream["ProcessingConfiguration"]["Processors"]
    assert stream["ProcessingConfiguration"]["Enabled"] is True
    assert [p["Type"] for p in processors] == ["Decompression", "CloudWatchLogProcessing", "AppendDelimiterToRecord"]
    assert processors[0]["Parameters"] == [{"ParameterName": "CompressionFormat", "ParameterValue": "GZIP"}]
    assert processors[1]["Parameters"] == [{"ParameterName": "DataMessageExtraction", "ParameterValue": "true"}]


def test_stream_partitions_by_log_group_and_day_with_errors_under_their_own_prefix(default: Template) -> None:
    stream = streams(default)["log_group=audit-logs"]["ExtendedS3DestinationConfiguration"]
    assert stream["Prefix"] == "logs/log_group=audit-logs/dt=!{timestamp:yyyy-MM-dd}/"
    assert (
        stream["ErrorOutputPrefix"]
        == "errors/log_group=audit-logs/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
    )


def test_stream_buffers_5_minutes_or_64_mib_and_writes_gzip_by_default(default: Template) -> None:
    stream = streams(default)["log_group=app-logs"]["ExtendedS3DestinationConfiguration"]
    assert stream["BufferingHints"] == {"IntervalInSeconds": 300, "SizeInMBs": 64}
    assert stream["CompressionFormat"] == "GZIP"


def test_buffer_props_change_the_buffering() -> None:
    stream = streams(build(buffer_interval=Duration.seconds(60), buffer_size_mib=8))["log_group=app-logs"]
    assert stream["ExtendedS3DestinationConfiguration"]["BufferingHints"] == {"IntervalInSeconds": 60, "SizeInMBs": 8}


def test_stream_is_encrypted_in_transit_store_and_output(default: Template) -> None:
    stream = streams(default)["log_group=app-logs"]
    assert stream["DeliveryStreamEncryptionConfigurationInput"] == {"KeyType": "AWS_OWNED_CMK"}
    output = stream["ExtendedS3DestinationConfiguration"]["EncryptionConfiguration"]["KMSEncryptionConfig"]
    assert output["AWSKMSKeyARN"]["Fn::GetAtt"][1] == "Arn"


def test_stream_logs_delivery_errors_to_a_retained_encrypted_log_group(default: Template) -> None:
    options = streams(default)["log_group=app-logs"]["ExtendedS3DestinationConfiguration"]["CloudWatchLoggingOptions"]
    assert options["Enabled"] is True
    log_group = resources(default, "AWS::Logs::LogGroup")[options["LogGroupName"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == 90
    (key_id,) = [lid for lid in resources(default, "AWS::KMS::Key") if lid.startswith("ArchiveKey")]
    assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert log_group["DeletionPolicy"] == "Retain"


def test_each_log_group_has_exactly_one_archive_subscription_filter(default: Template) -> None:
    filters = resources(default, "AWS::Logs::SubscriptionFilter")
    assert len(filters) == 2
    log_groups = [f["Properties"]["LogGroupName"]["Ref"] for f in filters.values()]
    assert len(set(log_groups)) == 2
    for f in filters.values():
        assert f["Properties"]["FilterPattern"] == ""
        assert f["Properties"]["DestinationArn"]["Fn::GetAtt"][1] == "Arn"


def test_subscription_role_is_trusted_by_this_regions_cloudwatch_logs_only(default: Template) -> None:
    (role,) = [r for lid, r in resources(default, "AWS::IAM::Role").items() if "SubscriptionRole" in lid]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "logs.ap-northeast-1.amazonaws.com"}
    assert "aws:SourceArn" in trust["Condition"]["StringLike"]


def test_subscription_role_may_only_put_records_to_the_archive_streams(default: Template) -> None:
    policy = statements(default, "AWS::IAM::ManagedPolicy", where=lambda lid: "SubscriptionPolicy" in lid)
    assert {tuple(as_list(s["Action"])) for s in policy} == {("firehose:PutRecord", "firehose:PutRecordBatch")}
    stream_ids = sorted(resources(default, "AWS::KinesisFirehose::DeliveryStream"))
    targets = sorted(r["Fn::GetAtt"][0] for s in policy for r in as_list(s["Resource"]))
    assert targets == stream_ids and len(targets) == 2
    assert all(r["Fn::GetAtt"][1] == "Arn" for s in policy for r in as_list(s["Resource"]))


def test_firehose_role_requires_this_account_as_external_id(default: Template) -> None:
    (role,) = [r for lid, r in resources(default, "AWS::IAM::Role").items() if "DeliveryRole" in lid]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["sts:ExternalId"] == "123456789012"


def test_firehose_may_write_only_under_logs_and_errors_without_wildcard_actions(default: Template) -> None:
    policy = statements(default, "AWS::IAM::ManagedPolicy", where=lambda lid: "DeliveryPolicy" in lid)
    actions = [a for s in policy for a in as_list(s["Action"])]
    assert not [a for a in actions if "*" in a]
    (objects,) = [s for s in policy if s.get("Sid") == "ArchiveObjects"]
    bucket_arn = {"Fn::GetAtt": [archive_bucket(default)[0], "Arn"]}
    assert sorted(objects["Resource"], key=str) == [
        {"Fn::Join": ["", [bucket_arn, "/errors/*"]]},
        {"Fn::Join": ["", [bucket_arn, "/logs/*"]]},
    ]


def test_no_iam_policy_in_the_archive_uses_a_wildcard_action(default: Template) -> None:
    for type_ in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::KMS::Key"):
        for statement in statements(default, type_):
            if statement.get("Principal", {}).get("AWS") == "arn:aws:iam::123456789012:root":
                continue  # aws-cdk-lib's default key administration statement (kms:* for the account)
            assert not [a for a in as_list(statement["Action"]) if a.endswith("*")], statement


def test_freshness_alarms_watch_each_streams_data_freshness(default: Template) -> None:
    found = alarms(default)
    warning = found["Test-archive-app-logs-firehose-freshness-warning"]
    critical = found["Test-archive-app-logs-firehose-freshness-critical"]
    assert (warning["Threshold"], critical["Threshold"]) == (900, 3600)
    assert critical["Namespace"] == "AWS/Firehose"
    assert critical["MetricName"] == "DeliveryToS3.DataFreshness"
    assert critical["Statistic"] == "Maximum"
    assert critical["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert critical["TreatMissingData"] == "notBreaching"
    (dimension,) = critical["Dimensions"]
    (app_stream_id,) = [
        lid
        for lid, r in resources(default, "AWS::KinesisFirehose::DeliveryStream").items()
        if "log_group=app-logs/" in r["Properties"]["ExtendedS3DestinationConfiguration"]["Prefix"]
    ]
    assert dimension == {"Name": "DeliveryStreamName", "Value": {"Ref": app_stream_id}}


def test_delivery_success_alarm_fires_when_any_delivery_fails(default: Template) -> None:
    alarm = alarms(default)["Test-archive-audit-logs-firehose-delivery-critical"]
    assert alarm["Namespace"] == "AWS/Firehose"
    assert alarm["MetricName"] == "DeliveryToS3.Success"
    assert alarm["Statistic"] == "Minimum"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["EvaluationPeriods"] == 3
    assert alarm["TreatMissingData"] == "notBreaching"


def test_freshness_thresholds_are_configurable() -> None:
    found = alarms(build(data_freshness_seconds=Thresholds(critical=600)))
    assert [a["Threshold"] for name, a in found.items() if "app-logs-firehose-freshness" in name] == [600]


def test_a_plain_log_group_is_archived_under_the_given_subject() -> None:
    stack = new_stack()
    archive = LogArchive(stack, "Archive")
    archive.archive_log_group(logs.LogGroup.from_log_group_name(stack, "Vended", "/aws/vended"), subject="vended")
    template = Template.from_stack(stack)
    assert set(streams(template)) == {"log_group=vended"}
    (f,) = resources(template, "AWS::Logs::SubscriptionFilter").values()
    assert f["Properties"]["LogGroupName"] == "/aws/vended"


def test_metric_methods_name_the_streams_metrics() -> None:
    stack = new_stack()
    archive = archive_with_logs(stack)
    assert archive.metric_data_freshness("app-logs").metric_name == "DeliveryToS3.DataFreshness"
    assert archive.metric_delivery_success("app-logs").namespace == "AWS/Firehose"


def test_grant_write_allows_writes_under_one_prefix_only() -> None:
    stack = new_stack()
    archive = LogArchive(stack, "Archive")
    role = iam.Role(stack, "Backup", assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"))
    grant = archive.grant_write(role, "opensearch-failed/")
    assert isinstance(grant, iam.Grant) and grant.success
    template = Template.from_stack(stack)
    bucket_id, _ = archive_bucket(template)
    policy = statements(template, "AWS::IAM::Policy")
    (put,) = [s for s in policy if "s3:PutObject" in as_list(s["Action"])]
    assert put["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/opensearch-failed/*"]]}


def test_grant_read_allows_reading_and_decrypting() -> None:
    stack = new_stack()
    archive = LogArchive(stack, "Archive")
    role = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    grant = archive.grant_read(role)
    assert isinstance(grant, iam.Grant) and grant.success
    actions = {a for s in statements(Template.from_stack(stack), "AWS::IAM::Policy") for a in as_list(s["Action"])}
    assert {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"} <= actions


# ---- Glue and Athena -----------------------------------------------------------------------


def tables(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["TableInput"]["Name"]: r["Properties"] for r in resources(template, "AWS::Glue::Table").values()
    }


def test_glue_database_is_named_after_the_stack(default: Template) -> None:
    (database,) = resources(default, "AWS::Glue::Database").values()
    assert database["Properties"]["DatabaseInput"]["Name"] == "test_logs"


def test_database_name_prop_names_the_database() -> None:
    (database,) = resources(build(database_name="shop_logs"), "AWS::Glue::Database").values()
    assert database["Properties"]["DatabaseInput"]["Name"] == "shop_logs"


def test_application_log_table_reads_the_convention_fields(default: Template) -> None:
    table = tables(default)["application_logs"]["TableInput"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert {
        "timestamp": "string",
        "level": "string",
        "request_id": "string",
        "message": "string",
    }.items() <= columns.items()
    assert columns["duration_ms"] == "double"
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert [k["Name"] for k in table["PartitionKeys"]] == ["log_group", "dt"]


def test_application_log_projection_lists_every_archived_log_group(default: Template) -> None:
    parameters = tables(default)["application_logs"]["TableInput"]["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.log_group.values"] == "app-logs,audit-logs"
    assert parameters["projection.dt.range"] == "NOW-2557DAYS,NOW"


def test_cloudtrail_table_projects_region_and_day(default: Template) -> None:
    table = tables(default)["cloudtrail"]["TableInput"]
    assert table["StorageDescriptor"]["InputFormat"] == "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
    assert table["Parameters"]["projection.day.format"] == "yyyy/MM/dd"
    assert "ap-northeast-1" in table["Parameters"]["projection.region.values"].split(",")


def workgroup(template: Template) -> dict[str, Any]:
    (wg,) = resources(template, "AWS::Athena::WorkGroup").values()
    return wg["Properties"]  # type: ignore[no-any-return]


def test_workgroup_enforces_its_configuration_and_a_10_gb_scan_limit(default: Template) -> None:
    config = workgroup(default)["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10 * GIB
    assert config["PublishCloudWatchMetricsEnabled"] is True


def test_scan_limit_is_configurable() -> None:
    config = workgroup(build(athena_bytes_scanned_cutoff_gb=2))["WorkGroupConfiguration"]
    assert config["BytesScannedCutoffPerQuery"] == 2 * GIB


def test_query_results_are_kms_encrypted_in_their_own_expiring_bucket(default: Template) -> None:
    result = workgroup(default)["WorkGroupConfiguration"]["ResultConfiguration"]
    assert result["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    results_id, results = bucket_by_prefix(default, "ArchiveQueryResults")
    assert result["OutputLocation"] == {"Fn::Join": ["", ["s3://", {"Ref": results_id}, "/results/"]]}
    (rule,) = results["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 30
    assert "ObjectLockConfiguration" not in results["Properties"]


def test_results_expiry_is_configurable() -> None:
    _, results = bucket_by_prefix(build(athena_results_expire_after_days=7), "ArchiveQueryResults")
    assert results["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 7


def test_three_named_queries_in_the_workgroup(default: Template) -> None:
    queries = resources(default, "AWS::Athena::NamedQuery")
    (workgroup_id,) = resources(default, "AWS::Athena::WorkGroup")
    names = sorted(q["Properties"]["Name"] for q in queries.values())
    assert names == [
        "Test: CloudTrail: who changed what, when (last 7 days)",
        "Test: ERROR lines per day and log group (last 30 days)",
        "Test: every event of one request id in a time range",
    ]
    for q in queries.values():
        assert q["Properties"]["Database"] == "test_logs"
        assert q["Properties"]["WorkGroup"] == {"Ref": workgroup_id}


# ---- CloudTrail ----------------------------------------------------------------------------


def test_trail_is_multi_region_validated_and_kms_encrypted_into_the_archive(default: Template) -> None:
    (trail,) = resources(default, "AWS::CloudTrail::Trail").values()
    properties = trail["Properties"]
    bucket_id, _ = archive_bucket(default)
    assert properties["IsMultiRegionTrail"] is True
    assert properties["EnableLogFileValidation"] is True
    assert properties["IncludeGlobalServiceEvents"] is True
    assert properties["S3BucketName"] == {"Ref": bucket_id}
    assert properties["S3KeyPrefix"] == "cloudtrail"
    assert properties["KMSKeyId"]["Fn::GetAtt"][0].startswith("ArchiveKey")


def test_archive_key_lets_cloudtrail_encrypt_for_this_trail_only(default: Template) -> None:
    key = statements(default, "AWS::KMS::Key", where=lambda lid: lid.startswith("ArchiveKey"))
    (encrypt,) = [s for s in key if s.get("Sid") == "AllowCloudTrailToEncryptLogs"]
    assert encrypt["Action"] == "kms:GenerateDataKey"
    assert encrypt["Condition"]["StringEquals"]["aws:SourceArn"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudtrail:ap-northeast-1:",
                {"Ref": "AWS::AccountId"},
                ":trail/Test-trail",
            ],
        ]
    }


# ---- bad props -----------------------------------------------------------------------------

BAD_PROPS = [
    ({"glacier_after_days": 30}, "glacier_after_days=30 must be after infrequent_access_after_days (30)"),
    ({"expire_after_days": 90}, "expire_after_days=90 must be after glacier_after_days (90)"),
    ({"object_lock_days": 3000}, "object_lock_days=3000 is longer than expire_after_days (2557)"),
    ({"infrequent_access_after_days": 7}, "infrequent_access_after_days=7 must be between 30 and 36500"),
    ({"object_lock_days": -1}, "object_lock_days=-1 must be between 1 and 36500"),
    ({"noncurrent_versions_expire_after_days": 0}, "noncurrent_versions_expire_after_days=0 must be between"),
    ({"object_lock_mode": "legal-hold"}, "object_lock_mode='legal-hold' must be 'governance' or 'compliance'"),
    ({"buffer_interval": Duration.seconds(30)}, "buffer_interval='30 seconds' must be 60 to 900 seconds"),
    ({"buffer_interval": Duration.minutes(20)}, "buffer_interval='20 minutes' must be 60 to 900 seconds"),
    ({"buffer_size_mib": 0}, "buffer_size_mib=0 must be between 1 and 128"),
    ({"athena_bytes_scanned_cutoff_gb": 0}, "athena_bytes_scanned_cutoff_gb=0 must be between 1 and 1024"),
    ({"athena_results_expire_after_days": 0}, "athena_results_expire_after_days=0 must be between"),
    ({"database_name": "Genba-Logs"}, "database_name='Genba-Logs' must be 1-255 lower-case letters"),
]


@pytest.mark.parametrize(
    ("props", "message"), BAD_PROPS, ids=[next(iter(p)) + "-" + str(i) for i, (p, _) in enumerate(BAD_PROPS)]
)
def test_fails_on_bad_props_with_a_message_naming_prop_and_value(props: dict[str, Any], message: str) -> None:
    with pytest.raises(GenbaPropsError) as raised:
        LogArchive(new_stack(), "Archive", **props)
    assert str(raised.value).startswith("LogArchive: ")
    assert message in str(raised.value)


def test_fails_when_given_an_existing_bucket_and_props_for_a_new_one() -> None:
    stack = new_stack()
    existing = s3.Bucket.from_bucket_name(stack, "Existing", "org-log-archive")
    with pytest.raises(GenbaPropsError, match=r"either bucket \(an existing resource\) or expire_after_days"):
        LogArchive(stack, "Archive", bucket=existing, expire_after_days=400)


def test_fails_to_archive_the_same_subject_twice() -> None:
    stack = new_stack()
    archive = archive_with_logs(stack)
    with pytest.raises(GenbaPropsError, match="subject='app-logs' is already archived"):
        archive.archive_log_group(logs.LogGroup(stack, "Again"), subject="app-logs")


def test_fails_to_archive_a_plain_log_group_without_a_subject() -> None:
    stack = new_stack()
    archive = LogArchive(stack, "Archive")
    with pytest.raises(GenbaPropsError, match="subject=None must be a lower-case slug"):
        archive.archive_log_group(logs.LogGroup.from_log_group_name(stack, "Vended", "/aws/vended"))


def test_fails_on_a_metric_of_a_log_group_not_archived() -> None:
    archive = LogArchive(new_stack(), "Archive")
    with pytest.raises(GenbaPropsError, match="subject='nope' is not archived"):
        archive.metric_data_freshness("nope")


def test_fails_to_grant_writes_outside_a_named_prefix() -> None:
    stack = new_stack()
    archive = LogArchive(stack, "Archive")
    role = iam.Role(stack, "Backup", assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"))
    with pytest.raises(GenbaPropsError, match="prefix='' must look like 'name/'"):
        archive.grant_write(role, "")


def test_dashboard_widgets_show_each_streams_freshness_and_success() -> None:
    archive = archive_with_logs(new_stack())
    widgets = archive.dashboard_widgets()
    assert len(widgets) == 2
    (rendered,) = new_stack().resolve(widgets[0].to_json())
    metrics = [(namespace, name, stat["stat"]) for namespace, name, *_, stat in rendered["properties"]["metrics"]]
    assert metrics == [
        ("AWS/Firehose", "DeliveryToS3.DataFreshness", "Maximum"),
        ("AWS/Firehose", "DeliveryToS3.Success", "Minimum"),
    ]


def test_firehose_may_put_log_events_to_its_error_log_streams_only(default: Template) -> None:
    policy = statements(default, "AWS::IAM::ManagedPolicy", where=lambda lid: "DeliveryPolicy" in lid)
    (logs_statement,) = [s for s in policy if s.get("Action") == "logs:PutLogEvents"]
    # One ARN per CloudFormation-made error stream (app-logs, audit-logs): no wildcard.
    assert len(logs_statement["Resource"]) == 2
    for resource in logs_statement["Resource"]:
        parts = resource["Fn::Join"][1]
        assert parts[-2] == ":log-stream:" and "DeliveryErrorStream" in parts[-1]["Ref"]
        assert parts[-3]["Ref"].startswith("ArchiveDeliveryErrors")  # the group's name, not its ":*" Arn


def test_cdk_nag_is_clean_for_an_archive_on_an_existing_bucket(tmp_path: Any) -> None:
    from genba_constructs import AlarmTopic, add_nag_packs

    stack = new_stack(outdir=str(tmp_path))
    app = app_of(stack)
    topic = AlarmTopic(stack, "Alarms", email_addresses=["oncall@example.com"])
    existing = s3.Bucket.from_bucket_name(stack, "Existing", "org-log-archive")
    archive = LogArchive(stack, "Archive", bucket=existing, alarm_factory=topic.alarm_factory)
    archive.archive_log_group(ServiceLogGroup(stack, "AppLogs", subject="app-logs", alarm_factory=topic.alarm_factory))
    add_nag_packs(app)
    app.synth()  # raises ValidationFailed on any unacknowledged finding
    assert (tmp_path / "Test.template.json").exists()


def test_encryption_key_prop_encrypts_bucket_stream_output_and_results_with_the_given_key() -> None:
    from aws_cdk import aws_kms as kms

    stack = new_stack()
    key = kms.Key(stack, "OrgKey", enable_key_rotation=True)
    archive_with_logs(stack, encryption_key=key)
    template = Template.from_stack(stack)
    key_id = stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    archive_keys = [lid for lid in resources(template, "AWS::KMS::Key") if lid.startswith("ArchiveKey")]
    assert archive_keys == []
    _, bucket = archive_bucket(template)
    key_arn = {"Fn::GetAtt": [key_id, "Arn"]}
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key_arn
    s3_destination = streams(template)["log_group=app-logs"]["ExtendedS3DestinationConfiguration"]
    assert s3_destination["EncryptionConfiguration"] == {"KMSEncryptionConfig": {"AWSKMSKeyARN": key_arn}}
    results = workgroup(template)["WorkGroupConfiguration"]["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_KMS", "KmsKey": key_arn}


def test_alarm_factory_prop_names_the_alarms_and_sets_their_actions() -> None:
    stack = new_stack()
    archive_with_logs(stack, alarm_factory=notifying_alarm_factory(stack, "shop-prod"))
    found = alarms(Template.from_stack(stack))
    archive_alarms = {name: a for name, a in found.items() if "firehose" in name}
    assert archive_alarms and all(name.startswith("shop-prod-archive-") for name in archive_alarms)
    assert all(a["AlarmActions"] and a["OKActions"] for a in archive_alarms.values())


def test_trail_name_prop_changes_the_trail() -> None:
    # include_global_service_events=False is refused (CloudTrail: a multi-region trail needs them),
    # see tests/test_rejected_combinations.py.
    stack = new_stack()
    archive = LogArchive(stack, "Archive")
    ArchiveTrail(stack, "Trail", archive=archive, trail_name="org-audit")
    (trail,) = resources(Template.from_stack(stack), "AWS::CloudTrail::Trail").values()
    assert trail["Properties"]["TrailName"] == "org-audit"
    assert trail["Properties"]["IncludeGlobalServiceEvents"] is True


# ---- alarms as one AlarmSet, life cycle rules in one place ---------------------------------


def test_alarms_are_one_alarm_set_looked_up_by_runbook_severity_and_subject() -> None:
    from genba_constructs import AlarmSet, Severity

    stack = new_stack()
    archive = archive_with_logs(stack)
    assert isinstance(archive.alarms, AlarmSet)
    # per log group: freshness warning and critical, delivery critical, subscription delivery and errors
    assert len(archive.alarms) == 10
    assert archive.alarms.runbooks == [
        "firehose-freshness",
        "firehose-delivery",
        "subscription-delivery",
        "subscription-errors",
    ]
    alarm = archive.alarms.get("firehose-delivery", Severity.CRITICAL, subject="archive-audit-logs")
    assert alarm.node.path == "Test/Archive/AuditLogs/FirehoseDeliveryCriticalAlarm"
    (record,) = [r for r in archive.alarms.records if r.alarm is alarm]
    assert record.alarm_name == "Test-archive-audit-logs-firehose-delivery-critical"
    assert list(archive.archived["audit-logs"].alarms) == list(archive.alarms)[5:]


def test_lifecycle_lists_every_problem_with_the_prop_that_has_it() -> None:
    from genba_constructs.log_archive import ArchiveLifecycle

    assert list(ArchiveLifecycle().problems()) == []
    bad = ArchiveLifecycle(infrequent_access_after_days=7, glacier_after_days=5, object_lock_days=9000)
    assert list(bad.problems()) == [
        ("infrequent_access_after_days", 7, "must be between 30 and 36500"),
        ("glacier_after_days", 5, "must be after infrequent_access_after_days (7)"),
        ("object_lock_days", 9000, "is longer than expire_after_days (2557)"),
    ]


def test_config_and_construct_report_the_same_lifecycle_rule() -> None:
    from stacks.config import ConfigError, LoggingConfig, _parse_section

    with pytest.raises(GenbaPropsError) as construct:
        LogArchive(new_stack(), "Archive", glacier_after_days=60, expire_after_days=45)
    with pytest.raises(ConfigError) as config:
        _parse_section(LoggingConfig, {"archive_glacier_after_days": 60, "archive_expire_after_days": 45}, "logging")
    assert str(construct.value) == "LogArchive: expire_after_days=45 must be after glacier_after_days (60)"
    assert str(config.value) == "logging.archive_expire_after_days: 45 must be after archive_glacier_after_days (60)"
    assert LoggingConfig().archive_lifecycle == LogArchive(new_stack(), "Archive").lifecycle
