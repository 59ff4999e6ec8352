"""WebTierMonitoring: the web tier's alarms on the metrics AWS documents, and its validation.

Sources every metric, dimension and statistic here was checked against:

* ALB: "CloudWatch metrics for your Application Load Balancer",
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
* Elastic Beanstalk: "Publishing Amazon CloudWatch custom metrics for an environment",
  https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-cloudwatch.html, and
  "Using enhanced health reporting with the Elastic Beanstalk API",
  https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/health-enhanced-api.html
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk.assertions import Match, Template

from genba_constructs import AlarmFactory, GenbaPropsError, Severity, Thresholds, WebTierMonitoring, WebTierThresholds
from tests.conftest import new_stack

ALB_DOCS = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html"
LB = "app/shop-web/0123456789abcdef"
TG = "targetgroup/shop-web-app/fedcba9876543210"
LB_ARN = f"arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:loadbalancer/{LB}"
TG_ARN = f"arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:{TG}"


@pytest.fixture(scope="module")
def web() -> WebTierMonitoring:
    """The construct on names (one target group, an environment), with the default thresholds."""
    return WebTierMonitoring(
        new_stack(),
        "Web",
        load_balancer=LB_ARN,
        target_groups={"app": TG},
        environment_name="shop-prod",
        alarm_factory=AlarmFactory(name_prefix="shop"),
    )


@pytest.fixture(scope="module")
def template(web: WebTierMonitoring) -> Template:
    return Template.from_stack(Stack.of(web))


def metric_stat(name: str, statistic: str, dimensions: dict[str, str]) -> Any:
    return Match.object_like(
        {
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/ApplicationELB",
                    "MetricName": name,
                    "Dimensions": Match.array_with([{"Name": k, "Value": v} for k, v in dimensions.items()]),
                },
                "Period": 60,
                "Stat": statistic,
            }
        }
    )


def test_every_kind_of_alarm_at_each_default_severity(web: WebTierMonitoring) -> None:
    """One alarm per runbook and severity given; the per-group alarms carry the group's slug."""
    names = sorted(record.alarm_name for record in web.alarms.records)
    assert names == [
        "shop-web-app-unhealthy-host-share-critical",
        "shop-web-app-unhealthy-host-share-warning",
        "shop-web-app-unhealthy-hosts-warning",
        "shop-web-elb-5xx-rate-critical",
        "shop-web-elb-5xx-rate-warning",
        "shop-web-environment-health-critical",
        "shop-web-environment-health-warning",
        "shop-web-rejected-connections-critical",
        "shop-web-rejected-connections-warning",
        "shop-web-target-5xx-rate-critical",
        "shop-web-target-5xx-rate-warning",
        "shop-web-target-response-time-p99-critical",
        "shop-web-target-response-time-p99-warning",
    ]
    assert web.alarms.get("elb-5xx-rate", Severity.CRITICAL).node.id == "Elb5xxRateCriticalAlarm"


@pytest.mark.parametrize(
    ("runbook", "errors"),
    [("elb-5xx-rate", "HTTPCode_ELB_5XX_Count"), ("target-5xx-rate", "HTTPCode_Target_5XX_Count")],
)
def test_5xx_is_a_rate_of_requests_guarded_by_a_minimum_and_filled(
    template: Template, runbook: str, errors: str
) -> None:
    """HTTPCode_ELB_5XX_Count / HTTPCode_Target_5XX_Count and RequestCount: AWS/ApplicationELB,
    dimension LoadBalancer, statistic Sum; published only when non-zero, hence FILL (ALB_DOCS)."""
    error_id = "elb5xx" if runbook == "elb-5xx-rate" else "target5xx"
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"shop-web-{runbook}-critical",
            "Threshold": 5,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "EvaluationPeriods": 5,
            "DatapointsToAlarm": 3,
            "TreatMissingData": "notBreaching",
            "Metrics": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Expression": f"IF(FILL(requests, 0) >= 50, 100 * FILL({error_id}, 0) / "
                            "FILL(requests, 0), 0)",
                            "ReturnData": True,
                        }
                    ),
                    metric_stat(errors, "Sum", {"LoadBalancer": LB}),
                    metric_stat("RequestCount", "Sum", {"LoadBalancer": LB}),
                ]
            ),
        },
    )


def test_unhealthy_share_counts_an_empty_group_as_all_unhealthy(template: Template) -> None:
    """UnHealthyHostCount / (HealthyHostCount + UnHealthyHostCount), Maximum; silence breaches (ALB_DOCS)."""
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "shop-web-app-unhealthy-host-share-critical",
            "Threshold": 50,
            "TreatMissingData": "breaching",
            "Metrics": Match.array_with(
                [
                    Match.object_like(
                        {
                            "Expression": "IF((FILL(healthy, 0) + FILL(unhealthy, 0)) > 0, 100 * FILL(unhealthy, 0) "
                            "/ (FILL(healthy, 0) + FILL(unhealthy, 0)), 100)"
                        }
                    ),
                    metric_stat("HealthyHostCount", "Maximum", {"LoadBalancer": LB, "TargetGroup": TG}),
                    metric_stat("UnHealthyHostCount", "Maximum", {"LoadBalancer": LB, "TargetGroup": TG}),
                ]
            ),
        },
    )


