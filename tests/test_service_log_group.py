"""ServiceLogGroup: retention, KMS, RETAIN, masking, metric filters, saved queries and its alarms."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from genba_constructs import GenbaPropsError, ServiceLogGroup, Thresholds


def build(stack: Stack, **props: Any) -> Template:
    props.setdefault("subject", "app-logs")
    ServiceLogGroup(stack, "Logs", **props)
    return Template.from_stack(stack)


def only(template: Template, type_: str) -> dict[str, Any]:
    (resource,) = template.find_resources(type_).values()
    return resource  # type: ignore[no-any-return]


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def data_protection(template: Template) -> dict[str, Any]:
    policy: dict[str, Any] = only(template, "AWS::Logs::LogGroup")["Properties"]["DataProtectionPolicy"]
    return policy


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in policy["Statement"] if s["Sid"] == sid]
    return found  # type: ignore[no-any-return]


def identifiers(policy: dict[str, Any]) -> set[str]:
    """The managed identifiers' names (ARNs are joined with the partition and region)."""
    names = set()
    for identifier in statement(policy, "redact-statement-cdk")["DataIdentifier"]:
        if isinstance(identifier, dict):
            separator, parts = identifier["Fn::Join"]
            identifier = separator.join(p for p in parts if isinstance(p, str))
        names.add(identifier.rsplit("/", 1)[-1])
    return names


def test_retention_is_30_days_by_default(fresh_stack: Stack) -> None:
    build(fresh_stack).has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_retention_days_sets_the_retention(fresh_stack: Stack) -> None:
    build(fresh_stack, retention_days=400).has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 400})


@pytest.mark.parametrize("days", [0, 42, -1, 100000, True])
def test_fails_on_a_retention_cloudwatch_does_not_offer(fresh_stack: Stack, days: Any) -> None:
    with pytest.raises(
        GenbaPropsError,
        match=rf"retention_days={days!r} (is not a retention CloudWatch Logs offers|must be int or None)",
    ):
        build(fresh_stack, retention_days=days)


def test_log_group_is_encrypted_with_its_own_rotated_key_by_default(fresh_stack: Stack) -> None:
    template = build(fresh_stack)
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    key_id = next(iter(template.find_resources("AWS::KMS::Key")))
    template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})


def test_key_policy_lets_cloudwatch_logs_use_the_key_for_log_groups_only(fresh_stack: Stack) -> None:
    statements = only(build(fresh_stack), "AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    (logs_statement,) = [s for s in statements if s.get("Sid") == "AllowCloudWatchLogsToUseTheKey"]
    assert logs_statement["Principal"] == {"Service": "logs.ap-northeast-1.amazonaws.com"}
    assert "kms:GenerateDataKey" in logs_statement["Action"]
    assert not any(action.endswith("*") for action in logs_statement["Action"])
    assert "kms:EncryptionContext:aws:logs:arn" in logs_statement["Condition"]["ArnLike"]


def test_encryption_key_prop_uses_the_given_key(fresh_stack: Stack) -> None:
    key = kms.Key(fresh_stack, "Shared", enable_key_rotation=True)
    template = build(fresh_stack, encryption_key=key)
    template.resource_count_is("AWS::KMS::Key", 1)
    key_id = fresh_stack.get_logical_id(key.node.default_child)  # type: ignore[arg-type]
    template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}})


def test_log_group_and_key_are_retained_and_protected_by_default(fresh_stack: Stack) -> None:
    template = build(fresh_stack)
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"})
    template.has_resource_properties("AWS::Logs::LogGroup", {"DeletionProtectionEnabled": True})
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})


def test_removal_policy_destroy_deletes_and_drops_deletion_protection(fresh_stack: Stack) -> None:
    template = build(fresh_stack, removal_policy=RemovalPolicy.DESTROY)
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Delete"})
    assert only(template, "AWS::Logs::LogGroup")["Properties"].get("DeletionProtectionEnabled") in (None, False)


def test_log_group_name_names_the_log_group(fresh_stack: Stack) -> None:
    build(fresh_stack, log_group_name="/genba/test/app").has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/genba/test/app"}
    )


def test_request_id_and_level_are_indexed(fresh_stack: Stack) -> None:
    properties = only(build(fresh_stack), "AWS::Logs::LogGroup")["Properties"]
    assert properties["FieldIndexPolicies"] == [{"Fields": ["request_id", "level"]}]


@pytest.mark.parametrize("identifier", ["EmailAddress", "CreditCardNumber", "CreditCardSecurityCode", "AwsSecretKey"])
def test_sensitive_data_is_masked_by_default(fresh_stack: Stack, identifier: str) -> None:
    policy = data_protection(build(fresh_stack))
    assert identifier in identifiers(policy)
    assert statement(policy, "redact-statement-cdk")["Operation"] == {"Deidentify": {"MaskConfig": {}}}


