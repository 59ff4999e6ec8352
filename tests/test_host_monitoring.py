"""HostMonitoring: the agent configuration in SSM, the associations, the policy and the group alarms."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from genba_constructs import AlarmFactory, GenbaPropsError, HostLogFile, HostMonitoring, ServiceLogGroup, Thresholds
from tests.cloudwatch_agent_model import AGENT_CONFIG_SCHEMA, published_dimension_sets
from tests.conftest import ROOT
from tools.assembly import SynthesizedStack

ASG = "awseb-e-abc123-stack-AWSEBAutoScalingGroup-XYZ"
ENVIRONMENTS = ("dev", "stg", "prod")
# Functions CloudWatch metric math documents (the ones an alarm expression may use here).
METRIC_MATH_FUNCTIONS = {"RATE", "DIFF", "IF", "MAX", "MIN", "AVG", "SUM", "ABS", "FILL"}


def make(stack: Stack, **overrides: Any) -> HostMonitoring:
    props: dict[str, Any] = {"subject": "web-hosts", "auto_scaling_group_name": ASG, **overrides}
    return HostMonitoring(stack, "Hosts", **props)


def app_log_group(stack: Stack, **props: Any) -> ServiceLogGroup:
    return ServiceLogGroup(stack, "AppLogs", subject="app-logs", log_group_name="/svc/app", **props)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in template["Resources"].items() if v["Type"] == kind}


def alarms_by_name(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["AlarmName"]: p for p in resources(template, "AWS::CloudWatch::Alarm").values()}


# -- reading a synthesized configuration back -----------------------------------------------


class Intrinsics:
    """Stand-ins for the deploy-time values in the SSM parameter, resolved to (stack, logical id)."""

    def __init__(self, stack_name: str, templates: dict[str, dict[str, Any]]) -> None:
        self.stack_name = stack_name
        self.templates = templates
        self.placeholders: dict[str, tuple[str, str]] = {}

    def resolve(self, value: Any, stack_name: str | None = None) -> tuple[str, str]:
        stack_name = stack_name or self.stack_name
        if "Ref" in value:
            return stack_name, value["Ref"]
        if "Fn::GetStackOutput" in value:
            ref = value["Fn::GetStackOutput"]
            output = self.templates[ref["StackName"]]["Outputs"][ref["OutputName"]]["Value"]
            return self.resolve(output, ref["StackName"])
        raise AssertionError(f"unexpected intrinsic {value}")

    def placeholder(self, value: Any) -> str:
        target = self.resolve(value)
        name = f"/resolved/{target[0]}/{target[1]}"
        self.placeholders[name] = target
        return name


def agent_config_of(template: dict[str, Any], intrinsics: Intrinsics) -> dict[str, Any]:
    (parameter,) = resources(template, "AWS::SSM::Parameter").values()
    value = parameter["Value"]
    if isinstance(value, dict):
        separator, parts = value["Fn::Join"]
        value = separator.join(p if isinstance(p, str) else intrinsics.placeholder(p) for p in parts)
    config: dict[str, Any] = json.loads(value)
    return config


def agent_metrics(alarm: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric name, {dimension: value}) of every metric an alarm reads."""
    if "MetricName" in alarm:
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        yield alarm["Namespace"], alarm["MetricName"], dims
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            yield (
                metric["Namespace"],
                metric["MetricName"],
                {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
            )


def detection_seconds(alarm: dict[str, Any]) -> int:
    periods = (
        [alarm["Period"]]
        if "Period" in alarm
        else [q["MetricStat"]["Period"] for q in alarm["Metrics"] if "MetricStat" in q]
    )
    assert len(set(periods)) == 1
    return int(periods[0] * alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"]))


# -- construct defaults ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_template() -> dict[str, Any]:
    from tests.conftest import new_stack

    stack = new_stack()
    make(
        stack,
        log_files=[
            HostLogFile(
                file_path="/var/log/app/*.log", log_group=app_log_group(stack), timestamp_format="%Y-%m-%dT%H:%M:%S"
            )
        ],
    )
    return Template.from_stack(stack).to_json()


def test_configuration_in_ssm_matches_the_documented_schema(default_template: dict[str, Any]) -> None:
    config = agent_config_of(default_template, Intrinsics("Test", {"Test": default_template}))
    jsonschema.Draft202012Validator(AGENT_CONFIG_SCHEMA).validate(config)
    (parameter,) = resources(default_template, "AWS::SSM::Parameter").values()
    assert parameter["Name"] == "AmazonCloudWatch-Test-web-hosts"


def test_every_alarm_reads_a_dimension_set_the_agent_publishes(default_template: dict[str, Any]) -> None:
    config = agent_config_of(default_template, Intrinsics("Test", {"Test": default_template}))
    published = published_dimension_sets(config)
    checked = 0
    for name, alarm in alarms_by_name(default_template).items():
        for namespace, metric, dims in agent_metrics(alarm):
            if namespace != "CWAgent":
                continue
            assert frozenset(dims) in published[(namespace, metric)], name
            # the group (or one mount point of it), never an instance
            assert dims in ({"AutoScalingGroupName": ASG}, {"AutoScalingGroupName": ASG, "path": "/"}), name
            checked += 1
    assert checked == 10  # 8 + agent-missing's SampleCount + the "/" forecast


def test_associations_install_and_configure_the_agent_on_the_group(default_template: dict[str, Any]) -> None:
    associations = {p["Name"]: p for p in resources(default_template, "AWS::SSM::Association").values()}
    assert set(associations) == {"AWS-ConfigureAWSPackage", "AmazonCloudWatch-ManageAgent"}
    install, configure = associations["AWS-ConfigureAWSPackage"], associations["AmazonCloudWatch-ManageAgent"]
    assert install["Parameters"] == {"action": ["Install"], "name": ["AmazonCloudWatchAgent"]}
    assert configure["Parameters"]["action"] == ["configure"]
    assert configure["Parameters"]["optionalConfigurationSource"] == ["ssm"]
    (parameter_id,) = resources(default_template, "AWS::SSM::Parameter")
    assert configure["Parameters"]["optionalConfigurationLocation"] == [{"Ref": parameter_id}]
    for association in (install, configure):
        assert association["Targets"] == [{"Key": "tag:aws:autoscaling:groupName", "Values": [ASG]}]
        assert association["ScheduleExpression"] == "rate(30 minutes)"
        assert association["ComplianceSeverity"] == "HIGH"
        assert association["SyncCompliance"] == "AUTO"


def test_agent_policy_has_no_wildcard_actions_and_reads_only_its_parameter(default_template: dict[str, Any]) -> None:
    (policy,) = resources(default_template, "AWS::IAM::ManagedPolicy").values()
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    for statement in statements.values():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any("*" in action for action in actions)
    assert statements["PutAgentMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}
    (parameter_id,) = resources(default_template, "AWS::SSM::Parameter")
    assert {"Ref": parameter_id} in statements["ReadAgentConfiguration"]["Resource"]["Fn::Join"][1]
    shipped = {r["Fn::GetAtt"][0] for r in statements["ShipLogs"]["Resource"]}
    assert shipped == set(resources(default_template, "AWS::Logs::LogGroup"))
    assert "Roles" not in policy


def test_agent_log_group_is_kept_encrypted_and_retained(default_template: dict[str, Any]) -> None:
    (agent_logs,) = [
        v for k, v in default_template["Resources"].items() if v["Type"] == "AWS::Logs::LogGroup" and "AgentLogs" in k
    ]
    assert agent_logs["Properties"]["RetentionInDays"] == 30
    assert "KmsKeyId" in agent_logs["Properties"]
    assert agent_logs["DeletionPolicy"] == "Retain"
    assert agent_logs["Properties"]["DeletionProtectionEnabled"] is True


def test_log_group_without_a_silence_alarm_gets_one(default_template: dict[str, Any]) -> None:
    alarm = alarms_by_name(default_template)["Test-app-logs-log-silence-critical"]
    assert [name for _, name, _ in agent_metrics(alarm)] == ["IncomingLogEvents"]
    assert alarm["TreatMissingData"] == "breaching"
    assert detection_seconds(alarm) == 300


def test_log_group_with_a_silence_alarm_keeps_its_own(fresh_stack: Stack) -> None:
    group = app_log_group(fresh_stack, must_never_be_silent=True)
    hosts = make(fresh_stack, log_files=[HostLogFile(file_path="/a.log", log_group=group)])
    assert hosts.log_silence_alarms == {"app-logs": group.silence_alarm}
    names = [
        a["AlarmName"] for a in resources(Template.from_stack(fresh_stack).to_json(), "AWS::CloudWatch::Alarm").values()
    ]
    assert names.count("Test-app-logs-log-silence-critical") == 1


def test_target_tag_replaces_the_group_tag(fresh_stack: Stack) -> None:
    make(fresh_stack, target_tag=("elasticbeanstalk:environment-name", "web-prod"))
    for association in resources(Template.from_stack(fresh_stack).to_json(), "AWS::SSM::Association").values():
        assert association["Targets"] == [{"Key": "tag:elasticbeanstalk:environment-name", "Values": ["web-prod"]}]


def test_reapply_schedule_is_written_as_an_ssm_rate(fresh_stack: Stack) -> None:
    make(fresh_stack, reapply_every=Duration.hours(2))
    schedules = {
        a["ScheduleExpression"]
        for a in resources(Template.from_stack(fresh_stack).to_json(), "AWS::SSM::Association").values()
    }
    assert schedules == {"rate(2 hours)"}


def test_plain_auto_scaling_group_from_cdk_gets_policy_and_alarms_by_token(fresh_stack: Stack) -> None:
    vpc = ec2.Vpc(fresh_stack, "Vpc", max_azs=2, nat_gateways=0)
    asg = autoscaling.AutoScalingGroup(
        fresh_stack,
        "Workers",
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        instance_type=ec2.InstanceType("t3.small"),
        machine_image=ec2.MachineImage.latest_amazon_linux2023(),
    )
    make(fresh_stack, auto_scaling_group_name=asg.auto_scaling_group_name, role=asg.role)
    template = Template.from_stack(fresh_stack).to_json()
    (asg_id,) = resources(template, "AWS::AutoScaling::AutoScalingGroup")
    (policy,) = resources(template, "AWS::IAM::ManagedPolicy").values()
    assert policy["Roles"] == [{"Ref": next(k for k in resources(template, "AWS::IAM::Role") if "Workers" in k)}]
    alarm = alarms_by_name(template)["Test-web-hosts-disk-used-critical"]
    assert alarm["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": {"Ref": asg_id}}]


# -- metric math ------------------------------------------------------------------------------


def forecast_alarm(template: dict[str, Any]) -> dict[str, Any]:
    (alarm,) = [a for n, a in alarms_by_name(template).items() if "disk-full-soon" in n]
    return alarm


def test_forecast_expression_uses_only_metric_math_functions_and_its_own_ids(default_template: dict[str, Any]) -> None:
    alarm = forecast_alarm(default_template)
    expressions = [q for q in alarm["Metrics"] if "Expression" in q]
    ids = {q["Id"] for q in alarm["Metrics"]}
    metric_ids = {q["Id"] for q in alarm["Metrics"] if "MetricStat" in q}
    read: set[str] = set()
    for expression in expressions:
        tree = ast.parse(expression["Expression"], mode="eval")
        functions = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - functions
        assert functions <= METRIC_MATH_FUNCTIONS
        assert names <= ids  # every id it reads exists
        read |= names
    assert metric_ids <= read  # and every metric is read
    assert [q.get("ReturnData", True) for q in expressions].count(True) == 1
    assert all(q.get("ReturnData") is False for q in alarm["Metrics"] if "MetricStat" in q)


def test_forecast_follows_each_listed_mount_point_not_only_the_fullest(fresh_stack: Stack) -> None:
    """The ``{AutoScalingGroupName, path}`` rollup is published by ``aggregation_dimensions``
    (CloudWatch agent configuration file reference, "metrics" section:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Agent-Configuration-File-Details.html);
    ``MAX([...])`` of time series gives the highest per timestamp ("Using math expressions with
    CloudWatch metrics": https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html).
    """
    make(fresh_stack, disk_forecast_paths=["/", "/var/log"])
    template = Template.from_stack(fresh_stack)
    alarm = forecast_alarm(template.to_json())
    expression = next(q["Expression"] for q in alarm["Metrics"] if q.get("ReturnData", True))
    assert expression == "MAX([fullest, path0, path1])"
    for path in ("/", "/var/log"):
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            Match.object_like(
                {
                    "AlarmName": Match.string_like_regexp("disk-full-soon"),
                    "Metrics": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "MetricStat": {
                                        "Metric": {
                                            "Namespace": "CWAgent",
                                            "MetricName": "disk_used_percent",
                                            "Dimensions": Match.array_with([{"Name": "path", "Value": path}]),
                                        },
                                        "Period": 600,
                                        "Stat": "Maximum",
                                    }
                                }
                            )
                        ]
                    ),
                }
            ),
        )