def test_p99_target_response_time_in_seconds(template: Template) -> None:
    """TargetResponseTime: seconds, percentile statistics, dimension LoadBalancer (ALB_DOCS)."""
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "shop-web-target-response-time-p99-critical",
            "Threshold": 3,
            "Metrics": Match.array_with(
                [
                    Match.object_like({"Expression": "IF(FILL(requests, 0) >= 50, FILL(latency, 0), 0)"}),
                    metric_stat("TargetResponseTime", "p99", {"LoadBalancer": LB}),
                ]
            ),
        },
    )


SINGLE_METRIC_ALARMS = [
    # UnHealthyHostCount: dimensions TargetGroup and LoadBalancer, Maximum (ALB_DOCS, target group health).
    pytest.param(
        "shop-web-app-unhealthy-hosts-warning",
        ("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum"),
        {
            "Dimensions": Match.array_with(
                [{"Name": "LoadBalancer", "Value": LB}, {"Name": "TargetGroup", "Value": TG}]
            ),
            "Threshold": 1,
            "TreatMissingData": "notBreaching",
        },
        id="unhealthy hosts per target group",
    ),
    # RejectedConnectionCount: dimension LoadBalancer, Sum, reported only when non-zero (ALB_DOCS).
    pytest.param(
        "shop-web-rejected-connections-warning",
        ("AWS/ApplicationELB", "RejectedConnectionCount", "Sum"),
        {"Dimensions": [{"Name": "LoadBalancer", "Value": LB}], "TreatMissingData": "notBreaching"},
        id="rejected connections",
    ),
    # EnvironmentHealth: AWS/ElasticBeanstalk, dimension EnvironmentName, 20 Degraded, 25 Severe;
    # published every 60 s once the ConfigDocument asks for it, so silence breaches (health-enhanced-cloudwatch).
    pytest.param(
        "shop-web-environment-health-critical",
        ("AWS/ElasticBeanstalk", "EnvironmentHealth", "Maximum"),
        {
            "Dimensions": [{"Name": "EnvironmentName", "Value": "shop-prod"}],
            "Threshold": 25,
            "TreatMissingData": "breaching",
        },
        id="environment health from Elastic Beanstalk",
    ),
]


@pytest.mark.parametrize(("alarm_name", "metric", "expected"), SINGLE_METRIC_ALARMS)
def test_single_metric_alarms_on_the_documented_metric(
    template: Template, alarm_name: str, metric: tuple[str, str, str], expected: dict[str, Any]
) -> None:
    """Namespace, metric name, statistic and dimensions as the module docstring's sources document them."""
    namespace, metric_name, statistic = metric
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": alarm_name,
            "Namespace": namespace,
            "MetricName": metric_name,
            "Statistic": statistic,
            **expected,
        },
    )


def test_no_environment_no_environment_alarm() -> None:
    """Without environment_name there is no EnvironmentHealth alarm (nor widget)."""
    web = WebTierMonitoring(new_stack(), "Web", load_balancer=LB)
    assert "environment-health" not in web.alarms.runbooks
    assert len(web.dashboard_widgets()) == 3


def test_cdk_objects_bring_their_own_metrics() -> None:
    """An ALB and an attached target group as CDK objects: their ``metrics`` give the same metric names."""
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    alb = elbv2.ApplicationLoadBalancer(stack, "Alb", vpc=vpc)
    group = elbv2.ApplicationTargetGroup(stack, "Group", vpc=vpc, port=80)
    alb.add_listener("Http", port=80, default_target_groups=[group])
    web = WebTierMonitoring(stack, "Web", load_balancer=alb, target_groups={"app": group})
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": Match.string_like_regexp("unhealthy-hosts-warning$"),
            "MetricName": "UnHealthyHostCount",
            "Namespace": "AWS/ApplicationELB",
            "Statistic": "Maximum",
            "Dimensions": Match.array_with([Match.object_like({"Name": "TargetGroup"})]),
        },
    )
    assert len(web.alarms.by_runbook("elb-5xx-rate")) == 2


def test_arn_tokens_are_cut_at_deploy_time() -> None:
    """An unresolved ARN (an import) becomes the dimension with Fn::Split/Fn::Select, not a synth error."""
    from aws_cdk import Fn

    stack = new_stack()
    WebTierMonitoring(
        stack, "Web", load_balancer=Fn.import_value("AlbArn"), target_groups={"app": Fn.import_value("TgArn")}
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"MetricName": "RejectedConnectionCount", "Dimensions": [{"Name": "LoadBalancer", "Value": Match.any_value()}]},
    )


