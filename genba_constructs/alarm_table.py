"""Alarms as a table: one row per alarm (what is watched, when it fires), their words apart by runbook.

For a construct with many alarms of one shape (the log search's, the hosts'): the rows stay
short enough to read as a table, and :func:`specs_from_table` makes the :class:`AlarmSpec` of each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.alarms import AlarmSpec, Thresholds


class AlarmRow(NamedTuple):
    """One row of a construct's alarm table: an :class:`AlarmSpec` whose words are kept apart.

    A construct with many alarms of one shape lists them as rows (what is watched, when it
    fires) and their words in a table by runbook (see :func:`specs_from_table`).
    """

    runbook: str
    metric: cloudwatch.IMetric
    thresholds: Thresholds
    evaluation_periods: int = 1
    comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
    missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING


def specs_from_table(
    rows: Iterable[AlarmRow], text: Mapping[str, tuple[str, str]], **values: object
) -> list[AlarmSpec]:
    """The specs of ``rows``, in order: each row's summary and first check are ``text[runbook]``,
    formatted with ``values`` (``str.format`` fields such as ``{name}``)."""
    return [
        AlarmSpec(
            runbook=row.runbook,
            summary=text[row.runbook][0].format(**values),
            first_check=text[row.runbook][1].format(**values),
            metric=row.metric,
            thresholds=row.thresholds,
            comparison=row.comparison,
            missing_data=row.missing_data,
            evaluation_periods=row.evaluation_periods,
        )
        for row in rows
    ]