def test_agent_missing_compares_agents_with_instances_in_service(default_template: dict[str, Any]) -> None:
    """``GroupInServiceInstances`` (``AWS/AutoScaling``, dimension ``AutoScalingGroupName``) is a group
    metric, published at 1-minute granularity once metrics collection is enabled ("Monitor CloudWatch
    metrics for your Auto Scaling groups and instances":
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-metrics.html; API
    EnableMetricsCollection: https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_EnableMetricsCollection.html).
    """
    (alarm,) = [a for n, a in alarms_by_name(default_template).items() if "agent-missing" in n]
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    assert queries["in_service"]["MetricStat"] == {
        "Metric": {
            "Namespace": "AWS/AutoScaling",
            "MetricName": "GroupInServiceInstances",
            "Dimensions": [{"Name": "AutoScalingGroupName", "Value": ASG}],
        },
        "Period": 60,
        "Stat": "Minimum",
    }
    assert queries["reporting"]["MetricStat"]["Metric"]["MetricName"] == "mem_used_percent"
    assert queries["reporting"]["MetricStat"]["Stat"] == "SampleCount"
    (expression,) = [q for q in alarm["Metrics"] if "Expression" in q]
    assert expression["Expression"] == "in_service - FILL(reporting, 0)"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert (alarm["EvaluationPeriods"], alarm["TreatMissingData"]) == (6, "notBreaching")


