"""The retention periods CloudWatch Logs offers, in days (genba never keeps logs forever)."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from genba_constructs._validation import GenbaPropsError

# Source: CloudWatch Logs PutRetentionPolicy API reference, retentionInDays.
_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

CLOUDWATCH_LOGS_RETENTION_DAYS: tuple[int, ...] = tuple(_BY_DAYS)


def retention_days(construct: str, prop: str, days: int) -> logs.RetentionDays:
    """The RetentionDays for ``days``, or a clear error naming the values CloudWatch offers."""
    if isinstance(days, bool) or days not in _BY_DAYS:
        offered = ", ".join(str(d) for d in CLOUDWATCH_LOGS_RETENTION_DAYS)
        raise GenbaPropsError(f"{construct}: {prop}={days!r} is not a retention CloudWatch Logs offers ({offered})")
    return _BY_DAYS[days]
