"""`genba check`: is the deployed baseline of one environment what its templates say, and working?

Read-only. Each step prints a progress line, each finding one line; exit 1 on any FAIL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from genba.alarm_compare import differences, metrics_of, periods_seconds
from genba.assembly import Environment, Resolver, Resource
from genba.aws import Clients
from genba.report import FAIL, INFO, Report, Step

STALE_PERIODS = 3  # INSUFFICIENT_DATA for longer than this many periods: the metric is not published
ASG_TAG = "tag:aws:autoscaling:groupName"


def pages(call: Callable[..., dict[str, Any]], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of a NextToken-paged call (plain calls, so a test can wrap a client)."""
    while True:
        page = call(**kwargs)
        yield page
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def make_resolver(environment: Environment, clients: Clients, report: Report, step: Step) -> Resolver:
    def physical_ids(stack_name: str) -> dict[str, str]:
        ids: dict[str, str] = {}
        try:
            for page in pages(clients("cloudformation").list_stack_resources, StackName=stack_name):
                ids.update({r["LogicalResourceId"]: r["PhysicalResourceId"] for r in page["StackResourceSummaries"]})
        except ClientError as error:  # not deployed, or not readable; no connection at all is exit 2 (cli)
            report.finding(step, FAIL, stack_name, f"cannot read the deployed stack ({error})")
        return ids

    account: list[str | None] = []

    def account_id() -> str | None:
        if not account:
            try:
                account.append(clients("sts").get_caller_identity()["Account"])
            except (ClientError, BotoCoreError):
                account.append(None)
        return account[0]

    return Resolver(environment, physical_ids=physical_ids, account=account_id)


def check_stacks(env: Environment, resolver: Resolver, step: Step) -> None:
    for stack in env.stacks:
        step.checked += 1
        resolver.physical_id(stack, "")  # reads (and caches) the stack's resources; a failure is a finding


def check_alarms(
    env: Environment, resolver: Resolver, clients: Clients, report: Report, step: Step, now: datetime
) -> None:
    expected = {r.properties["AlarmName"]: r for r in env.resources("AWS::CloudWatch::Alarm")}
    names = sorted(expected)
    actual: dict[str, dict[str, Any]] = {}
    describe = clients("cloudwatch").describe_alarms
    for start in range(0, len(names), 100):
        for page in pages(describe, AlarmNames=names[start : start + 100], AlarmTypes=["MetricAlarm"]):
            actual.update({a["AlarmName"]: a for a in page["MetricAlarms"]})
    for name in names:
        step.checked += 1
        resource = expected[name]
        alarm = actual.get(name)
        if alarm is None:
            report.finding(step, FAIL, name, f"missing from the account (template {resource.stack.stack_name})")
            continue
        for line in differences(resource.properties, alarm, stack=resource.stack, resolver=resolver):
            report.finding(step, FAIL, name, line)
        if alarm.get("StateValue") == "INSUFFICIENT_DATA":
            since = alarm["StateUpdatedTimestamp"]
            limit = timedelta(seconds=STALE_PERIODS * periods_seconds(alarm))
            if now - since > limit:
                hours = (now - since).total_seconds() / 3600
                report.finding(
                    step,
                    FAIL,
                    name,
                    f"INSUFFICIENT_DATA for {hours:.1f} h (> {STALE_PERIODS} periods): "
                    f"not published: {', '.join(metrics_of(alarm))}",
                )


def check_topics(env: Environment, resolver: Resolver, clients: Clients, report: Report, step: Step) -> None:
    subscriptions = list(env.resources("AWS::SNS::Subscription"))
    for topic in env.resources("AWS::SNS::Topic"):
        step.checked += 1
        arn = resolver.name_of(topic.stack, topic.logical_id)
        if arn is None:
            report.finding(step, FAIL, topic.logical_id, "topic ARN not resolvable (stack not readable)")
            continue
        found: list[dict[str, Any]] = []
        try:
            for page in pages(clients("sns").list_subscriptions_by_topic, TopicArn=arn):
                found += page["Subscriptions"]
        except ClientError as error:
            report.finding(step, FAIL, arn, f"cannot list subscriptions ({error.response['Error']['Code']})")
            continue
        confirmed = [s for s in found if s["SubscriptionArn"].startswith("arn:")]
        for listed in found:
            if not listed["SubscriptionArn"].startswith("arn:"):
                pending = f"{listed['Protocol']} {listed['Endpoint']}: {listed['SubscriptionArn']}"
                report.finding(step, FAIL, arn, pending)
        endpoints = {s["Endpoint"] for s in found}
        for sub in subscriptions:
            if resolver.resolve(sub.properties.get("TopicArn"), sub.stack) != arn:
                continue
            endpoint = resolver.resolve(sub.properties.get("Endpoint"), sub.stack)
            if endpoint and endpoint not in endpoints:
                report.finding(step, FAIL, arn, f"{sub.properties.get('Protocol')} {endpoint}: not subscribed")
        if not confirmed:
            report.finding(step, FAIL, arn, "no confirmed subscription: alarms reach nobody")
        else:
            step.note = f"{len(confirmed)} confirmed"