def simulate_forecast(alarm: dict[str, Any], fullest_percent: Callable[[int], float], periods: int) -> int | None:
    """Evaluate the synthesized alarm (tools.gates.detect) with every filesystem it reads at ``fullest_percent``.

    :returns: seconds from the start of the series to the alarm (None: it never fires).
    """
    from tools.gates.detect.evaluator import MetricStore, State, evaluate_alarms
    from tools.gates.detect.templates import alarm_from_template

    definition = alarm_from_template(alarm, {}, region="ap-northeast-1")
    store = MetricStore()
    for key in definition.metrics:
        for i in range(periods):
            store.put(key, i * definition.period, fullest_percent(i * definition.period), delay=0)
    transitions = evaluate_alarms([definition], store, 0, periods * definition.period)
    fired = [t.at for t in transitions if t.state is State.ALARM]
    return fired[0] if fired else None


def test_growth_that_fills_the_disk_within_24_hours_alarms_within_30_minutes(default_template: dict[str, Any]) -> None:
    alarm = forecast_alarm(default_template)
    start = 30 * 60  # the buffer starts growing 30 minutes into the series, from 40 %
    per_second = 60 / (20 * 3600)  # 60 points in 20 hours: full in 20 hours

    def fullest(t: int) -> float:
        return 40 + max(0, t - start) * per_second

    fired = simulate_forecast(alarm, fullest, periods=24)
    assert fired is not None
    assert fired - start <= 30 * 60 + 10 * 60  # three periods of growth, then the period completes


