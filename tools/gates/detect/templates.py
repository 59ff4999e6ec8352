"""Alarms and their metrics read from the templates of a synthesized cloud assembly.

Dimension values that are CloudFormation intrinsics are resolved to readable stand-ins
(``<LogicalId>``, a resource's own name property where the template sets it), so that a
scenario can address the metric an alarm reads.

``INSIGHT_RULE_METRIC('rule', 'Metric')`` (Contributor Insights, ContributorInsights-GraphReportData.html)
reads the rule's figure per period: the expression is read as a query of its own on the key
``INSIGHT_RULE_METRIC <Metric> [RuleName=rule]``, one sample per period (Maximum), which the
scenario model publishes as the rule would report it (``UniqueContributors``: the distinct
contributors of that minute). A period without matching events has no data point, as for every
other metric.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tools.gates.detect.evaluator import AlarmDefinition, MetricKey, Query

ACCOUNT = "123456789012"
INSIGHT_RULE_NAMESPACE = "INSIGHT_RULE_METRIC"
_INSIGHT_RULE_METRIC = re.compile(r"INSIGHT_RULE_METRIC\(\s*'([^']+)'\s*,\s*'([A-Za-z]+)'\s*\)", re.IGNORECASE)
_NAME_PROPERTIES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::KinesisFirehose::DeliveryStream": "DeliveryStreamName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::OpenSearchService::Domain": "DomainName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::CloudWatch::InsightRule": "RuleName",
}


class _Resolver:
    def __init__(self, template: Mapping[str, Any], region: str) -> None:
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        self.region = region

    def __call__(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                # A name attribute resolves like a Ref to a resource whose Ref is its name.
                if attribute.endswith("Name") or attribute == "Name":
                    return self._ref(logical_id)
                return f"<{logical_id}.{attribute}>"
            if function == "Fn::Join":
                separator, parts = argument
                return str(separator).join(self(part) for part in parts)
            if function == "Fn::Select":
                index, items = argument
                resolved = items if isinstance(items, list) else [self(items)]
                return self(resolved[int(index)])
            if function == "Fn::ImportValue":
                return f"<import:{self(argument)}>"
            if function == "Fn::GetStackOutput":
                return f"<output:{argument.get('OutputName')}>"
            if function == "Fn::Sub":
                return str(argument) if isinstance(argument, str) else str(argument[0])
        return json.dumps(value, sort_keys=True)

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": self.region, "AWS::Partition": "aws"}
        if name in pseudo:
            return pseudo[name]
        resource = self.resources.get(name, {})
        prop = _NAME_PROPERTIES.get(resource.get("Type", ""))
        own = resource.get("Properties", {}).get(prop) if prop else None
        return self(own) if own is not None else f"<{name}>"


def _dimensions(raw: Iterable[Mapping[str, Any]], resolve: _Resolver) -> frozenset[tuple[str, str]]:
    return frozenset((d["Name"], resolve(d["Value"])) for d in raw)


def insight_rule_key(rule: str, metric: str = "UniqueContributors") -> MetricKey:
    """The key a Contributor Insights rule's figure is read from (see the module docstring)."""
    return MetricKey.of(INSIGHT_RULE_NAMESPACE, metric, RuleName=rule)


def _insight_rule_queries(expression: str, period: int) -> tuple[str, list[Query]]:
    """``expression`` with each INSIGHT_RULE_METRIC(...) replaced by the id of a query reading it."""
    queries: list[Query] = []

    def replace(match: re.Match[str]) -> str:
        query_id = f"insight_rule_{len(queries)}"
        queries.append(Query(query_id, insight_rule_key(match[1], match[2]), "Maximum", period, None, False))
        return query_id

    return _INSIGHT_RULE_METRIC.sub(replace, expression), queries


def alarm_from_template(
    properties: Mapping[str, Any], template: Mapping[str, Any], *, region: str, stack: str = ""
) -> AlarmDefinition:
    """An alarm's definition from its ``AWS::CloudWatch::Alarm`` properties."""
    resolve = _Resolver(template, region)
    name = resolve(properties.get("AlarmName", "?"))
    if "Metrics" in properties:
        queries = []
        for query in properties["Metrics"]:
            stat = query.get("MetricStat")
            key = None
            if stat:
                metric = stat["Metric"]
                key = MetricKey(
                    metric["Namespace"], metric["MetricName"], _dimensions(metric.get("Dimensions", ()), resolve)
                )
            queries.append(
                Query(
                    id=query["Id"],
                    key=key,
                    stat=stat["Stat"] if stat else None,
                    period=int(stat["Period"]) if stat else 0,
                    expression=resolve(query["Expression"]) if "Expression" in query else None,
                    return_data=bool(query.get("ReturnData", True)),
                )
            )
        periods = [q.period for q in queries if q.period] or [int(properties.get("Period", 60))]
        period = int(properties.get("Period") or max(periods))
        for index, query in enumerate(list(queries)):
            if query.expression and _INSIGHT_RULE_METRIC.search(query.expression):
                expression, reads = _insight_rule_queries(query.expression, period)
                queries[index] = Query(query.id, None, None, 0, expression, query.return_data)
                queries.extend(reads)
    else:
        period = int(properties["Period"])
        key = MetricKey(
            properties["Namespace"], properties["MetricName"], _dimensions(properties.get("Dimensions", ()), resolve)
        )
        stat = properties.get("ExtendedStatistic") or properties["Statistic"]
        queries = [Query("m", key, stat, period, None, True)]
    n = int(properties["EvaluationPeriods"])
    return AlarmDefinition(
        name=name,
        comparison=properties["ComparisonOperator"],
        threshold=float(properties["Threshold"]),
        evaluation_periods=n,
        datapoints_to_alarm=int(properties.get("DatapointsToAlarm", n)),
        treat_missing_data=properties.get("TreatMissingData", "missing"),
        period=period,
        queries=tuple(queries),
        stack=stack,
    )


def alarms_in_assembly(outdir: Path) -> list[AlarmDefinition]:
    """Every alarm of every stack of a synthesized cloud assembly (nested stage assemblies included)."""
    found: list[AlarmDefinition] = []
    for manifest in sorted(outdir.rglob("manifest.json")):
        artifacts = json.loads(manifest.read_text()).get("artifacts", {})
        for artifact_id, artifact in artifacts.items():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            template = json.loads((manifest.parent / artifact["properties"]["templateFile"]).read_text())
            region = str(artifact.get("environment", "")).rsplit("/", 1)[-1] or "us-east-1"
            stack = artifact.get("properties", {}).get("stackName", artifact_id)
            for resource in template.get("Resources", {}).values():
                if resource.get("Type") == "AWS::CloudWatch::Alarm":
                    found.append(alarm_from_template(resource["Properties"], template, region=region, stack=stack))
    return found
