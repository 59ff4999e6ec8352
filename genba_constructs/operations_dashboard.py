"""One CloudWatch dashboard for every signal genba watches, built from the constructs' own metrics.

Each genba construct that has something to show implements ``dashboard_widgets()``; the
dashboard lays them out in titled sections and ends with an alarm status widget listing
every alarm the environment's :class:`AlarmFactory` made. No metric name is typed twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from genba_constructs._names import claim_name
from genba_constructs._types import checked
from genba_constructs._validation import GenbaPropsError

# CloudWatch dashboards are 24 units wide; an alarm status widget shows at most 100 alarms.
_WIDTH = 24
_ALARMS_PER_STATUS_WIDGET = 100


@runtime_checkable
class DashboardSource(Protocol):
    """A construct that contributes widgets to the operations dashboard."""

    def dashboard_widgets(self) -> list[cloudwatch.IWidget]: ...


class OperationsDashboard(Construct):
    """A CloudWatch dashboard with one section per source and an alarm status section.

    :param dashboard_name: the dashboard's name (letters, digits, ``-`` and ``_``).
    :param sections: (title, source) pairs, shown in this order.
    :param alarms: alarms for the status widget (usually ``AlarmFactory.alarms``). Default: none.
    :param default_range: the time range the dashboard opens with. Default: 3 hours.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        dashboard_name: str,
        sections: Sequence[tuple[str, DashboardSource]] = (),
        alarms: Sequence[cloudwatch.IAlarm] = (),
        default_range: Duration = Duration.hours(3),
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", dashboard_name or ""):
            raise GenbaPropsError(
                f"OperationsDashboard: dashboard_name={dashboard_name!r} must be 1-255 letters, digits, - or _"
            )
        for title, source in sections:
            if not isinstance(source, DashboardSource):
                raise GenbaPropsError(
                    f"OperationsDashboard: section {title!r} is a {type(source).__name__}, "
                    "which has no dashboard_widgets()"
                )
        super().__init__(scope, id)
        # Dashboard names are unique per account (dashboards are global).
        claim_name(self, "dashboard name", dashboard_name, owner="OperationsDashboard")
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Resource",
            dashboard_name=dashboard_name,
            default_interval=default_range,
            period_override=cloudwatch.PeriodOverride.AUTO,
        )
        for title, source in sections:
            self.add_section(title, source.dashboard_widgets())
        if alarms:
            self.add_alarm_status(alarms)

    @checked
    def add_section(self, title: str, widgets: Sequence[cloudwatch.IWidget]) -> None:
        """A titled row of widgets."""
        self.dashboard.add_widgets(cloudwatch.TextWidget(markdown=f"## {title}", width=_WIDTH, height=1))
        # Widgets given in one add_widgets call are laid out left to right: one call per row.
        row: list[cloudwatch.IWidget] = []
        used = 0.0
        for widget in widgets:
            if used + widget.width > _WIDTH:
                self.dashboard.add_widgets(*row)
                row, used = [], 0.0
            row.append(widget)
            used += widget.width
        if row:
            self.dashboard.add_widgets(*row)

    @checked
    def add_alarm_status(self, alarms: Sequence[cloudwatch.IAlarm]) -> None:
        """Every alarm, in status widgets of at most 100, sorted with the firing ones first."""
        chunks = [alarms[i : i + _ALARMS_PER_STATUS_WIDGET] for i in range(0, len(alarms), _ALARMS_PER_STATUS_WIDGET)]
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.AlarmStatusWidget(
                title=f"Alarms ({index + 1}/{len(chunks)})" if len(chunks) > 1 else "Alarms",
                alarms=list(chunk),
                width=_WIDTH,
                height=max(3, len(chunk) // 4 + 2),
                sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
            )
            for index, chunk in enumerate(chunks)
        ]
        self.add_section("Alarm status", widgets)