def test_growth_that_fills_the_disk_in_two_days_does_not_alarm_yet(default_template: dict[str, Any]) -> None:
    alarm = forecast_alarm(default_template)
    assert simulate_forecast(alarm, lambda t: 40 + t * 60 / (48 * 3600), periods=24) is None


def test_one_burst_of_growth_does_not_alarm(default_template: dict[str, Any]) -> None:
    alarm = forecast_alarm(default_template)
    # 10 % written in one period (a deployment unpacking), then flat.
    assert simulate_forecast(alarm, lambda t: 40 if t < 3600 else 50, periods=24) is None


# -- bad props ----------------------------------------------------------------------------------

BAD_PROPS: list[tuple[str, dict[str, Any], str]] = [
    (
        "threshold above 100",
        {"disk_used_percent": Thresholds(warning=80, critical=101)},
        "disk_used_percent.critical=101",
    ),
    ("threshold of 0", {"memory_used_percent": Thresholds(critical=0)}, "memory_used_percent.critical=0"),
    (
        "warning above critical",
        {"disk_used_percent": Thresholds(warning=95, critical=90)},
        "above disk_used_percent.critical (90)",
    ),
    ("no thresholds", {"disk_used_percent": Thresholds()}, "neither warning nor critical"),
    ("inode warning below critical", {"inodes_free": Thresholds(warning=10, critical=20)}, "inodes_free.warning=10"),
    ("empty group name", {"auto_scaling_group_name": ""}, "auto_scaling_group_name=''"),
    ("blank group name", {"auto_scaling_group_name": "  "}, "auto_scaling_group_name='  '"),
    ("empty target tag value", {"target_tag": ("Name", "")}, "target_tag=('Name', '')"),
    ("subject not a slug", {"subject": "Web Hosts"}, "subject='Web Hosts'"),
    ("subject too long for SSM names", {"subject": "a" * 120}, "association name"),
    ("schedule below SSM's minimum", {"reapply_every": Duration.minutes(10)}, "reapply_every='10 minutes'"),
    ("forecast not whole hours", {"disk_full_within": Duration.minutes(90)}, "disk_full_within"),
    ("forecast path not absolute", {"disk_forecast_paths": ["var/log"]}, "disk_forecast_paths='var/log'"),
    ("forecast paths over 9", {"disk_forecast_paths": [f"/d{i}" for i in range(10)]}, "disk_forecast_paths=10"),
    ("retention CloudWatch lacks", {"agent_log_retention_days": 42}, "agent_log_retention_days=42"),
]


