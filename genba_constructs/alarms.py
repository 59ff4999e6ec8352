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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import overload

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from genba_constructs._names import claim_name
from genba_constructs._shared_props import grouped
from genba_constructs._types import checked
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


@dataclass(frozen=True)
class AlarmSpec:
    """One kind of alarm, as data: what it watches, when it fires, and what it tells the person it wakes.

    :param runbook: the runbook section (anchor) for this kind of alarm (``log-silence``).
    :param summary: what it means when it fires, one sentence.
    :param first_check: the first thing the person woken by it should look at.
    :param metric: the metric or metric math alarmed on (prefer the L2s' ``metric_*`` methods).
    :param thresholds: one alarm is made per named threshold given.
    :param comparison: how the metric is compared with each threshold.
    :param missing_data: what a period without data counts as (always explicit in genba).
    :param evaluation_periods: periods compared to the threshold. Default: 1.
    :param datapoints_to_alarm: breaching periods (of ``evaluation_periods``) that fire the
        alarm. Default: all of them.
    :param subject: the subject of the alarm name. Default: the subject given to ``create_all``.
    :param group: id of a child construct the alarms are made under. Default: none (made
        directly under the scope given to ``create_all``).
    """

    runbook: str
    summary: str
    first_check: str
    metric: cloudwatch.IMetric
    thresholds: Thresholds
    comparison: cloudwatch.ComparisonOperator
    missing_data: cloudwatch.TreatMissingData
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    subject: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class AlarmRecord:
    """One alarm the factory made: its spec, severity, threshold and name."""

    spec: AlarmSpec
    subject: str
    severity: Severity
    threshold: float
    alarm_name: str
    alarm: cloudwatch.Alarm


class AlarmSet(Sequence[cloudwatch.Alarm]):
    """The alarms of a construct, in the order they were made, with lookup by runbook and severity.

    It is a sequence of ``cloudwatch.Alarm`` (iterate it, ``len()`` it, add it to a dashboard);
    ``get(runbook, severity)`` and ``by_runbook(runbook)`` find one alarm or one kind.
    """

    def __init__(self, records: Iterable[AlarmRecord] = ()) -> None:
        self.records: tuple[AlarmRecord, ...] = tuple(records)

    @overload
    def __getitem__(self, index: int) -> cloudwatch.Alarm: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[cloudwatch.Alarm]: ...
    def __getitem__(self, index: int | slice) -> cloudwatch.Alarm | Sequence[cloudwatch.Alarm]:
        if isinstance(index, slice):
            return [record.alarm for record in self.records[index]]
        return self.records[index].alarm

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[cloudwatch.Alarm]:
        return (record.alarm for record in self.records)

    def __add__(self, other: AlarmSet) -> AlarmSet:
        return AlarmSet((*self.records, *other.records))

    def __repr__(self) -> str:
        return f"AlarmSet({[record.alarm_name for record in self.records]!r})"

    @property
    def runbooks(self) -> list[str]:
        """The runbook sections of the alarms, each once, in order."""
        return list(dict.fromkeys(record.spec.runbook for record in self.records))

    def by_runbook(self, runbook: str, *, subject: str | None = None) -> dict[Severity, cloudwatch.Alarm]:
        """The alarms of one kind by severity (of one subject, where several share a runbook)."""
        return {
            record.severity: record.alarm
            for record in self.records
            if record.spec.runbook == runbook and (subject is None or record.subject == subject)
        }

    def get(self, runbook: str, severity: Severity | None = None, *, subject: str | None = None) -> cloudwatch.Alarm:
        """One alarm: of ``runbook`` (and ``subject``), at ``severity``. Default severity: the first made.

        :raises KeyError: naming the runbook and severity when there is no such alarm.
        """
        found = self.by_runbook(runbook, subject=subject)
        if severity is None and found:
            return next(iter(found.values()))
        if severity is not None and severity in found:
            return found[severity]
        wanted = f"{runbook}/{severity.value}" if severity else runbook
        raise KeyError(f"no {wanted} alarm in {[r.alarm_name for r in self.records]}")

    def of_severity(self, severity: Severity) -> list[cloudwatch.Alarm]:
        """Every alarm of one severity."""
        return [record.alarm for record in self.records if record.severity is severity]


def _upper_camel(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.split("-"))


