"""A moto account built from the dev templates, for `genba check` and `genba drill` tests.

The cloud assembly is made from the committed dev snapshots (the same templates a synth
writes, asset hashes normalized), so no test pays for a synth. What moto lacks is faked, one
call at a time: CloudFormation's stack resources (moto cannot deploy these templates; the
fake lists the physical ids this module gave the resources), Lambda's event source mappings
(moto needs Docker to run them), SSM's instance association status (not in moto).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from genba.assembly import Environment, Resolver, load_environment

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
ENV = "dev"
SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port), its endpoint while the block runs."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def fresh_account(endpoint: str, assembly: Path, monkeypatch: pytest.MonkeyPatch) -> Account:
    """moto reset, test credentials (no profile, no metadata look-up), and the account built from ``assembly``."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))  # noqa: S310
    return build_account(endpoint, assembly)


def write_assembly(outdir: Path, env: str = ENV) -> Path:
    """A cloud assembly of one stage whose templates are that environment's snapshots."""
    stage = outdir / f"assembly-{env}"
    stage.mkdir(parents=True)
    artifacts: dict[str, Any] = {}
    for template in sorted((SNAPSHOTS / env).glob("*.json")):
        name = template.stem
        (stage / template.name).write_text(template.read_text())
        artifacts[f"{env}{name}"] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{ACCOUNT}/{REGION}",
            "displayName": f"{env}/{name.rsplit('-', 1)[-1]}",
            "properties": {"templateFile": template.name, "stackName": name, "terminationProtection": env == "prod"},
        }
    (stage / "manifest.json").write_text(json.dumps({"artifacts": artifacts}))
    top = {"type": "cdk:cloud-assembly", "properties": {"directoryName": stage.name, "displayName": env}}
    (outdir / "manifest.json").write_text(json.dumps({"artifacts": {f"assembly-{env}": top}}))
    return outdir


def error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


class FakeCloudFormation:
    def __init__(self, physical: dict[str, dict[str, str]]) -> None:
        self.physical = physical

    def list_stack_resources(self, StackName: str, **_: Any) -> dict[str, Any]:
        if StackName not in self.physical:
            raise error("ValidationError", "ListStackResources")
        ids = self.physical[StackName]
        return {"StackResourceSummaries": [{"LogicalResourceId": k, "PhysicalResourceId": v} for k, v in ids.items()]}


class FakeLambda:
    def __init__(self) -> None:
        self.states: dict[str, str] = {}

    def get_event_source_mapping(self, UUID: str) -> dict[str, Any]:
        if UUID not in self.states:
            raise error("ResourceNotFoundException", "GetEventSourceMapping")
        return {"UUID": UUID, "State": self.states[UUID]}


class FakeSsm:
    def __init__(self) -> None:
        self.statuses: dict[str, dict[str, str]] = {}  # instance -> association id -> status

    def describe_instance_associations_status(self, InstanceId: str, **_: Any) -> dict[str, Any]:
        infos = [{"AssociationId": a, "Status": s} for a, s in self.statuses.get(InstanceId, {}).items()]
        return {"InstanceAssociationStatusInfos": infos}


class Wrapped:
    """A real (moto) client with some methods replaced, to correct for one moto deviation each."""

    def __init__(self, client: Any, **methods: Callable[..., Any]) -> None:
        self._client = client
        self._methods = methods

    def __getattr__(self, name: str) -> Any:
        return self._methods.get(name) or getattr(self._client, name)