@pytest.mark.parametrize(("problem", "props", "named"), BAD_PROPS, ids=[c[0] for c in BAD_PROPS])
def test_fails_bad_props_with_a_clear_error(
    fresh_stack: Stack, problem: str, props: dict[str, Any], named: str
) -> None:
    with pytest.raises(GenbaPropsError, match=re.escape(named)) as raised:
        make(fresh_stack, **props)
    assert str(raised.value).startswith("HostMonitoring: ")


def test_fails_existing_agent_log_group_with_props_for_a_new_one(fresh_stack: Stack) -> None:
    existing = logs.LogGroup.from_log_group_name(fresh_stack, "Existing", "/agent")
    with pytest.raises(GenbaPropsError, match="either agent_log_group"):
        make(fresh_stack, agent_log_group=existing, removal_policy=RemovalPolicy.DESTROY)


def test_fails_log_file_with_a_timestamp_the_agent_cannot_read(fresh_stack: Stack) -> None:
    group = app_log_group(fresh_stack)
    with pytest.raises(GenbaPropsError, match=r"HostMonitoring: log_files\[0\].timestamp_format='%s'"):
        make(fresh_stack, log_files=[HostLogFile(file_path="/a.log", log_group=group, timestamp_format="%s")])


def test_role_gets_the_policy(fresh_stack: Stack) -> None:
    role = iam.Role.from_role_name(fresh_stack, "Role", "aws-elasticbeanstalk-ec2-role")
    make(fresh_stack, role=role)
    (policy,) = resources(Template.from_stack(fresh_stack).to_json(), "AWS::IAM::ManagedPolicy").values()
    assert policy["Roles"] == ["aws-elasticbeanstalk-ec2-role"]