def test_dashboard_widgets_cover_every_signal(web: WebTierMonitoring) -> None:
    """5xx rates, p99, rejected connections, one hosts graph per target group, environment health."""
    widgets = web.dashboard_widgets()
    assert len(widgets) == 5


def test_the_reference_web_stack_watches_its_configured_alb(stack_template: Any) -> None:
    """genba-prod-web: the ALB and target group of cdk.json (placeholders), 13 alarms with actions."""
    template = Template.from_json(stack_template("prod", "web"))
    template.resource_count_is("AWS::CloudWatch::Alarm", 13)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "genba-prod-web-app-unhealthy-hosts-warning",
            "Dimensions": Match.array_with(
                [{"Name": "TargetGroup", "Value": Match.string_like_regexp("^targetgroup/genba-prod-web-app/")}]
            ),
            "AlarmActions": [Match.any_value()],
            "OKActions": [Match.any_value()],
        },
    )


BAD_PROPS: list[tuple[str, dict[str, Any], str]] = [
    ("network load balancer", {"load_balancer": "net/shop/0123456789abcdef"}, "load_balancer='net/shop/"),
    ("name without id", {"load_balancer": "app/shop-web"}, "load_balancer='app/shop-web' is neither"),
    ("number", {"load_balancer": 42}, "load_balancer=42 must be"),
    ("target group arn typo", {"target_groups": {"app": "targetgroup/x"}}, "target_groups['app']='targetgroup/x'"),
    ("target group key", {"target_groups": {"App": TG}}, "target_groups='App' has a key"),
    ("environment name", {"environment_name": "eb"}, "environment_name='eb' is not"),
    ("subject", {"subject": "Web Tier"}, "subject='Web Tier'"),
    ("thresholds type", {"thresholds": {"elb_5xx_percent": 1}}, "thresholds={'elb_5xx_percent': 1} must be"),
    (
        "str where a Duration goes",
        {"thresholds": WebTierThresholds(period="5m")},  # type: ignore[arg-type]
        "thresholds.period='5m' must be an aws_cdk.Duration",
    ),
    (
        "period not whole minutes",
        {"thresholds": WebTierThresholds(period=Duration.seconds(90))},
        "thresholds.period='1 minute 30 seconds' must be a whole number of minutes",
    ),
    (
        "percent above 100",
        {"thresholds": WebTierThresholds(elb_5xx_percent=Thresholds(warning=1, critical=150))},
        "thresholds.elb_5xx_percent.critical=150 must be between 0 and 100",
    ),
    (
        "warning above critical",
        {"thresholds": WebTierThresholds(target_5xx_percent=Thresholds(warning=10, critical=5))},
        "thresholds.target_5xx_percent.warning=10 is above critical (5)",
    ),
    (
        "number where Thresholds go",
        {"thresholds": WebTierThresholds(unhealthy_hosts=1)},  # type: ignore[arg-type]
        "thresholds.unhealthy_hosts=1 must be genba_constructs.Thresholds",
    ),
    (
        "datapoints above periods",
        {"thresholds": WebTierThresholds(evaluation_periods=2, datapoints_to_alarm=3)},
        "thresholds.datapoints_to_alarm=3 must be at most evaluation_periods (2)",
    ),
    (
        "str where a count goes",
        {"thresholds": WebTierThresholds(minimum_requests="50")},  # type: ignore[arg-type]
        "thresholds.minimum_requests='50' must be a whole number",
    ),
]


@pytest.mark.parametrize(("case", "props", "message"), BAD_PROPS, ids=[case for case, _, _ in BAD_PROPS])
def test_fails_bad_props_with_one_line_naming_the_prop(case: str, props: dict[str, Any], message: str) -> None:
    """Bad props stop before synth: ``WebTierMonitoring: <prop>=<value> <problem>``, one line."""
    given: dict[str, Any] = {"load_balancer": LB, **props}
    with pytest.raises(GenbaPropsError) as error:
        WebTierMonitoring(new_stack(), "Web", **given)
    text = str(error.value)
    assert text.startswith("WebTierMonitoring: ") and "\n" not in text
    assert message in text


def test_fails_target_group_without_load_balancer() -> None:
    """A CDK target group not attached to any ALB has no LoadBalancer dimension to alarm on."""
    stack = new_stack()
    group = elbv2.ApplicationTargetGroup(stack, "Group", vpc=ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0), port=80)
    with pytest.raises(GenbaPropsError, match=r"target_groups=.* has no load balancer"):
        WebTierMonitoring(stack, "Web", load_balancer=LB, target_groups={"app": group})


def test_the_documented_usage_example_runs_as_written() -> None:
    """docs/constructs/web_tier_monitoring.md: its Python example synthesizes unchanged."""
    import re

    from tests.conftest import ROOT

    text = (ROOT / "docs" / "constructs" / "web_tier_monitoring.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, "web_tier_monitoring.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert len(namespace["web"].alarms) == 13
    assert len(namespace["pages"]) == 6