def check_associations(env: Environment, resolver: Resolver, clients: Clients, report: Report, step: Step) -> None:
    by_group: dict[str, list[tuple[str, str]]] = {}
    for association in env.resources("AWS::SSM::Association"):
        name = association.properties.get("AssociationName", association.logical_id)
        association_id = resolver.physical_id(association.stack, association.logical_id)
        if association_id is None:
            report.finding(step, FAIL, name, "association not found in the deployed stack")
            continue
        for target in association.properties.get("Targets", []):
            if target.get("Key") == ASG_TAG:
                for group in target.get("Values", []):
                    by_group.setdefault(group, []).append((association_id, name))
    for group, associations in by_group.items():
        groups = clients("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])
        if not groups["AutoScalingGroups"]:
            report.finding(step, FAIL, group, "Auto Scaling group not found")
            continue
        instances = [
            i["InstanceId"]
            for i in groups["AutoScalingGroups"][0].get("Instances", [])
            if i.get("LifecycleState") == "InService"
        ]
        step.note = f"{len(instances)} in service"
        for instance in instances:
            step.checked += 1
            statuses = clients("ssm").describe_instance_associations_status(InstanceId=instance)
            by_id = {s["AssociationId"]: s for s in statuses.get("InstanceAssociationStatusInfos", [])}
            for association_id, name in associations:
                status = by_id.get(association_id, {}).get("Status", "never run")
                if status != "Success":
                    report.finding(step, FAIL, instance, f"{name} not compliant: {status}")


def check_subscription_filters(
    env: Environment, resolver: Resolver, clients: Clients, report: Report, step: Step
) -> None:
    for sf in env.resources("AWS::Logs::SubscriptionFilter"):
        step.checked += 1
        group = resolver.resolve(sf.properties["LogGroupName"], sf.stack)
        name = resolver.resolve(sf.properties.get("FilterName"), sf.stack) or sf.logical_id
        if group is None:
            report.finding(step, FAIL, name, "log group name not resolvable")
            continue
        try:
            filters = clients("logs").describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
        except ClientError as error:
            report.finding(step, FAIL, group, f"cannot read subscription filters ({error.response['Error']['Code']})")
            continue
        match = next((f for f in filters if f["filterName"] == name), None)
        if match is None:
            report.finding(step, FAIL, group, f"subscription filter {name!r} missing")
            continue
        destination = resolver.resolve(sf.properties.get("DestinationArn"), sf.stack)
        if destination and match.get("destinationArn") != destination:
            report.finding(step, FAIL, group, f"{name!r} delivers to {match.get('destinationArn')}, not {destination}")
        if match.get("filterPattern", "") != sf.properties.get("FilterPattern", ""):
            report.finding(step, FAIL, group, f"{name!r} pattern {match.get('filterPattern')!r} differs")


@dataclass(frozen=True)
class Expected:
    """The state a deployed resource must be in, and the findings when it is not."""

    state: str
    missing: str  # the resource is not in the deployed stack
    wrong: str  # formatted with {id} (its physical id) and {state}


def check_states(
    resources: Iterable[Resource],
    report: Report,
    step: Step,
    locate: Callable[[Resource], tuple[str, str | None]],
    read_state: Callable[[str], str],
    expected: Expected,
) -> None:
    """Each resource is in the ``expected`` state; an error code AWS answers counts as its state.

    ``locate`` gives what a finding is about and the physical id (None: not deployed);
    ``read_state`` reads the state by that id.
    """
    for resource in resources:
        step.checked += 1
        subject, physical_id = locate(resource)
        if physical_id is None:
            report.finding(step, FAIL, subject, expected.missing)
            continue
        try:
            state = read_state(physical_id)
        except ClientError as error:
            state = error.response["Error"]["Code"]
        if state != expected.state:
            report.finding(step, FAIL, subject, expected.wrong.format(id=physical_id, state=state))


FIREHOSE_ACTIVE = Expected("ACTIVE", "delivery stream not found in the deployed stack", "status {state}")
MAPPING_ENABLED = Expected("Enabled", "event source mapping not found in the deployed stack", "mapping {id} is {state}")


def check_firehose(env: Environment, resolver: Resolver, clients: Clients, report: Report, step: Step) -> None:
    def by_name(stream: Resource) -> tuple[str, str | None]:
        name = resolver.name_of(stream.stack, stream.logical_id)
        return name or stream.logical_id, name

    def status(name: str) -> str:
        described = clients("firehose").describe_delivery_stream(DeliveryStreamName=name)
        return str(described["DeliveryStreamDescription"]["DeliveryStreamStatus"])

    check_states(env.resources("AWS::KinesisFirehose::DeliveryStream"), report, step, by_name, status, FIREHOSE_ACTIVE)


def check_mappings(env: Environment, resolver: Resolver, clients: Clients, report: Report, step: Step) -> None:
    def by_function(mapping: Resource) -> tuple[str, str | None]:
        # A finding names the function; the physical id (Ref) of a mapping is its UUID.
        function = resolver.resolve(mapping.properties.get("FunctionName"), mapping.stack) or mapping.logical_id
        return function, resolver.physical_id(mapping.stack, mapping.logical_id)

    def state(uuid: str) -> str:
        return str(clients("lambda").get_event_source_mapping(UUID=uuid)["State"])

    check_states(env.resources("AWS::Lambda::EventSourceMapping"), report, step, by_function, state, MAPPING_ENABLED)


def check_canary(
    env: Environment, resolver: Resolver, clients: Clients, report: Report, step: Step, now: datetime
) -> None:
    """Some CanaryVerified within the canary alarm's own window (its period x evaluation periods)."""
    for alarm in env.resources("AWS::CloudWatch::Alarm"):
        props = alarm.properties
        # The canary alarm reads CanaryVerified directly or through metric math (FILL(m, 0)).
        metric, period = None, None
        if props.get("MetricName") == "CanaryVerified":
            metric, period = props, int(props["Period"])
        for query in props.get("Metrics", []):
            stat = query.get("MetricStat", {})
            if stat.get("Metric", {}).get("MetricName") == "CanaryVerified":
                metric, period = stat["Metric"], int(stat["Period"])
        if metric is None or period is None:
            continue
        step.checked += 1
        window = period * int(props.get("EvaluationPeriods", 1))
        dimensions = [
            {"Name": d["Name"], "Value": resolver.resolve(d["Value"], alarm.stack) or ""}
            for d in metric.get("Dimensions", [])
        ]
        query = {
            "Id": "canary",
            "MetricStat": {
                "Metric": {"Namespace": metric["Namespace"], "MetricName": "CanaryVerified", "Dimensions": dimensions},
                "Period": window,
                "Stat": "Sum",
            },
        }
        result = clients("cloudwatch").get_metric_data(
            MetricDataQueries=[query], StartTime=now - timedelta(seconds=window), EndTime=now
        )
        verified = sum(sum(r.get("Values", [])) for r in result["MetricDataResults"])
        step.note = f"{verified:.0f} verified in {window // 60} min"
        if verified < 1:
            report.finding(step, FAIL, props["AlarmName"], f"no canary verified in the last {window // 60} minutes")


def alarm_history(
    env: Environment, clients: Clients, report: Report, step: Step, now: datetime, since: timedelta
) -> None:
    names = {r.properties["AlarmName"] for r in env.resources("AWS::CloudWatch::Alarm")}
    history = pages(
        clients("cloudwatch").describe_alarm_history,
        HistoryItemType="StateUpdate",
        StartDate=now - since,
        EndDate=now,
        ScanBy="TimestampAscending",
    )
    for page in history:
        for item in page["AlarmHistoryItems"]:
            if item["AlarmName"] in names:
                step.checked += 1
                stamp = item["Timestamp"].strftime("%Y-%m-%d %H:%M:%S")
                report.finding(step, INFO, item["AlarmName"], f"{stamp} {item['HistorySummary']}")
    step.note = f"{step.checked} state changes"


def run_check(
    env: Environment,
    clients: Clients,
    report: Report,
    *,
    since: timedelta | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    report.total_steps = 8 + (1 if since else 0)
    with report.step("stacks") as step:
        resolver = make_resolver(env, clients, report, step)
        check_stacks(env, resolver, step)
    with report.step("alarms") as step:
        check_alarms(env, resolver, clients, report, step, now())
    with report.step("alarm topic") as step:
        check_topics(env, resolver, clients, report, step)
    with report.step("agent associations") as step:
        check_associations(env, resolver, clients, report, step)
    with report.step("subscription filters") as step:
        check_subscription_filters(env, resolver, clients, report, step)
    with report.step("firehose streams") as step:
        check_firehose(env, resolver, clients, report, step)
    with report.step("event source mappings") as step:
        check_mappings(env, resolver, clients, report, step)
    with report.step("sync canary") as step:
        check_canary(env, resolver, clients, report, step, now())
    if since:
        with report.step(f"alarm history ({since.total_seconds() / 3600:g} h)") as step:
            alarm_history(env, clients, report, step, now(), since)
    report.summary(f"genba check {env.name}")
    return 1 if report.failed else 0