# -- the app's hosts stacks ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def templates(synthesized_stacks: list[SynthesizedStack]) -> dict[str, dict[str, Any]]:
    return {s.stack_name: s.template for s in synthesized_stacks}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_hosts_stack_alarms_read_what_the_deployed_configuration_publishes(
    templates: dict[str, dict[str, Any]], env: str
) -> None:
    from app import cdk_json_context

    hosts = templates[f"genba-{env}-hosts"]
    group = cdk_json_context()["genba"]["environments"][env]["hosts"]["auto_scaling_group_name"]
    published = published_dimension_sets(agent_config_of(hosts, Intrinsics(f"genba-{env}-hosts", templates)))
    alarms = alarms_by_name(hosts)
    assert len(alarms) == 11  # 6 host alarms, a log silence and a log-shipping-missing per application log group
    for name, alarm in alarms.items():
        for namespace, metric, dims in agent_metrics(alarm):
            if namespace == "AWS/AutoScaling":  # agent-missing's instances in service
                assert (metric, dims) == ("GroupInServiceInstances", {"AutoScalingGroupName": group}), name
                continue
            assert frozenset(dims) in published[(namespace, metric)], name
            assert dims.get("AutoScalingGroupName") == group and set(dims) <= {"AutoScalingGroupName", "path"}, name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_application_log_group_the_agent_ships_to_has_a_silence_alarm(
    templates: dict[str, dict[str, Any]], env: str
) -> None:
    intrinsics = Intrinsics(f"genba-{env}-hosts", templates)
    config = agent_config_of(templates[f"genba-{env}-hosts"], intrinsics)
    shipped = {
        intrinsics.placeholders[e["log_group_name"]] for e in config["logs"]["logs_collected"]["files"]["collect_list"]
    }
    agent_group = next(
        e
        for e in config["logs"]["logs_collected"]["files"]["collect_list"]
        if "amazon-cloudwatch-agent" in e["file_path"]
    )
    application_groups = shipped - {intrinsics.placeholders[agent_group["log_group_name"]]}
    assert len(application_groups) == 2
    watched = set()
    for stack_name, template in templates.items():
        for alarm in alarms_by_name(template).values():
            for _, name, dims in agent_metrics(alarm):
                if name == "IncomingLogEvents" and alarm["TreatMissingData"] == "breaching":
                    watched.add(Intrinsics(stack_name, templates).resolve(dims["LogGroupName"]))
    assert application_groups <= watched


def documented_detection_minutes() -> dict[str, int]:
    section = (ROOT / "docs" / "constructs" / "host_monitoring.md").read_text()
    rows = re.findall(r"^\| `([a-z-]+)`[^|]*\|[^|]*\|[^|]*\| (\d+) minutes \|$", section, flags=re.MULTILINE)
    return {slug: int(minutes) for slug, minutes in rows}