class AlarmFactory:
    """Makes alarms with genba's naming, description, actions and missing-data rules.

    :param name_prefix: first part of every alarm name, e.g. ``genba-prod``.
    :param actions: alarm and OK actions (usually ``AlarmTopic.alarm_action``). Default: none.
    :param runbook_url: the runbook document; each alarm links ``<url>#<runbook>``.
        Default: genba's ``docs/runbooks.md``.
    """

    @checked
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
        #: every alarm made, with the spec it was made from (for docs/alarms.md and the runbook test).
        self.records: list[AlarmRecord] = []

    @checked
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
        spec = grouped(AlarmSpec, locals())
        return {record.severity: record.alarm for record in self._make(scope, spec, subject, "AlarmFactory.create")}

    @checked
    def create_all(self, scope: Construct, *, subject: str, specs: Iterable[AlarmSpec]) -> AlarmSet:
        """Create the alarms of every spec (one per threshold given), in order.

        :param subject: the subject of every spec that names none of its own.
        :param specs: the alarms, as data. A spec's ``group`` puts its alarms under a child
            construct of ``scope`` with that id (kept where logical ids already depend on it).
        :returns: the alarms made, as an :class:`AlarmSet`.
        """
        made: list[AlarmRecord] = []
        groups: dict[str, Construct] = {}
        for spec in specs:
            if not isinstance(spec, AlarmSpec):
                raise GenbaPropsError(f"AlarmFactory.create_all: specs must be AlarmSpec values, got {spec!r}")
            target = scope
            if spec.group is not None:
                if spec.group not in groups:
                    groups[spec.group] = Construct(scope, spec.group)
                target = groups[spec.group]
            made.extend(self._make(target, spec, spec.subject or subject, "AlarmFactory.create_all"))
        return AlarmSet(made)

    def _make(self, scope: Construct, spec: AlarmSpec, subject: str, caller: str) -> list[AlarmRecord]:
        runbook = spec.runbook
        for prop, value in (("subject", subject), ("runbook", runbook)):
            if not isinstance(value, str) or not _SLUG.fullmatch(value):
                raise GenbaPropsError(f"{caller}: {prop}={value!r} must be a lower-case slug such as 'app-logs'")
        if not isinstance(spec.thresholds, Thresholds):
            raise GenbaPropsError(
                f"{caller}: thresholds={spec.thresholds!r} for {subject}/{runbook} must be Thresholds"
            )
        pairs = spec.thresholds.items()
        if not pairs:
            raise GenbaPropsError(f"{caller}: thresholds for {subject}/{runbook} give neither warning nor critical")
        periods, datapoints = spec.evaluation_periods, spec.datapoints_to_alarm
        if periods < 1:
            raise GenbaPropsError(f"{caller}: evaluation_periods={periods} must be at least 1")
        if datapoints is not None and not 1 <= datapoints <= periods:
            raise GenbaPropsError(
                f"{caller}: datapoints_to_alarm={datapoints} must be between 1 and evaluation_periods={periods}"
            )
        made: list[AlarmRecord] = []
        for severity, threshold in pairs:
            name = f"{self.name_prefix}-{subject}-{runbook}-{severity.value}"
            if len(name) > _MAX_NAME:
                raise GenbaPropsError(f"{caller}: alarm name {name!r} is longer than {_MAX_NAME}")
            description = (
                f"[{severity.value.upper()}] {spec.summary} First check: {spec.first_check} "
                f"Runbook: {self.runbook_url}#{runbook}"
            )
            if len(description) > _MAX_DESCRIPTION:
                raise GenbaPropsError(
                    f"{caller}: description of {name} is {len(description)} characters; "
                    f"CloudWatch allows {_MAX_DESCRIPTION}"
                )
            alarm_id = f"{_upper_camel(runbook)}{severity.value.capitalize()}Alarm"
            claim_name(scope, "alarm name", name, owner=caller, child=alarm_id)
            alarm = cloudwatch.Alarm(
                scope,
                alarm_id,
                alarm_name=name,
                alarm_description=description,
                metric=spec.metric,
                threshold=threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=periods,
                datapoints_to_alarm=datapoints,
                treat_missing_data=spec.missing_data,
                actions_enabled=True,
            )
            for action in self.actions:
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
            if not self.actions:
                _acknowledge_no_actions(alarm)
            record = AlarmRecord(
                spec=spec, subject=subject, severity=severity, threshold=threshold, alarm_name=name, alarm=alarm
            )
            self.alarms.append(alarm)
            self.records.append(record)
            made.append(record)
        return made


def _acknowledge_no_actions(alarm: cloudwatch.Alarm) -> None:
    """An alarm of a factory without actions: where it notifies is the owner's documented choice."""
    from genba_constructs.nag import acknowledge

    # Not on the alarm's L1 child: the finding is reported there, and an acknowledgement
    # applies to the construct's children, so one on the alarm is the narrowest stable one.
    acknowledge(
        alarm,
        "NIST.800.53.R5-CloudWatchAlarmAction",
        "Made by an AlarmFactory without actions (a construct given no alarm_factory uses one): the "
        "alarm is in the template and on the dashboard; pass AlarmTopic(...).alarm_factory to notify.",
    )


def default_alarm_factory(scope: Construct) -> AlarmFactory:
    """The factory a construct uses when it is given none: alarms named after the stack, no actions.

    Its alarms pass the NIST pack (acknowledged: where they notify is the owner's decision).
    """
    from aws_cdk import Stack

    return AlarmFactory(name_prefix=Stack.of(scope).stack_name)
