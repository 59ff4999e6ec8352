"""Misuse of any public constructor or method is one clear line (issue 13, item 6).

A property-based test: for every public constructor and public method of every construct
exported from ``genba_constructs`` (and the exported functions), hypothesis replaces one
prop of a valid call with a wrong value - a wrong type (str, int, float, bool, None, dict,
list, a Duration, a random CDK object) or an out-of-range value of the right type - and the
call must either succeed (and the stack synthesize) or raise :class:`GenbaPropsError` with
one line naming the construct and the prop. Anything else (an AttributeError from inside
genba, a jsii error, a typeguard report, an error at ``app.synth()``) is a failure.

``TRIED`` counts the wrong usages tried and ``CLEAR`` those answered with one clear line or
a working stack; ``test_zz_every_wrong_usage_tried_gave_one_clear_line`` reports the figure.
"""

from __future__ import annotations

import inspect
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import CfnResource, Duration, Environment, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import aws_sqs as sqs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import genba_constructs as genba
from genba_constructs import GenbaPropsError, Thresholds
from genba_constructs.operations_dashboard import OperationsDashboard
from tests.conftest import new_stack

TRIED: Counter[str] = Counter()
CLEAR: Counter[str] = Counter()
UNCLEAR: list[str] = []
# MISUSE_COLLECT=1 lists every unclear answer instead of stopping (and shrinking) at the first.
COLLECT = bool(os.environ.get("MISUSE_COLLECT"))

ASG = "awseb-e-abc123-stack-AWSEBAutoScalingGroup-XYZ"
LB = "app/shop-web/0123456789abcdef"
PK = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)

Call = tuple[Callable[..., Any], dict[str, Any]]


def _stack() -> Stack:
    stack = new_stack("Misuse")
    # A template needs one resource to synthesize, whatever the call under test adds.
    CfnResource(stack, "Placeholder", type="AWS::CloudFormation::WaitConditionHandle")
    return stack


def _factory() -> genba.AlarmFactory:
    return genba.AlarmFactory(name_prefix="misuse")


def _group(stack: Stack) -> genba.ServiceLogGroup:
    return genba.ServiceLogGroup(stack, "Logs", subject="app-logs", log_group_name="/svc/app", alarm_factory=_factory())


def _archive(stack: Stack) -> genba.LogArchive:
    return genba.LogArchive(stack, "Archive", alarm_factory=_factory())


def _search(stack: Stack) -> genba.LogSearch:
    return genba.LogSearch(stack, "Search", alarm_factory=_factory())


def _replica(stack: Stack) -> dynamodb.ITable:
    return dynamodb.Table.from_table_name(stack, "Replica", "users-replica")


def _function(stack: Stack) -> lambda_.IFunction:
    return lambda_.Function.from_function_name(stack, "Fn", "team-fn")


def _role(stack: Stack) -> iam.IRole:
    return iam.Role.from_role_name(stack, "Reader", "reader")


def _alarm_spec() -> dict[str, Any]:
    return {
        "subject": "queue",
        "runbook": "queue-age",
        "summary": "Messages wait.",
        "first_check": "The consumer.",
        "metric": cloudwatch.Metric(namespace="AWS/SQS", metric_name="ApproximateAgeOfOldestMessage"),
        "thresholds": Thresholds(critical=60),
        "comparison": cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        "missing_data": cloudwatch.TreatMissingData.NOT_BREACHING,
    }


def _sync(stack: Stack) -> genba.SyncVerification:
    return genba.SyncVerification(
        stack,
        "Sync",
        partition_key=PK,
        target=genba.DynamoDbReplicaTarget(table=_replica(stack)),
        alarm_factory=_factory(),
    )


