"""SyncVerification's template: stream mapping, queues, functions, canary, alarms, bad props."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from genba_constructs import GenbaPropsError
from genba_constructs.alarms import AlarmSet, Severity
from genba_constructs.sync_targets import (
    DynamoDbReplicaTarget,
    HttpEndpointTarget,
    LambdaFunctionTarget,
    OpenSearchIndexTarget,
)
from genba_constructs.sync_verification import CONTRACT, SyncTiming, SyncVerification, grant_send
from tests.conftest import ROOT

PK = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


def replica(stack: Stack) -> dynamodb.ITable:
    return dynamodb.Table.from_table_name(stack, "Replica", "users-replica")


def build(stack: Stack, **props: Any) -> SyncVerification:
    props.setdefault("target", DynamoDbReplicaTarget(table=replica(stack)))
    return SyncVerification(stack, "Sync", partition_key=PK, **props)


@pytest.fixture(scope="module")
def default() -> dict[str, Any]:
    """The template of a SyncVerification with every default (one synth for the module)."""
    from tests.conftest import new_stack

    stack = new_stack()
    build(stack, parallelization_factor=3)
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def only(template: dict[str, Any], kind: str, **match: Any) -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in resources(template, kind).values()
        if all(r["Properties"].get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, found
    return found[0]


def logical_id(template: dict[str, Any], kind: str, path_part: str) -> str:
    (found,) = [k for k, v in resources(template, kind).items() if path_part in k]
    return found


def stream_mapping(template: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::Lambda::EventSourceMapping", StartingPosition="TRIM_HORIZON")


def test_source_table_is_created_with_a_new_and_old_images_stream(default: dict[str, Any]) -> None:
    table = only(default, "AWS::DynamoDB::Table")
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_stream_mapping_starts_at_trim_horizon_and_bisects_on_error(default: dict[str, Any]) -> None:
    mapping = stream_mapping(default)
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True


def test_stream_mapping_retries_a_finite_number_of_times(default: dict[str, Any]) -> None:
    assert stream_mapping(default)["MaximumRetryAttempts"] == 5


def test_stream_mapping_maximum_record_age_is_below_the_24_hour_retention(default: dict[str, Any]) -> None:
    assert stream_mapping(default)["MaximumRecordAgeInSeconds"] == 6 * 3600


def test_stream_mapping_reports_batch_item_failures(default: dict[str, Any]) -> None:
    assert stream_mapping(default)["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_stream_mapping_sends_failed_ranges_to_the_stream_failure_queue(default: dict[str, Any]) -> None:
    destination = stream_mapping(default)["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": [logical_id(default, "AWS::SQS::Queue", "SyncStreamFailureQueue"), "Arn"]}


def test_stream_mapping_parallelization_factor_comes_from_props(default: dict[str, Any]) -> None:
    assert stream_mapping(default)["ParallelizationFactor"] == 3


def test_verifier_mapping_takes_100_changes_with_partial_batch_responses(default: dict[str, Any]) -> None:
    queue = logical_id(default, "AWS::SQS::Queue", "SyncQueue")
    mapping = only(default, "AWS::Lambda::EventSourceMapping", EventSourceArn={"Fn::GetAtt": [queue, "Arn"]})
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == 20
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_replay_reads_the_stream_failure_queue_one_range_at_a_time(default: dict[str, Any]) -> None:
    queue = logical_id(default, "AWS::SQS::Queue", "SyncStreamFailureQueue")
    mapping = only(default, "AWS::Lambda::EventSourceMapping", EventSourceArn={"Fn::GetAtt": [queue, "Arn"]})
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_queue_is_kms_encrypted_with_the_rotated_key(default: dict[str, Any]) -> None:
    key = logical_id(default, "AWS::KMS::Key", "QueueKey")
    assert resources(default, "AWS::KMS::Key")[key]["Properties"]["EnableKeyRotation"] is True
    queues = resources(default, "AWS::SQS::Queue")
    assert len(queues) == 5
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}


def test_every_queue_denies_requests_without_tls(default: dict[str, Any]) -> None:
    policies = resources(default, "AWS::SQS::QueuePolicy").values()
    denied = set()
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                denied |= {ref["Ref"] for ref in policy["Properties"]["Queues"]}
    assert denied == set(resources(default, "AWS::SQS::Queue"))


def test_verification_queue_visibility_is_six_times_the_verifier_timeout(default: dict[str, Any]) -> None:
    queue = resources(default, "AWS::SQS::Queue")[logical_id(default, "AWS::SQS::Queue", "SyncQueue")]
    timeouts = {
        f["Properties"]["Description"].split(": ")[1]: f["Properties"]["Timeout"]
        for f in resources(default, "AWS::Lambda::Function").values()
    }
    assert queue["Properties"]["VisibilityTimeout"] == 6 * timeouts["checks each change against the sync target"]


def test_verification_queue_redrives_to_its_dlq_after_max_receives(default: dict[str, Any]) -> None:
    queue = resources(default, "AWS::SQS::Queue")[logical_id(default, "AWS::SQS::Queue", "SyncQueue")]
    redrive = queue["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 20
    assert redrive["deadLetterTargetArn"] == {
        "Fn::GetAtt": [logical_id(default, "AWS::SQS::Queue", "SyncDeadLetterQueue"), "Arn"]
    }


def test_verification_queue_keeps_messages_longer_than_the_max_sync_lag(default: dict[str, Any]) -> None:
    queue = resources(default, "AWS::SQS::Queue")[logical_id(default, "AWS::SQS::Queue", "SyncQueue")]
    assert queue["Properties"]["MessageRetentionPeriod"] > 24 * 3600


def test_queues_and_table_are_retained_by_default(default: dict[str, Any]) -> None:
    for kind in ("AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::Logs::LogGroup"):
        for logical, resource in resources(default, kind).items():
            assert resource["DeletionPolicy"] == "Retain", logical


def test_functions_run_on_genba_runtime_with_tracing_and_reserved_concurrency(default: dict[str, Any]) -> None:
    functions = resources(default, "AWS::Lambda::Function").values()
    assert len(functions) == 3
    for function in functions:
        props = function["Properties"]
        assert props["Runtime"] == "python3.13" and props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["ReservedConcurrentExecutions"] >= 1
        assert len(props["Layers"]) == 2


def test_function_log_groups_have_retention_and_kms(default: dict[str, Any]) -> None:
    groups = resources(default, "AWS::Logs::LogGroup").values()
    assert len(groups) == 3
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == 30
        assert "KmsKeyId" in group["Properties"]


def test_functions_get_exactly_the_contract_environment(default: dict[str, Any]) -> None:
    names = set(CONTRACT["environment"].values()) | {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
    }
    by_purpose = {
        f["Properties"]["Description"].split(": ")[1]: set(f["Properties"]["Environment"]["Variables"])
        for f in resources(default, "AWS::Lambda::Function").values()
    }
    replay_only = {CONTRACT["environment"]["replay_max_receives"]}
    assert by_purpose["checks each change against the sync target"] == names - replay_only
    assert replay_only <= by_purpose["re-reads failed stream ranges from the stream and forwards them"]
    for variables in by_purpose.values():
        assert variables <= names


def test_handlers_read_only_environment_names_from_the_contract() -> None:
    contract_names = set(CONTRACT["environment"].values())
    for function in ("sync_forwarder", "sync_verifier", "sync_replay", "_shared/python"):
        for source in (ROOT / "lambda" / function).glob("*.py"):
            literal = re.findall(r"environ(?:\.get)?\[?\(?\"(GENBA_[A-Z_]+)\"", source.read_text())
            assert literal == [], f"{source}: use genba_sync.ENV, not literal names"
    shared = (ROOT / "lambda" / "_shared" / "python" / "genba_sync.py").read_text()
    assert "genba_sync_contract.json" in shared
    assert all(name.startswith("GENBA_SYNC_") for name in contract_names)


def test_policies_name_exact_actions(default: dict[str, Any]) -> None:
    for policy in resources(default, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any("*" in action for action in actions), actions


def test_canary_schedule_bumps_the_canary_item_version_every_5_minutes(default: dict[str, Any]) -> None:
    schedule = only(default, "AWS::Scheduler::Schedule")
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    target = schedule["Target"]
    assert target["Arn"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":scheduler:::aws-sdk:dynamodb:updateItem"]]
    }
    assert target["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": [logical_id(default, "AWS::SQS::Queue", "SyncCanaryDeadLetterQueue"), "Arn"]}
    }
    table = {"Ref": logical_id(default, "AWS::DynamoDB::Table", "SyncSourceTable")}
    parts = target["Input"]["Fn::Join"][1]
    assert [part for part in parts if not isinstance(part, str)] == [table]
    assert json.loads("".join(part if isinstance(part, str) else "<table>" for part in parts)) == {
        "TableName": "<table>",
        "Key": {"pk": {"S": "genba-sync-canary"}},
        "UpdateExpression": "ADD #v :one SET #t = :t",
        "ExpressionAttributeNames": {"#v": "version", "#t": "genba_canary_scheduled_time"},
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":t": {"S": "<aws.scheduler.scheduled-time>"}},
    }


def alarm(template: dict[str, Any], name: str) -> dict[str, Any]:
    """The alarm named ``Test-<name>`` (the default factory names alarms after the stack)."""
    (found,) = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == f"Test-{name}"
    ]
    return found


def test_oldest_change_alarm_watches_the_verification_queue_age(default: dict[str, Any]) -> None:
    props = alarm(default, "sync-verification-queue-sync-lag-warning")
    assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert props["Threshold"] == 3600
    assert props["TreatMissingData"] == "notBreaching"


def test_dlq_alarms_cover_every_dead_letter_queue(default: dict[str, Any]) -> None:
    for subject in ("sync-verification-dlq", "sync-stream-failure-dlq", "sync-canary-dlq"):
        props = alarm(default, f"{subject}-dlq-not-empty-critical")
        assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert props["Threshold"] == 0 and props["ComparisonOperator"] == "GreaterThanThreshold"


def test_iterator_age_alarm_watches_the_forwarder(default: dict[str, Any]) -> None:
    props = alarm(default, "sync-forwarder-stream-iterator-age-warning")
    assert (props["Namespace"], props["MetricName"], props["Statistic"]) == ("AWS/Lambda", "IteratorAge", "Maximum")
    assert props["Dimensions"][0]["Name"] == "FunctionName"


def test_error_alarms_watch_each_function(default: dict[str, Any]) -> None:
    props = alarm(default, "sync-replay-lambda-errors-warning")
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Errors")


def test_error_alarms_add_the_failed_records_partial_batch_responses_hide(default: dict[str, Any]) -> None:
    """A failed record is part of a successful invocation: Errors alone never sees it."""
    for name, records in (("forwarder", "ChangesNotForwarded"), ("verifier", "FailedRecords")):
        metrics = alarm(default, f"sync-{name}-lambda-errors-warning")["Metrics"]
        assert metrics[0]["Expression"] == "FILL(errors, 0) + FILL(records, 0)"
        stats = {m["Id"]: m["MetricStat"]["Metric"] for m in metrics[1:]}
        assert (stats["errors"]["Namespace"], stats["errors"]["MetricName"]) == ("AWS/Lambda", "Errors")
        assert (stats["records"]["Namespace"], stats["records"]["MetricName"]) == ("genba/Sync", records)


def test_pending_change_alarm_keeps_its_state_between_verifier_invocations(default: dict[str, Any]) -> None:
    props = alarm(default, "sync-pending-changes-sync-lag-critical")
    assert (props["MetricName"], props["Statistic"], props["Period"]) == ("PendingChangeAgeSeconds", "Maximum", 300)
    assert props["TreatMissingData"] == "ignore"
    assert props["EvaluationPeriods"] == 1


def test_canary_silent_alarm_fills_every_minute_and_needs_every_one_of_them(default: dict[str, Any]) -> None:
    """FILL(m, 0) makes each minute a real data point, so no stale point is evaluated for periods.

    FILL and metric math in alarms: "Using math expressions with CloudWatch metrics"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html); the
    stale-point behaviour: "How alarm state is evaluated when data is missing"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html).
    """
    props = alarm(default, "sync-canary-sync-canary-silent-critical")
    expression, verified = props["Metrics"]
    assert (expression["Expression"], expression.get("ReturnData", True)) == ("FILL(verified, 0)", True)
    assert verified == {
        "Id": "verified",
        "MetricStat": {
            "Metric": {
                "Namespace": "genba/Sync",
                "MetricName": "CanaryVerified",
                "Dimensions": [{"Name": "service", "Value": "Test-sync"}],
            },
            "Period": 60,
            "Stat": "Sum",
        },
        "ReturnData": False,
    }
    silent = 20 - 5  # canary_silent_for less one canary interval, minute by minute
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (silent, silent)
    assert props["TreatMissingData"] == "breaching"
    assert props["ComparisonOperator"] == "LessThanThreshold"


def test_replay_window_alarm_says_how_long_the_records_have_left(default: dict[str, Any]) -> None:
    props = alarm(default, "sync-stream-failures-sync-replay-window-critical")
    # The replay function's own age of what it owes: SQS's ApproximateAgeOfOldestMessage drops a
    # message received 3+ times, so the alarm cleared itself after three failed replays.
    assert (props["Namespace"], props["MetricName"]) == ("genba/Sync", "ReplayOwedAgeSeconds")
    assert props["Threshold"] == 18 * 3600  # age from the first record's arrival: 6 h of 24 h left
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 1)  # ALARM between retries
    assert "expire 24 h after" in props["AlarmDescription"]


def test_record_failures_of_forwarder_and_replay_have_alarms(default: dict[str, Any]) -> None:
    forwarder = alarm(default, "sync-forwarder-records-sync-record-failures-warning")
    replay = alarm(default, "sync-replay-ranges-sync-record-failures-warning")
    assert forwarder["MetricName"] == "ChangesNotForwarded"
    assert replay["MetricName"] == "ReplayRangesFailed"
    assert {forwarder["TreatMissingData"], replay["TreatMissingData"]} == {"notBreaching"}


def test_source_quiet_alarm_is_off_unless_configured(default: dict[str, Any], fresh_stack: Stack) -> None:
    def quiet(template: dict[str, Any]) -> list[dict[str, Any]]:
        alarms = resources(template, "AWS::CloudWatch::Alarm").values()
        return [a["Properties"] for a in alarms if "sync-source-quiet" in a["Properties"]["AlarmName"]]

    assert quiet(default) == []
    build(fresh_stack, min_source_changes=3, min_source_changes_window=Duration.minutes(10))
    (props,) = quiet(Template.from_stack(fresh_stack).to_json())
    assert props["Threshold"] == 3
    assert props["ComparisonOperator"] == "LessThanThreshold"
    assert props["TreatMissingData"] == "breaching"
    (expression,) = [m for m in props["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "FILL(m, 0)"
    (changes,) = [m for m in props["Metrics"] if "MetricStat" in m]
    assert changes["MetricStat"]["Metric"]["MetricName"] == "SourceChangesForwarded"
    assert changes["MetricStat"]["Period"] == 600


def test_fails_min_source_changes_window_not_in_whole_minutes(fresh_stack: Stack) -> None:
    with pytest.raises(GenbaPropsError, match="min_source_changes_window"):
        build(fresh_stack, min_source_changes=3, min_source_changes_window=Duration.seconds(90))


def test_sqs_event_sources_have_max_concurrency_of_their_reserved_concurrency(default: dict[str, Any]) -> None:
    functions = {
        name: props["Properties"]
        for name, props in default["Resources"].items()
        if props["Type"] == "AWS::Lambda::Function"
    }
    sqs_mappings = [
        r["Properties"]
        for r in default["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and "BatchSize" in r["Properties"]
        and "StartingPosition" not in r["Properties"]
    ]
    assert len(sqs_mappings) == 2
    for mapping in sqs_mappings:
        function = functions[mapping["FunctionName"]["Ref"]]
        assert 2 <= mapping["ScalingConfig"]["MaximumConcurrency"] <= function["ReservedConcurrentExecutions"]


def test_fails_max_concurrency_above_reserved_concurrency(fresh_stack: Stack) -> None:
    with pytest.raises(GenbaPropsError, match=r"SyncVerification.*max_concurrency.*reserved concurrency 2"):
        build(fresh_stack, max_concurrency=(10, 3))


def test_fails_reserved_concurrency_below_the_sqs_minimum_max_concurrency(fresh_stack: Stack) -> None:
    with pytest.raises(GenbaPropsError, match=r"reserved_concurrency.*outside 2\.\.1000"):
        build(fresh_stack, reserved_concurrency=(20, 10, 1))


def test_sync_lag_metric_offers_percentiles(fresh_stack: Stack) -> None:
    sync = build(fresh_stack)
    metric = sync.metric_sync_lag(statistic="p50")
    assert (metric.namespace, metric.metric_name, metric.statistic) == ("genba/Sync", "SyncLagSeconds", "p50")


def test_alarms_are_an_alarm_set_found_by_runbook_and_subject(fresh_stack: Stack) -> None:
    sync = build(fresh_stack)
    assert isinstance(sync.alarms, AlarmSet)
    assert sync.alarms.runbooks == [
        "sync-lag",
        "dlq-not-empty",
        "sync-replay-window",
        "stream-iterator-age",
        "lambda-errors",
        "sync-canary-silent",
        "sync-record-failures",
    ]
    canary_dlq = sync.alarms.get("dlq-not-empty", subject="sync-canary-dlq")
    assert canary_dlq.node.path == f"{sync.node.path}/CanaryDlqAlarms/DlqNotEmptyCriticalAlarm"  # the id kept
    assert set(sync.alarms.by_runbook("sync-lag", subject="sync-verification-queue")) == set(Severity)


def _granted_actions(stack: Stack, role: iam.Role) -> set[str]:
    policy = role.node.find_child("DefaultPolicy")
    assert isinstance(policy, iam.Policy)
    actions: set[str] = set()
    for statement in stack.resolve(policy.document)["Statement"]:
        action = statement["Action"]
        actions |= set(action if isinstance(action, list) else [action])
    return actions


def test_grant_send_returns_the_grant_with_exact_kms_actions(fresh_stack: Stack) -> None:
    sync = build(fresh_stack)
    sender = iam.Role(fresh_stack, "Sender", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant = grant_send(sender, sync.queue)
    assert isinstance(grant, iam.Grant) and grant.success
    assert _granted_actions(fresh_stack, sender) == {"sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"}


def test_grant_send_to_a_queue_without_a_key_grants_no_kms(fresh_stack: Stack) -> None:
    sender = iam.Role(fresh_stack, "Sender", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    queue = sqs.Queue(fresh_stack, "Plain", encryption=sqs.QueueEncryption.SQS_MANAGED)
    assert isinstance(grant_send(sender, queue), iam.Grant)
    assert _granted_actions(fresh_stack, sender) == {"sqs:SendMessage"}


def test_sync_timing_defaults_have_no_problems() -> None:
    assert list(SyncTiming().problems()) == []


def test_sync_timing_problems_name_the_callers_keys() -> None:
    timing = SyncTiming(lag_slo=Duration.hours(30))
    ((prop, value, problem),) = timing.problems(names={"max_sync_lag": "max_sync_lag_hours"})
    assert (prop, value.to_human_string()) == ("lag_slo", "1 day 6 hours")
    assert problem == "must be longer than grace_period (1 minute) and shorter than max_sync_lag_hours (1 day)"


def test_sync_timing_reports_a_wrong_type_before_the_rules() -> None:
    timing = SyncTiming(max_sync_lag=24, max_receive_count=True)  # type: ignore[arg-type]
    assert [(prop, problem) for prop, _, problem in timing.problems()] == [
        ("max_sync_lag", "must be an aws_cdk.Duration"),
        ("max_receive_count", "must be a whole number"),
    ]


def test_keys_only_stream_is_accepted(fresh_stack: Stack) -> None:
    build(fresh_stack, stream_view_type=dynamodb.StreamViewType.KEYS_ONLY)
    table = only(Template.from_stack(fresh_stack).to_json(), "AWS::DynamoDB::Table")
    assert table["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}


def test_an_existing_table_stream_is_used(fresh_stack: Stack) -> None:
    table = dynamodb.Table.from_table_attributes(
        fresh_stack,
        "Users",
        table_name="users",
        table_stream_arn="arn:aws:dynamodb:ap-northeast-1:123456789012:table/users/stream/2026-01-01T00:00:00.000",
    )
    build(fresh_stack, source_table=table, canary_interval=None)
    template = Template.from_stack(fresh_stack).to_json()
    assert resources(template, "AWS::DynamoDB::Table") == {}
    assert stream_mapping(template)["EventSourceArn"].endswith("/stream/2026-01-01T00:00:00.000")
    assert resources(template, "AWS::Scheduler::Schedule") == {}


@pytest.mark.parametrize(
    ("make_target", "action"),
    [
        (lambda s: OpenSearchIndexTarget(domain=_domain(s), index="users"), ["es:ESHttpGet", "es:ESHttpPost"]),
        (lambda s: LambdaFunctionTarget(function=_function(s)), "lambda:InvokeFunction"),
    ],
)
def test_targets_grant_the_verifier_what_it_reads(fresh_stack: Stack, make_target: Any, action: Any) -> None:
    sync = build(fresh_stack, target=make_target(fresh_stack))
    assert sync.verifier.role is not None
    Template.from_stack(fresh_stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [fresh_stack.resolve(sync.verifier.role.role_name)],
            "PolicyDocument": {
                "Statement": Match.array_with([Match.object_like({"Action": action, "Effect": "Allow"})])
            },
        },
    )


def test_http_target_config_reaches_the_verifier(fresh_stack: Stack) -> None:
    build(fresh_stack, target=HttpEndpointTarget(url="https://sync.example.com/check"))
    Template.from_stack(fresh_stack).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "GENBA_SYNC_TARGET_KIND": "http",
                        "GENBA_SYNC_TARGET_CONFIG": '{"url":"https://sync.example.com/check","timeout_seconds":10}',
                    }
                )
            }
        },
    )


def _domain(stack: Stack) -> Any:
    from aws_cdk import aws_opensearchservice as opensearch

    return opensearch.Domain.from_domain_endpoint(
        stack, "Search", "https://search-users-abc.ap-northeast-1.es.amazonaws.com"
    )


def _function(stack: Stack) -> lambda_.IFunction:
    return lambda_.Function.from_function_name(stack, "Checker", "sync-checker")


# ---- bad props ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"max_sync_lag": Duration.minutes(10), "grace_period": Duration.minutes(15)}, "max_sync_lag"),
        (
            {"max_sync_lag": Duration.hours(2), "grace_period": Duration.minutes(15), "lag_slo": Duration.hours(3)},
            "lag_slo",
        ),
        ({"grace_period": Duration.minutes(16)}, "grace_period"),
        ({"max_sync_lag": Duration.days(11)}, "10 days"),
        (
            {"verifier_timeout": Duration.seconds(120), "verification_visibility_timeout": Duration.seconds(300)},
            "6 x verifier_timeout",
        ),
        ({"max_record_age": Duration.hours(24)}, "24 h retention"),
        ({"parallelization_factor": 11}, "parallelization_factor"),
        ({"max_receive_count": 5}, "max_receive_count"),
        ({"canary_silent_for": Duration.minutes(6)}, "canary_silent_for"),
        ({"canary_interval": Duration.seconds(90)}, "canary_interval"),
        ({"subject": "Not A Slug"}, "subject"),
        ({"stream_view_type": dynamodb.StreamViewType.OLD_IMAGE}, "stream_view_type"),
    ],
)
def test_fails_on_bad_props(fresh_stack: Stack, props: dict[str, Any], message: str) -> None:
    with pytest.raises(GenbaPropsError, match=re.escape(message)):
        build(fresh_stack, **props)


def test_fails_when_given_a_source_table_and_props_for_a_new_one(fresh_stack: Stack) -> None:
    table = dynamodb.Table(fresh_stack, "Users", partition_key=PK, stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
    with pytest.raises(GenbaPropsError, match="either source_table"):
        build(fresh_stack, source_table=table, source_table_name="users")


def test_fails_when_the_source_table_has_no_stream(fresh_stack: Stack) -> None:
    table = dynamodb.Table(fresh_stack, "Users", partition_key=PK)
    with pytest.raises(GenbaPropsError, match="has no stream"):
        build(fresh_stack, source_table=table)


def test_fails_on_an_http_target_without_tls() -> None:
    with pytest.raises(GenbaPropsError, match="https://"):
        HttpEndpointTarget(url="http://sync.example.com/check")


def test_contract_file_is_shipped_with_the_handlers() -> None:
    assert (Path(ROOT) / "lambda" / "_shared" / "python" / "genba_sync_contract.json").is_file()


def test_a_source_table_with_a_customer_managed_key_can_be_read_by_every_function() -> None:
    """DynamoDB serves items and stream records of a table encrypted with a customer managed key
    only to principals the key lets decrypt ("Notes on using encryption at rest":
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html):
    the forwarder (stream mapping), the replay (GetRecords of a failed range) and the verifier
    (BatchGetItem of the source) each need kms:Decrypt on that key, and on no other."""
    from tests.conftest import new_stack

    stack = new_stack()
    table = dynamodb.Table(
        stack,
        "Users",
        partition_key=PK,
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
    )
    build(stack, source_table=table)
    template = Template.from_stack(stack).to_json()
    (key_id,) = [k for k, v in resources(template, "AWS::KMS::Key").items() if k.startswith("UsersKey")]
    decrypting = set()
    for policy in resources(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "kms:Decrypt" in actions and statement["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}:
                decrypting.add(next(r["Ref"] for r in policy["Properties"]["Roles"]))
    assert {role.split("Role")[0] for role in decrypting} == {"SyncForwarder", "SyncReplay", "SyncVerifier"}
