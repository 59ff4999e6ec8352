"""One environment's synthesized templates, and their names and ARNs resolved against the account.

The templates say most names literally (alarm names, log group names, association names).
What CloudFormation names at deploy time (queues, functions, delivery streams, the alarm
topic, event source mapping UUIDs) is looked up in the deployed stack's resources
(``cloudformation:ListStackResources``): the physical id of each logical id. A value that
still cannot be resolved is ``None``, and the checks compare what they can without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.assembly import SynthesizedStack, stacks_in

__all__ = ["Environment", "InputError", "Resolver", "Resource", "SynthesizedStack", "load_environment"]

ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = ROOT / "cdk.json"
DEFAULT_ASSEMBLY = ROOT / "cdk.out"

# The property that holds a resource's name, where a template may give it literally.
NAME_PROPERTIES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::OpenSearchService::Domain": "DomainName",
    "AWS::CloudWatch::Alarm": "AlarmName",
}


class InputError(Exception):
    """Bad input from the operator: one line naming the problem and the value (exit 2)."""


def configured_environments() -> dict[str, dict[str, Any]]:
    """cdk.json's environments, raw (the drill only needs each one's ``production`` flag)."""
    context = json.loads(CDK_JSON.read_text())["context"]
    environments: dict[str, dict[str, Any]] = context.get("genba", {}).get("environments", {})
    return environments


@dataclass(frozen=True)
class Resource:
    """One resource of a synthesized template (``Environment.resources`` is asked for one type)."""

    stack: SynthesizedStack
    logical_id: str
    properties: dict[str, Any]


@dataclass
class Environment:
    name: str
    production: bool
    stacks: list[SynthesizedStack]
    _templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def template(self, stack_name: str) -> dict[str, Any]:
        if stack_name not in self._templates:
            stack = self.stack(stack_name)
            self._templates[stack_name] = stack.template if stack else {}
        return self._templates[stack_name]

    def stack(self, stack_name: str) -> SynthesizedStack | None:
        return next((s for s in self.stacks if s.stack_name == stack_name), None)

    def resources(self, resource_type: str) -> Iterator[Resource]:
        for stack in self.stacks:
            for logical_id, resource in self.template(stack.stack_name).get("Resources", {}).items():
                if resource["Type"] == resource_type:
                    yield Resource(stack, logical_id, resource.get("Properties", {}))

    def resource(self, stack_name: str, logical_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.template(stack_name).get("Resources", {}).get(logical_id)
        return found


def load_environment(name: str, assembly: Path = DEFAULT_ASSEMBLY) -> Environment:
    """The synthesized stacks of environment ``name``; InputError for an unknown env or no assembly."""
    environments = configured_environments()
    if name not in environments:
        raise InputError(f"unknown environment {name!r} (cdk.json has: {', '.join(sorted(environments))})")
    if not (assembly / "manifest.json").exists():
        raise InputError(f"no cloud assembly at {assembly} (run `make synth` or `python -m genba synth --env {name}`)")
    stacks = [s for s in stacks_in(assembly) if s.environment == name]
    if not stacks:
        raise InputError(f"the cloud assembly at {assembly} has no stacks of environment {name!r}")
    # Termination protection is on exactly in production (stacks/environment_stage.py): either says so.
    production = bool(environments[name].get("production")) or any(s.termination_protection for s in stacks)
    return Environment(name=name, production=production, stacks=stacks)


def synth_environment(name: str, assembly: Path = DEFAULT_ASSEMBLY) -> None:
    """Synthesize one environment offline (like `cdk synth -c env=NAME`) into ``assembly``."""
    if name not in configured_environments():
        raise InputError(f"unknown environment {name!r}")
    import shutil
    import sys

    sys.path.insert(0, str(ROOT))
    from app import build_app, cdk_json_context
    from genba_constructs import GenbaPropsError
    from stacks.config import ConfigError

    shutil.rmtree(assembly, ignore_errors=True)
    try:
        app = build_app({**cdk_json_context(), "env": name}, outdir=str(assembly))
        app.synth()
    except (ConfigError, GenbaPropsError) as error:
        raise InputError(f"configuration error: {error}") from None
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        raise InputError(f"cdk-nag found unacknowledged findings in {name} (run `make synth` for the list)") from None


class Resolver:
    """Template values (Ref, Fn::GetAtt, Fn::Join, Fn::GetStackOutput, Fn::ImportValue) as account values.

    ``physical_ids(stack_name)`` gives the deployed stack's logical -> physical ids (empty when
    the stack cannot be read); ``account()`` the account id.
    """

    def __init__(
        self,
        environment: Environment,
        *,
        physical_ids: Callable[[str], dict[str, str]],
        account: Callable[[], str | None],
        partition: str = "aws",
    ) -> None:
        self.environment = environment
        self._physical_ids = physical_ids
        self._account = account
        self._cache: dict[str, dict[str, str]] = {}
        self.partition = partition

    def physical_id(self, stack: SynthesizedStack, logical_id: str) -> str | None:
        if stack.stack_name not in self._cache:
            self._cache[stack.stack_name] = self._physical_ids(stack.stack_name)
        return self._cache[stack.stack_name].get(logical_id)

    def name_of(self, stack: SynthesizedStack, logical_id: str) -> str | None:
        """What ``Ref`` returns: the literal name property, else the deployed physical id."""
        resource = self.environment.resource(stack.stack_name, logical_id)
        if resource is None:
            return None
        prop = NAME_PROPERTIES.get(resource["Type"])
        literal = resource.get("Properties", {}).get(prop) if prop else None
        if isinstance(literal, str) and resource["Type"] != "AWS::SNS::Topic":
            return literal
        return self.physical_id(stack, logical_id)

    def resolve(self, value: Any, stack: SynthesizedStack) -> str | None:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._ref(argument, stack)
        if function == "Fn::GetAtt":
            return self._get_att(argument[0], argument[1], stack)
        if function == "Fn::Join":
            parts = [self.resolve(part, stack) for part in argument[1]]
            return None if any(p is None for p in parts) else str(argument[0]).join(p or "" for p in parts)
        if function == "Fn::GetStackOutput":
            other = self.environment.stack(argument["StackName"])
            if other is None:
                return None
            output = self.environment.template(other.stack_name).get("Outputs", {}).get(argument["OutputName"])
            return self.resolve(output["Value"], other) if output else None
        if function == "Fn::ImportValue":
            for candidate in self.environment.stacks:
                for output in self.environment.template(candidate.stack_name).get("Outputs", {}).values():
                    if output.get("Export", {}).get("Name") == argument:
                        return self.resolve(output["Value"], candidate)
        return None

    def _ref(self, name: str, stack: SynthesizedStack) -> str | None:
        pseudo: dict[str, Callable[[], str | None]] = {
            "AWS::AccountId": self._account,
            "AWS::Region": lambda: stack.region,
            "AWS::Partition": lambda: self.partition,
            "AWS::StackName": lambda: stack.stack_name,
            "AWS::URLSuffix": lambda: "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]()
        return self.name_of(stack, name)

    def _get_att(self, logical_id: str, attribute: str, stack: SynthesizedStack) -> str | None:
        resource = self.environment.resource(stack.stack_name, logical_id)
        name = self.name_of(stack, logical_id)
        if resource is None or name is None:
            return None
        kind = resource["Type"]
        if kind == "AWS::SQS::Queue":
            queue_name = name.rsplit("/", 1)[-1]  # the physical id of a queue is its URL
            if attribute == "QueueName":
                return queue_name
            return self._arn("sqs", stack, queue_name) if attribute == "Arn" else None
        if attribute != "Arn":
            return None
        arns = {
            "AWS::KinesisFirehose::DeliveryStream": ("firehose", f"deliverystream/{name}"),
            "AWS::Logs::LogGroup": ("logs", f"log-group:{name}:*"),
            "AWS::Lambda::Function": ("lambda", f"function:{name}"),
            "AWS::DynamoDB::Table": ("dynamodb", f"table/{name}"),
            "AWS::CloudWatch::Alarm": ("cloudwatch", f"alarm:{name}"),
        }
        if kind == "AWS::SNS::Topic":
            return name  # Ref of a topic is its ARN
        if kind in arns:
            service, rest = arns[kind]
            return self._arn(service, stack, rest)
        return None

    def _arn(self, service: str, stack: SynthesizedStack, rest: str) -> str | None:
        account = self._account()
        return f"arn:{self.partition}:{service}:{stack.region}:{account}:{rest}" if account else None
