"""How a service log group is measured and searched: metric filters and saved Logs Insights queries.

Both read genba's logging convention (``level``, ``request_id``, ``duration_ms``); they are
children of the :class:`ServiceLogGroup` (their logical ids are a contract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs

from genba_constructs._log_fields import DURATION_FIELD, LEVEL_FIELD, LOG_METRICS_NAMESPACE, REQUEST_ID_FIELD

if TYPE_CHECKING:
    from genba_constructs.service_log_group import ServiceLogGroup


def metric_filters(group: ServiceLogGroup) -> None:
    """Lines by level and request duration, as metrics (the metric names carry the subject)."""
    logs.MetricFilter(
        group,
        "LinesByLevel",
        log_group=group.log_group,
        filter_pattern=logs.FilterPattern.exists(f"$.{LEVEL_FIELD}"),
        metric_namespace=LOG_METRICS_NAMESPACE,
        metric_name=group.lines_metric_name,
        metric_value="1",
        dimensions={"Level": f"$.{LEVEL_FIELD}"},
        unit=cloudwatch.Unit.COUNT,
    )
    logs.MetricFilter(
        group,
        "RequestDuration",
        log_group=group.log_group,
        # A numeric test: FilterPattern.exists() renders `= "*"`, a string match, and
        # duration_ms is a number.
        filter_pattern=logs.FilterPattern.number_value(f"$.{DURATION_FIELD}", ">=", 0),
        metric_namespace=LOG_METRICS_NAMESPACE,
        metric_name=group.duration_metric_name,
        metric_value=f"$.{DURATION_FIELD}",
        unit=cloudwatch.Unit.MILLISECONDS,
    )


def saved_queries(group: ServiceLogGroup) -> dict[str, logs.QueryDefinition]:
    """The Logs Insights queries every investigation starts with, saved under ``<stack>/<subject>/``."""
    prefix = f"{Stack.of(group).stack_name}/{group.subject}"
    queries = {
        "TraceRequestId": (
            "every line of one request id (replace the id)",
            logs.QueryString(
                fields=["@timestamp", LEVEL_FIELD, REQUEST_ID_FIELD, "message", "@logStream"],
                filter_statements=[f'{REQUEST_ID_FIELD} = "00000000-0000-0000-0000-000000000000"'],
                sort="@timestamp asc",
                limit=10000,
            ),
        ),
        "ErrorsByRequestId": (
            "errors in the last hour by request id",
            logs.QueryString(
                filter_statements=[f'{LEVEL_FIELD} = "ERROR"'],
                stats_statements=[f"count(*) as errors, earliest(message) as first_error by {REQUEST_ID_FIELD}"],
                sort="errors desc",
                limit=100,
            ),
        ),
        "SlowestRequests": (
            "slowest requests",
            logs.QueryString(
                fields=["@timestamp", REQUEST_ID_FIELD, DURATION_FIELD, "message"],
                filter_statements=[f"ispresent({DURATION_FIELD})"],
                sort=f"{DURATION_FIELD} desc",
                limit=50,
            ),
        ),
    }
    return {
        construct_id: logs.QueryDefinition(
            group,
            construct_id,
            query_definition_name=f"{prefix}/{title}",
            query_string=query,
            log_groups=[group.log_group],
        )
        for construct_id, (title, query) in queries.items()
    }