def test_docs_state_the_detection_time_of_every_host_alarm(templates: dict[str, dict[str, Any]]) -> None:
    stated = documented_detection_minutes()
    assert set(stated) == {
        "disk-used",
        "disk-full-soon",
        "inodes-low",
        "memory-used",
        "agent-silent",
        "agent-missing",
        "log-silence",
        "log-shipping-missing",
    }
    for env in ENVIRONMENTS:
        hosts_and_logging = {
            **alarms_by_name(templates[f"genba-{env}-hosts"]),
            **alarms_by_name(templates[f"genba-{env}-logging"]),
        }
        for name, alarm in hosts_and_logging.items():
            slug = next((s for s in stated if f"-{s}-" in name), None)
            if slug is None:
                continue
            assert detection_seconds(alarm) == stated[slug] * 60, f"{name}: the docs say {stated[slug]} minutes"


def test_prod_thresholds_come_from_config(templates: dict[str, dict[str, Any]]) -> None:
    alarms = alarms_by_name(templates["genba-prod-hosts"])
    assert alarms["genba-prod-service-hosts-disk-used-warning"]["Threshold"] == 75
    assert alarms["genba-prod-service-hosts-disk-used-critical"]["Threshold"] == 85
    metrics = alarms["genba-prod-service-hosts-disk-full-soon-critical"]["Metrics"]
    forecasts = [q["Expression"] for q in metrics if "RATE" in q.get("Expression", "")]
    assert len(forecasts) == 3  # the fullest filesystem, "/" and "/var/log" (disk_forecast_paths)
    assert all(expression.endswith("* 48") for expression in forecasts)