def test_masked_data_replaces_the_default_identifiers(fresh_stack: Stack) -> None:
    policy = data_protection(build(fresh_stack, masked_data=(logs.DataIdentifier.EMAILADDRESS,)))
    assert identifiers(policy) == {"EmailAddress"}


def test_no_identifiers_means_no_data_protection_policy(fresh_stack: Stack) -> None:
    properties = only(build(fresh_stack, masked_data=()), "AWS::Logs::LogGroup")["Properties"]
    assert "DataProtectionPolicy" not in properties


def test_custom_masks_add_custom_regex_identifiers(fresh_stack: Stack) -> None:
    policy = data_protection(build(fresh_stack, custom_masks={"MemberId": r"MEM-\d{8}"}))
    assert policy["Configuration"] == {"CustomDataIdentifier": [{"Name": "MemberId", "Regex": r"MEM-\d{8}"}]}
    assert "MemberId" in identifiers(policy)


def test_audit_findings_go_to_the_given_bucket(fresh_stack: Stack) -> None:
    bucket = s3.Bucket.from_bucket_name(fresh_stack, "Archive", "genba-archive-bucket")
    audit = statement(data_protection(build(fresh_stack, audit_findings_bucket=bucket)), "audit-statement-cdk")
    assert audit["Operation"] == {"Audit": {"FindingsDestination": {"S3": {"Bucket": "genba-archive-bucket"}}}}


def test_audit_findings_are_not_delivered_without_a_bucket(fresh_stack: Stack) -> None:
    audit = statement(data_protection(build(fresh_stack)), "audit-statement-cdk")
    assert audit["Operation"] == {"Audit": {"FindingsDestination": {}}}


def test_fails_on_an_invalid_custom_mask_regex(fresh_stack: Stack) -> None:
    with pytest.raises(GenbaPropsError, match=r"custom_masks\['MemberId'\]='MEM-\(' is not a valid regular expression"):
        build(fresh_stack, custom_masks={"MemberId": "MEM-("})


def test_fails_on_a_custom_mask_name_cloudwatch_does_not_accept(fresh_stack: Stack) -> None:
    with pytest.raises(GenbaPropsError, match="custom_masks name 'member id'"):
        build(fresh_stack, custom_masks={"member id": "x"})


@pytest.mark.parametrize("subject", ["App-Logs", "app_logs", "", "-app"])
def test_fails_on_a_subject_that_is_not_a_slug(fresh_stack: Stack, subject: str) -> None:
    with pytest.raises(GenbaPropsError, match=f"subject={subject!r} must be a lower-case slug"):
        build(fresh_stack, subject=subject)


def test_fails_when_given_an_existing_log_group_and_props_for_a_new_one(fresh_stack: Stack) -> None:
    existing = logs.LogGroup.from_log_group_name(fresh_stack, "Existing", "/existing")
    with pytest.raises(GenbaPropsError, match=r"either log_group .* or retention_days, custom_masks"):
        build(fresh_stack, log_group=existing, retention_days=30, custom_masks={"A": "a"})


def test_existing_log_group_gets_filters_queries_and_alarms_but_no_new_log_group(fresh_stack: Stack) -> None:
    existing = logs.LogGroup.from_log_group_name(fresh_stack, "Existing", "/existing")
    template = build(fresh_stack, log_group=existing, must_never_be_silent=True)
    template.resource_count_is("AWS::Logs::LogGroup", 0)
    template.resource_count_is("AWS::KMS::Key", 0)
    template.has_resource_properties("AWS::Logs::MetricFilter", {"LogGroupName": "/existing"})
    silence = alarms(template)["Test-app-logs-log-silence-critical"]
    (events,) = [q["MetricStat"]["Metric"] for q in silence["Metrics"] if "MetricStat" in q]
    assert events["Dimensions"] == [{"Name": "LogGroupName", "Value": "/existing"}]


def test_lines_are_counted_per_level_from_the_level_field(fresh_stack: Stack) -> None:
    build(fresh_stack).has_resource_properties(
        "AWS::Logs::MetricFilter",
        {
            "FilterPattern": '{ $.level = "*" }',
            "MetricTransformations": [
                Match.object_like(
                    {
                        "MetricNamespace": "genba/Logs",
                        "MetricName": "LogLines-app-logs",
                        "MetricValue": "1",
                        "Dimensions": [{"Key": "Level", "Value": "$.level"}],
                    }
                )
            ],
        },
    )


