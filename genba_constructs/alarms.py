"""Alarms the genba way.

Every alarm genba defines goes through :class:`AlarmFactory`, so that each one has:

* a deterministic name: ``<prefix>-<subject>-<runbook>-<severity>``;
* a description that says what it means, what to check first, and links its runbook
  section (``docs/runbooks.md#<runbook>``);
* alarm *and* OK actions (the environment's alarm topic);
* an explicit missing-data policy (the caller must choose: "nothing arrived" alarms
  breach on missing data, error counts and DLQ depths do not);
* named severity thresholds (warning / critical), as in cdk-monitoring-constructs.

The factory also records every alarm it made, for the dashboard's alarm status widget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from genba_constructs._validation import GenbaPropsError

DEFAULT_RUNBOOK_URL = "https://github.com/genba-ops/genba/blob/main/docs/runbooks.md"

# CloudWatch limits: alarm names up to 255 characters, descriptions up to 1024.
_MAX_NAME = 255
_MAX_DESCRIPTION = 1024
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class Severity(Enum):
    """How urgent an alarm is; part of its name and the first word of its description."""

    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Thresholds:
    """Named thresholds for one alarm: one alarm is made per threshold given.

    Default: neither (give at least one).
    """

    warning: float | None = None
    critical: float | None = None

    def items(self) -> list[tuple[Severity, float]]:
        pairs = [(Severity.WARNING, self.warning), (Severity.CRITICAL, self.critical)]
        return [(severity, value) for severity, value in pairs if value is not None]


def _upper_camel(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.split("-"))


class AlarmFactory:
    """Makes alarms with genba's naming, description, actions and missing-data rules.

    :param name_prefix: first part of every alarm name, e.g. ``genba-prod``.
    :param actions: alarm and OK actions (usually ``AlarmTopic.alarm_action``). Default: none.
    :param runbook_url: the runbook document; each alarm links ``<url>#<runbook>``.
        Default: genba's ``docs/runbooks.md``.
    """

    def __init__(
        self,
        *,
        name_prefix: str,
        actions: Sequence[cloudwatch.IAlarmAction] = (),
        runbook_url: str = DEFAULT_RUNBOOK_URL,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", name_prefix or ""):
            raise GenbaPropsError(
                f"AlarmFactory: name_prefix={name_prefix!r} must be 1-100 letters, digits, '-', '_' or '.'"
            )
        if not runbook_url.startswith("https://"):
            raise GenbaPropsError(f"AlarmFactory: runbook_url={runbook_url!r} must be an https:// URL")
        self.name_prefix = name_prefix
        self.actions = tuple(actions)
        self.runbook_url = runbook_url
        self.alarms: list[cloudwatch.Alarm] = []

    def create(
        self,
        scope: Construct,
        *,
        subject: str,
        runbook: str,
        summary: str,
        first_check: str,
        metric: cloudwatch.IMetric,
        thresholds: Thresholds,
        comparison: cloudwatch.ComparisonOperator,
        missing_data: cloudwatch.TreatMissingData,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
    ) -> dict[Severity, cloudwatch.Alarm]:
        """Create one alarm per threshold given, as children of ``scope``.

        :param subject: what is watched, a slug unique within the prefix (``app-logs``).
        :param runbook: the runbook section (anchor) for this kind of alarm (``log-silence``).
        :param summary: what it means when it fires, one sentence.
        :param first_check: the first thing the person woken by it should look at.
        :param evaluation_periods: periods compared to the threshold. Default: 1.
        :param datapoints_to_alarm: breaching periods (of ``evaluation_periods``) that
            fire the alarm. Default: all of them.
        :returns: the alarms by severity. Construct ids are ``<Runbook><Severity>Alarm``.
        """
        for prop, value in (("subject", subject), ("runbook", runbook)):
            if not _SLUG.fullmatch(value):
                raise GenbaPropsError(
                    f"AlarmFactory.create: {prop}={value!r} must be a lower-case slug such as 'app-logs'"
                )
        pairs = thresholds.items()
        if not pairs:
            raise GenbaPropsError(
                f"AlarmFactory.create: thresholds for {subject}/{runbook} give neither warning nor critical"
            )
        if evaluation_periods < 1:
            raise GenbaPropsError(f"AlarmFactory.create: evaluation_periods={evaluation_periods} must be at least 1")
        if datapoints_to_alarm is not None and not 1 <= datapoints_to_alarm <= evaluation_periods:
            raise GenbaPropsError(
                f"AlarmFactory.create: datapoints_to_alarm={datapoints_to_alarm} must be between 1 "
                f"and evaluation_periods={evaluation_periods}"
            )
        made: dict[Severity, cloudwatch.Alarm] = {}
        for severity, threshold in pairs:
            name = f"{self.name_prefix}-{subject}-{runbook}-{severity.value}"
            if len(name) > _MAX_NAME:
                raise GenbaPropsError(f"AlarmFactory.create: alarm name {name!r} is longer than {_MAX_NAME}")
            description = (
                f"[{severity.value.upper()}] {summary} First check: {first_check} Runbook: {self.runbook_url}#{runbook}"
            )
            if len(description) > _MAX_DESCRIPTION:
                raise GenbaPropsError(
                    f"AlarmFactory.create: description of {name} is {len(description)} characters; "
                    f"CloudWatch allows {_MAX_DESCRIPTION}"
                )
            alarm = cloudwatch.Alarm(
                scope,
                f"{_upper_camel(runbook)}{severity.value.capitalize()}Alarm",
                alarm_name=name,
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=comparison,
                evaluation_periods=evaluation_periods,
                datapoints_to_alarm=datapoints_to_alarm,
                treat_missing_data=missing_data,
                actions_enabled=True,
            )
            for action in self.actions:
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
            self.alarms.append(alarm)
            made[severity] = alarm
        return made


def default_alarm_factory(scope: Construct) -> AlarmFactory:
    """The factory a construct uses when it is given none: alarms named after the stack, no actions."""
    from aws_cdk import Stack

    return AlarmFactory(name_prefix=Stack.of(scope).stack_name)