# name -> builder of (callable under test, valid props) in a fresh stack
CALLS: dict[str, Callable[[Stack], Call]] = {
    "AlarmTopic": lambda s: (lambda **p: genba.AlarmTopic(s, "Alarms", **p), {}),
    "AlarmFactory": lambda s: (genba.AlarmFactory, {"name_prefix": "misuse"}),
    "AlarmFactory.create": lambda s: (lambda **p: _factory().create(s, **p), _alarm_spec()),
    "ServiceLogGroup": lambda s: (
        lambda **p: genba.ServiceLogGroup(s, "Logs", **p),
        {"subject": "app-logs", "log_group_name": "/svc/app", "alarm_factory": _factory()},
    ),
    "ServiceLogGroup.metric_log_lines": lambda s: (_group(s).metric_log_lines, {"level": "ERROR"}),
    "ServiceLogGroup.metric_request_duration": lambda s: (_group(s).metric_request_duration, {}),
    "LogArchive": lambda s: (lambda **p: genba.LogArchive(s, "Archive", **p), {"alarm_factory": _factory()}),
    "LogArchive.archive_log_group": lambda s: (_archive(s).archive_log_group, {"log_group": _group(s)}),
    "LogArchive.grant_read": lambda s: (_archive(s).grant_read, {"grantee": _role(s)}),
    "LogArchive.grant_write": lambda s: (_archive(s).grant_write, {"grantee": _role(s), "prefix": "backup/"}),
    "ArchiveTrail": lambda s: (lambda **p: genba.ArchiveTrail(s, "Trail", **p), {"archive": _archive(s)}),
    "LogSearch": lambda s: (lambda **p: genba.LogSearch(s, "Search", **p), {"alarm_factory": _factory()}),
    "LogSearch.subscribe": lambda s: (_search(s).subscribe, {"log_group": _group(s)}),
    "LogSearch.grant_http": lambda s: (_search(s).grant_http, {"grantee": _role(s)}),
    "LogSearch.acknowledge_public_endpoint": lambda s: (
        _search(s).acknowledge_public_endpoint,
        {"reason": "A development domain reached only through its IAM policy."},
    ),
    "LogSearch.metric_domain": lambda s: (_search(s).metric_domain, {"metric_name": "CPUUtilization"}),
    "HostMonitoring": lambda s: (
        lambda **p: genba.HostMonitoring(s, "Hosts", **p),
        {"subject": "web-hosts", "auto_scaling_group_name": ASG, "alarm_factory": _factory()},
    ),
    "SyncVerification": lambda s: (
        lambda **p: genba.SyncVerification(s, "Sync", **p),
        {"partition_key": PK, "target": genba.DynamoDbReplicaTarget(table=_replica(s)), "alarm_factory": _factory()},
    ),
    "SyncVerification.metric": lambda s: (_sync(s).metric, {"name": "sync_lag"}),
    "DynamoDbReplicaTarget": lambda s: (genba.DynamoDbReplicaTarget, {"table": _replica(s)}),
    "OpenSearchIndexTarget": lambda s: (
        genba.OpenSearchIndexTarget,
        {
            "domain": opensearch.Domain.from_domain_endpoint(
                s, "D", "https://search-x.ap-northeast-1.es.amazonaws.com"
            ),
            "index": "users",
        },
    ),
    "HttpEndpointTarget": lambda s: (genba.HttpEndpointTarget, {"url": "https://sync.example.com/check"}),
    "LambdaFunctionTarget": lambda s: (genba.LambdaFunctionTarget, {"function": _function(s)}),
    "WebTierMonitoring": lambda s: (
        lambda **p: genba.WebTierMonitoring(s, "Web", **p),
        {"load_balancer": LB, "alarm_factory": _factory()},
    ),
    "OperationsDashboard": lambda s: (
        lambda **p: OperationsDashboard(s, "Dashboard", **p),
        {"dashboard_name": "misuse-ops"},
    ),
    "add_log_silence_alarm": lambda s: (
        lambda **p: genba.add_log_silence_alarm(s, **p),
        {"log_group_name": "/svc/app", "subject": "app-logs", "alarm_factory": _factory()},
    ),
    "acknowledge": lambda s: (
        lambda **p: genba.acknowledge(s, **p),
        {"rule": "AwsSolutions-IAM5", "reason": "A reason long enough to explain it."},
    ),
}

# The real callable whose signature lists the props (for the names of the props to break).
TARGETS: dict[str, Callable[..., Any]] = {
    "AlarmTopic": genba.AlarmTopic.__init__,
    "AlarmFactory": genba.AlarmFactory.__init__,
    "AlarmFactory.create": genba.AlarmFactory.create,
    "ServiceLogGroup": genba.ServiceLogGroup.__init__,
    "ServiceLogGroup.metric_log_lines": genba.ServiceLogGroup.metric_log_lines,
    "ServiceLogGroup.metric_request_duration": genba.ServiceLogGroup.metric_request_duration,
    "LogArchive": genba.LogArchive.__init__,
    "LogArchive.archive_log_group": genba.LogArchive.archive_log_group,
    "LogArchive.grant_read": genba.LogArchive.grant_read,
    "LogArchive.grant_write": genba.LogArchive.grant_write,
    "ArchiveTrail": genba.ArchiveTrail.__init__,
    "LogSearch": genba.LogSearch.__init__,
    "LogSearch.subscribe": genba.LogSearch.subscribe,
    "LogSearch.grant_http": genba.LogSearch.grant_http,
    "LogSearch.acknowledge_public_endpoint": genba.LogSearch.acknowledge_public_endpoint,
    "LogSearch.metric_domain": genba.LogSearch.metric_domain,
    "HostMonitoring": genba.HostMonitoring.__init__,
    "SyncVerification": genba.SyncVerification.__init__,
    "SyncVerification.metric": genba.SyncVerification.metric,
    "DynamoDbReplicaTarget": genba.DynamoDbReplicaTarget.__init__,
    "OpenSearchIndexTarget": genba.OpenSearchIndexTarget.__init__,
    "HttpEndpointTarget": genba.HttpEndpointTarget.__init__,
    "LambdaFunctionTarget": genba.LambdaFunctionTarget.__init__,
    "WebTierMonitoring": genba.WebTierMonitoring.__init__,
    "OperationsDashboard": OperationsDashboard.__init__,
    "add_log_silence_alarm": genba.add_log_silence_alarm,
    "acknowledge": genba.acknowledge,
}