def test_request_duration_is_measured_from_duration_ms(fresh_stack: Stack) -> None:
    build(fresh_stack).has_resource_properties(
        "AWS::Logs::MetricFilter",
        {
            "FilterPattern": "{ $.duration_ms >= 0 }",
            "MetricTransformations": [
                Match.object_like(
                    {"MetricName": "RequestDuration-app-logs", "MetricValue": "$.duration_ms", "Unit": "Milliseconds"}
                )
            ],
        },
    )


def test_three_saved_queries_trace_errors_and_slow_requests(fresh_stack: Stack) -> None:
    queries = build(fresh_stack).find_resources("AWS::Logs::QueryDefinition")
    by_name = {q["Properties"]["Name"].split("/")[-1]: q["Properties"]["QueryString"] for q in queries.values()}
    assert set(by_name) == {
        "every line of one request id (replace the id)",
        "errors in the last hour by request id",
        "slowest requests",
    }
    assert "request_id =" in by_name["every line of one request id (replace the id)"]
    assert 'level = "ERROR"' in by_name["errors in the last hour by request id"]
    assert "sort duration_ms desc" in by_name["slowest requests"]


def test_error_lines_alarm_has_warning_10_and_critical_100_by_default(fresh_stack: Stack) -> None:
    found = alarms(build(fresh_stack))
    assert found["Test-app-logs-log-errors-warning"]["Threshold"] == 10
    critical = found["Test-app-logs-log-errors-critical"]
    assert critical["Threshold"] == 100
    # ERROR and CRITICAL lines, each level its own metric of the filter, added zero-filled.
    stats = {q["Id"]: q["MetricStat"]["Metric"] for q in critical["Metrics"] if "MetricStat" in q}
    assert {m["MetricName"] for m in stats.values()} == {"LogLines-app-logs"}
    assert [m["Dimensions"] for m in stats.values()] == [
        [{"Name": "Level", "Value": "ERROR"}],
        [{"Name": "Level", "Value": "CRITICAL"}],
    ]
    assert critical["TreatMissingData"] == "notBreaching"


def test_error_lines_thresholds_are_configurable(fresh_stack: Stack) -> None:
    found = alarms(build(fresh_stack, error_lines_per_5_minutes=Thresholds(critical=7)))
    assert [a["Threshold"] for name, a in found.items() if "log-errors" in name] == [7]


def test_no_silence_alarm_unless_asked(fresh_stack: Stack) -> None:
    assert not [name for name in alarms(build(fresh_stack)) if "log-silence" in name]


def test_silence_alarm_watches_incoming_log_events_with_missing_data_breaching(fresh_stack: Stack) -> None:
    alarm = alarms(build(fresh_stack, must_never_be_silent=True))["Test-app-logs-log-silence-critical"]
    # FILL(events, 0): every minute a real data point (issue 12: late heartbeats).
    (events,) = [q for q in alarm["Metrics"] if "MetricStat" in q]
    assert [q["Expression"] for q in alarm["Metrics"] if "Expression" in q] == ["FILL(events, 0)"]
    assert events["MetricStat"]["Metric"]["Namespace"] == "AWS/Logs"
    assert events["MetricStat"]["Metric"]["MetricName"] == "IncomingLogEvents"
    assert events["MetricStat"]["Metric"]["Dimensions"][0]["Name"] == "LogGroupName"
    assert events["MetricStat"]["Period"] == 60
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["EvaluationPeriods"] == 5
    assert alarm["DatapointsToAlarm"] == 5


def test_silent_for_sets_the_minutes_of_silence_tolerated(fresh_stack: Stack) -> None:
    alarm = alarms(build(fresh_stack, must_never_be_silent=True, silent_for=Duration.minutes(15)))
    assert alarm["Test-app-logs-log-silence-critical"]["EvaluationPeriods"] == 15


@pytest.mark.parametrize("silent_for", [Duration.seconds(90), Duration.seconds(0), Duration.days(2)])
def test_fails_on_a_silence_that_is_not_1_to_1440_whole_minutes(fresh_stack: Stack, silent_for: Duration) -> None:
    with pytest.raises(GenbaPropsError, match=r"silent_for=.* must be 1 to 1440 whole minutes"):
        build(fresh_stack, must_never_be_silent=True, silent_for=silent_for)


def test_alarm_factory_prop_names_the_alarms_with_its_prefix(fresh_stack: Stack) -> None:
    from genba_constructs import AlarmFactory

    found = alarms(build(fresh_stack, must_never_be_silent=True, alarm_factory=AlarmFactory(name_prefix="shop-prod")))
    assert set(found) == {
        "shop-prod-app-logs-log-errors-warning",
        "shop-prod-app-logs-log-errors-critical",
        "shop-prod-app-logs-log-silence-critical",
        "shop-prod-app-logs-log-data-protection-warning",
    }