_PERCENT_OR_NONE = st.none() | st.floats(min_value=-50, max_value=150, allow_nan=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(warning=_PERCENT_OR_NONE, critical=_PERCENT_OR_NONE)
def test_disk_thresholds_are_accepted_exactly_when_they_make_sense(
    warning: float | None, critical: float | None
) -> None:
    from aws_cdk import App

    stack = Stack(App(), "Property")
    given_values = [v for v in (warning, critical) if v is not None]
    sensible = (
        bool(given_values)
        and all(0 < v < 100 for v in given_values)
        and (warning is None or critical is None or warning <= critical)
    )
    thresholds = Thresholds(warning=warning, critical=critical)
    if sensible:
        hosts = make(stack, disk_used_percent=thresholds)
        made = {severity.value: alarm for severity, alarm in hosts.alarms.by_runbook("disk-used").items()}
        assert set(made) == {s.value for s, _ in thresholds.items()}
    else:
        with pytest.raises(GenbaPropsError, match="HostMonitoring: disk_used_percent"):
            make(stack, disk_used_percent=thresholds)


def test_only_an_environment_with_an_instance_role_attaches_the_policy(templates: dict[str, dict[str, Any]]) -> None:
    roles = {
        env: [p.get("Roles") for p in resources(templates[f"genba-{env}-hosts"], "AWS::IAM::ManagedPolicy").values()]
        for env in ENVIRONMENTS
    }
    # No environment attaches to the account-shared EB role (the config loader refuses it).
    assert roles == {"dev": [None], "stg": [None], "prod": [None]}
    for env in ENVIRONMENTS:
        assert "AgentPolicyArn" in templates[f"genba-{env}-hosts"]["Outputs"]


_HOSTS_SECTIONS = st.fixed_dictionaries(
    {"auto_scaling_group_name": st.text(max_size=260)},
    optional={
        "disk_used_warning_percent": st.integers(-5, 105),
        "disk_used_critical_percent": st.integers(-5, 105),
        "disk_full_forecast_hours": st.integers(-1, 800),
        "inodes_free_warning": st.integers(-1, 10**6),
        "inodes_free_critical": st.integers(-1, 10**6),
        "memory_used_warning_percent": st.integers(-5, 105),
        "memory_used_critical_percent": st.integers(-5, 105),
        "reapply_every_minutes": st.integers(0, 50_000),
        "agent_log_retention_days": st.sampled_from([0, 1, 7, 30, 42, 400]),
        "target_tag_key": st.text(max_size=4),
        "target_tag_value": st.text(max_size=4),
        "log_files": st.lists(
            st.fixed_dictionaries(
                {
                    "file_path": st.sampled_from(["/a.log", "/var/log/app/*.log", "a.log", "/b c.log"]),
                    "log_group": st.sampled_from(["application", "audit", "debug"]),
                },
                optional={"timestamp_format": st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%s", "ISO", "%-d/%b/%Y"])},
            ),
            max_size=3,
        ),
    },
)


@settings(max_examples=100, deadline=None)
@given(hosts=_HOSTS_SECTIONS)
def test_hosts_config_that_parses_always_builds_the_stack(hosts: dict[str, Any]) -> None:
    """Whatever cdk.json holds: a one-line config error, or a stack; never a construct error."""
    from aws_cdk import App

    from stacks.config import ConfigError, load_environments
    from stacks.hosts_stack import HostsStack
    from tests.conftest import cdk_json_context

    context = {"genba": cdk_json_context()["genba"], "env": "dev"}
    context["genba"]["environments"]["dev"]["hosts"] = hosts
    try:
        (config,) = load_environments(context)
    except ConfigError:
        event("config error")
        return
    event("stack built")
    assert config.hosts is not None
    app = App()
    logging_stack = Stack(app, "Logging")
    groups = {name: ServiceLogGroup(logging_stack, name, subject=f"{name}-logs") for name in ("application", "audit")}
    HostsStack(
        app, "Hosts", config=config, hosts=config.hosts, log_groups=groups, alarm_factory=AlarmFactory(name_prefix="p")
    )


def test_dashboard_shows_the_hosts_with_metrics_the_agent_publishes(
    templates: dict[str, dict[str, Any]], synthesized_stacks: list[SynthesizedStack]
) -> None:
    from tests.test_dashboard import dashboard_body

    published = published_dimension_sets(
        agent_config_of(templates["genba-prod-hosts"], Intrinsics("genba-prod-hosts", templates))
    )
    widgets = dashboard_body(synthesized_stacks, "prod")["widgets"]
    titles = {w["properties"].get("title", "") for w in widgets}
    assert {t for t in titles if t.startswith("service-hosts: ")} == {
        "service-hosts: fullest filesystem (%)",
        "service-hosts: fullest filesystem in 48 hours (%)",
        "service-hosts: fullest filesystem by path (%)",
        "service-hosts: fewest free inodes",
        "service-hosts: busiest instance memory and swap (%)",
        "service-hosts: agent data points per minute (about one per instance)",
    }
    checked = 0
    for widget in widgets:
        for line in widget["properties"].get("metrics", []):
            if line[0] == "CWAgent":
                names = line[2:-1:2] if isinstance(line[-1], dict) else line[2::2]
                assert frozenset(names) in published[("CWAgent", line[1])], line
                checked += 1
            elif isinstance(line[0], dict) and "SELECT" in line[0].get("expression", ""):
                query = line[0]["expression"]
                metric, schema = re.search(r"MAX\((\w+)\) FROM SCHEMA\(CWAgent, ([^)]*)\)", query).groups()
                assert frozenset(schema.split(", ")) in published[("CWAgent", metric)], query
                checked += 1
    assert checked >= 4


def test_config_defaults_are_the_construct_defaults() -> None:
    from genba_constructs.host_monitoring import HostThresholds
    from stacks.config import HostsConfig

    config, construct = HostsConfig(auto_scaling_group_name="g").thresholds, HostThresholds()
    for prop in ("disk_used_percent", "inodes_free", "memory_used_percent"):
        assert getattr(config, prop) == getattr(construct, prop), prop
    assert config.disk_full_within_hours == construct.disk_full_within_hours == 24
    assert config.reapply_every_minutes == construct.reapply_every_minutes == 30