def _props(name: str) -> list[str]:
    signature = inspect.signature(inspect.unwrap(TARGETS[name]))
    return [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "scope", "id", "construct") and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]


# A wrong value is made in the stack under test (CDK objects need a scope).
Make = Callable[[Stack], Any]


def _const(value: Any) -> Make:
    return lambda _stack: value


_CDK_OBJECTS: list[Make] = [
    lambda s: sqs.Queue(s, "SomeQueue"),
    lambda s: _replica(s),
    lambda s: logs.LogGroup(s, "SomeLogGroup"),
    lambda s: _function(s),
    lambda s: cloudwatch.Metric(namespace="X", metric_name="Y"),
    lambda s: genba.ServiceLogGroup(
        s,
        "OtherLogs",
        subject="other-logs",
        log_group_name="/svc/other",
        alarm_factory=genba.AlarmFactory(name_prefix="o"),
    ),
    lambda s: _archive(s),
]

WRONG: st.SearchStrategy[Make] = st.one_of(
    st.sampled_from(
        [_const(v) for v in ("x", "", "Not A Slug!", 0, -1, 7, 1.5, True, False, None, {}, [], {"a": 1}, ["a", 1])]
        + [_const(Duration.minutes(5)), _const(Duration.millis(1)), _const(Duration.days(3650))]
        + [_const(Thresholds()), _const(Thresholds(warning=-5, critical=10**9))]
        + _CDK_OBJECTS
    ),
    st.integers(min_value=-(10**12), max_value=10**12).map(_const),
    st.floats(allow_nan=True, allow_infinity=True).map(_const),
    st.text(max_size=600).map(_const),
    st.lists(st.text(max_size=20), max_size=3).map(_const),
    st.tuples(st.integers(-5, 50), st.integers(-5, 50), st.integers(-5, 50)).map(_const),
)


def _clear(owner: str, prop: str, error: GenbaPropsError) -> bool:
    message = str(error)
    construct = owner.split(".")[0]
    return "\n" not in message and message.startswith(construct) and (prop in message or "argument" in message)


@pytest.mark.parametrize("name", sorted(CALLS))
@settings(
    max_examples=int(os.environ.get("MISUSE_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@given(data=st.data())
def test_a_wrong_prop_is_one_clear_line_or_works(name: str, data: st.DataObject) -> None:
    prop = data.draw(st.sampled_from(_props(name)), label="prop")
    make = data.draw(WRONG, label="value")
    stack = _stack()
    call, props = CALLS[name](stack)
    # Wrong CDK objects come from another stack of the app, so that their ids and names are their own.
    other = Stack(stack.node.root, "Other", env=Environment(account=stack.account, region=stack.region))
    CfnResource(other, "Placeholder", type="AWS::CloudFormation::WaitConditionHandle")
    value = make(other)
    TRIED[name] += 1
    try:
        call(**{**props, prop: value})
        stack.node.root.synth()  # type: ignore[attr-defined]
    except GenbaPropsError as error:
        if not _clear(name, prop, error):
            UNCLEAR.append(f"{name}({prop}={value!r}): {error}")
            if COLLECT:
                return
            raise AssertionError(f"{name}({prop}={value!r}) gave an unclear message: {error}") from None
    except Exception as error:  # anything but GenbaPropsError is a traceback the user should not see
        UNCLEAR.append(f"{name}({prop}={value!r}): {type(error).__name__}: {str(error)[:200]}")
        if COLLECT:
            return
        raise AssertionError(f"{name}({prop}={value!r}) raised {type(error).__name__}: {error}") from None
    CLEAR[name] += 1


def test_zz_every_wrong_usage_tried_gave_one_clear_line() -> None:
    tried, clear = sum(TRIED.values()), sum(CLEAR.values())
    print(f"\nwrong usages tried: {tried}, one clear line (or a working stack): {clear}")
    for line in UNCLEAR:
        print("  unclear:", line)
    assert tried == 0 or clear == tried