@dataclass
class Account:
    endpoint: str
    env: Environment
    physical: dict[str, dict[str, str]] = field(default_factory=dict)
    cloudformation: FakeCloudFormation = field(init=False)
    lambda_: FakeLambda = field(default_factory=FakeLambda)
    ssm: FakeSsm = field(default_factory=FakeSsm)
    overrides: dict[str, Any] = field(default_factory=dict)
    topic_arn: str = ""
    instances: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cloudformation = FakeCloudFormation(self.physical)
        self.overrides.update({"cloudformation": self.cloudformation, "lambda": self.lambda_, "ssm": self.ssm})

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def resolver(self) -> Resolver:
        return Resolver(self.env, physical_ids=lambda s: self.physical.get(s, {}), account=lambda: ACCOUNT)

    def physical_id(self, stack: str, logical: str, value: str) -> str:
        self.physical.setdefault(stack, {})[logical] = value
        return value


def generated(stack: str, logical: str) -> str:
    return f"{stack}-{logical}-GENBATEST"[:64]


def build_account(endpoint: str, assembly: Path) -> Account:
    """Every resource `genba check` reads, as the dev templates define it; healthy."""
    account = Account(endpoint=endpoint, env=load_environment(ENV, assembly))
    env = account.env
    for stack in env.stacks:
        account.physical.setdefault(stack.stack_name, {})
    # Names CloudFormation would generate: queues (their physical id is the URL), functions, streams.
    for kind in ("AWS::SQS::Queue", "AWS::Lambda::Function", "AWS::KinesisFirehose::DeliveryStream"):
        for r in env.resources(kind):
            name = generated(r.stack.stack_name, r.logical_id)
            if kind == "AWS::SQS::Queue":
                name = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
            account.physical_id(r.stack.stack_name, r.logical_id, name)
    sns = account.client("sns")
    (topic,) = env.resources("AWS::SNS::Topic")
    account.topic_arn = sns.create_topic(Name=generated(topic.stack.stack_name, topic.logical_id))["TopicArn"]
    account.physical_id(topic.stack.stack_name, topic.logical_id, account.topic_arn)
    for sub in env.resources("AWS::SNS::Subscription"):
        sns.subscribe(
            TopicArn=account.topic_arn, Protocol=sub.properties["Protocol"], Endpoint=sub.properties["Endpoint"]
        )
    resolver = account.resolver()
    _alarms(account, resolver)
    _logs_and_firehose(account, resolver)
    for i, mapping in enumerate(env.resources("AWS::Lambda::EventSourceMapping")):
        uuid = account.physical_id(mapping.stack.stack_name, mapping.logical_id, f"00000000-0000-0000-0000-{i:012d}")
        account.lambda_.states[uuid] = "Enabled"
    _hosts(account)
    _canary(account, resolver)
    return account


def _alarms(account: Account, resolver: Resolver) -> None:
    cloudwatch = account.client("cloudwatch")
    for alarm in account.env.resources("AWS::CloudWatch::Alarm"):
        p, stack = alarm.properties, alarm.stack

        def dims(raw: list[dict[str, Any]], stack: Any = stack) -> list[dict[str, str]]:
            # A value the resolver cannot know offline still names one metric: keep a stand-in.
            return [{"Name": d["Name"], "Value": resolver.resolve(d["Value"], stack) or "unresolved"} for d in raw]

        params: dict[str, Any] = {
            k: p[k]
            for k in (
                "AlarmName",
                "Namespace",
                "MetricName",
                "Statistic",
                "ExtendedStatistic",
                "Period",
                "Threshold",
                "ComparisonOperator",
                "EvaluationPeriods",
                "DatapointsToAlarm",
                "TreatMissingData",
                "ActionsEnabled",
            )
            if k in p
        }
        params["Threshold"] = float(p["Threshold"])
        params["AlarmActions"] = [resolver.resolve(a, stack) for a in p.get("AlarmActions", [])]
        params["OKActions"] = [resolver.resolve(a, stack) for a in p.get("OKActions", [])]
        if "Dimensions" in p:
            params["Dimensions"] = dims(p["Dimensions"])
        if "Metrics" in p:
            params["Metrics"] = [
                {
                    **q,
                    "MetricStat": {
                        **q["MetricStat"],
                        "Metric": {
                            **q["MetricStat"]["Metric"],
                            "Dimensions": dims(q["MetricStat"]["Metric"].get("Dimensions", [])),
                        },
                    },
                }
                if "MetricStat" in q
                else q
                for q in p["Metrics"]
            ]
        cloudwatch.put_metric_alarm(**params)
        # moto starts an alarm in INSUFFICIENT_DATA and never evaluates it: a healthy account is OK.
        cloudwatch.set_alarm_state(AlarmName=p["AlarmName"], StateValue="OK", StateReason="test: healthy")


def _logs_and_firehose(account: Account, resolver: Resolver) -> None:
    s3, firehose, logs = account.client("s3"), account.client("firehose"), account.client("logs")
    s3.create_bucket(Bucket="genba-test-archive", CreateBucketConfiguration={"LocationConstraint": REGION})
    for stream in account.env.resources("AWS::KinesisFirehose::DeliveryStream"):
        firehose.create_delivery_stream(
            DeliveryStreamName=resolver.name_of(stream.stack, stream.logical_id),
            ExtendedS3DestinationConfiguration={
                "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
                "BucketARN": "arn:aws:s3:::genba-test-archive",
            },
        )
    groups = {
        resolver.resolve(sf.properties["LogGroupName"], sf.stack)
        for sf in account.env.resources("AWS::Logs::SubscriptionFilter")
    }
    for group in sorted(g for g in groups if g):
        logs.create_log_group(logGroupName=group)
    for sf in account.env.resources("AWS::Logs::SubscriptionFilter"):
        logs.put_subscription_filter(
            logGroupName=resolver.resolve(sf.properties["LogGroupName"], sf.stack),
            filterName=sf.properties["FilterName"],
            filterPattern=sf.properties.get("FilterPattern", ""),
            destinationArn=resolver.resolve(sf.properties["DestinationArn"], sf.stack),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/subscription",
        )


def _hosts(account: Account) -> None:
    associations = list(account.env.resources("AWS::SSM::Association"))
    group = associations[0].properties["Targets"][0]["Values"][0]
    ec2, autoscaling = account.client("ec2"), account.client("autoscaling")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="genba-test", ImageId=image, InstanceType="t3.micro"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=group,
        LaunchConfigurationName="genba-test",
        MinSize=2,
        MaxSize=2,
        DesiredCapacity=2,
        AvailabilityZones=[f"{REGION}a"],
    )
    (asg,) = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    account.instances = [i["InstanceId"] for i in asg["Instances"]]
    for i, association in enumerate(associations):
        association_id = account.physical_id(association.stack.stack_name, association.logical_id, f"assoc-{i:04d}")
        for instance in account.instances:
            account.ssm.statuses.setdefault(instance, {})[association_id] = "Success"


def _canary(account: Account, resolver: Resolver) -> None:
    """A canary verified a minute ago (moto cuts a query's EndTime to whole seconds: "now" may miss it)."""
    cloudwatch = account.client("cloudwatch")
    minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    for alarm in account.env.resources("AWS::CloudWatch::Alarm"):
        # The canary alarm reads CanaryVerified directly or through metric math (FILL).
        metrics = [alarm.properties] + [
            q["MetricStat"]["Metric"] for q in alarm.properties.get("Metrics", []) if "MetricStat" in q
        ]
        for metric in metrics:
            if metric.get("MetricName") != "CanaryVerified":
                continue
            dims = [
                {"Name": d["Name"], "Value": resolver.resolve(d["Value"], alarm.stack) or ""}
                for d in metric.get("Dimensions", [])
            ]
            cloudwatch.put_metric_data(
                Namespace=metric["Namespace"],
                MetricData=[
                    {
                        "MetricName": "CanaryVerified",
                        "Dimensions": dims,
                        "Value": 1,
                        "Unit": "Count",
                        "Timestamp": minute_ago,
                    }
                ],
            )
