"""Value checks of metric props shared by the public ``metric_*`` methods.

CloudWatch accepts a metric period of 1, 5, 10 or 30 seconds or a multiple of 60, a
dimension value of 1-255 characters and a statistic it knows
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricStat.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html);
aws-cdk-lib refuses the rest with a jsii error, so they are checked here with one line.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration

from genba_constructs._validation import GenbaPropsError, fail, is_unresolved

if TYPE_CHECKING:
    from genba_constructs.alarms import Thresholds

_STATISTIC = re.compile(
    r"(SampleCount|Average|Sum|Minimum|Maximum|IQM"
    r"|[pP](\d{1,2}(\.\d+)?|100)"
    r"|(tm|wm|tc|ts|TM|WM|TC|TS)\d{1,2}(\.\d+)?"
    r"|(TM|WM|TC|TS|PR)\([^()]*\))"
)


def require_period(owner: str, prop: str, period: Duration) -> None:
    """A known period CloudWatch accepts: 1, 5, 10, 30 seconds or a multiple of 60."""
    if period.is_unresolved():
        return
    millis = period.to_milliseconds()
    seconds = millis // 1000
    if millis % 1000 or not (seconds in (1, 5, 10, 30) or (seconds and seconds % 60 == 0)):
        raise fail(owner, prop, period.to_human_string(), "must be 1, 5, 10, 30 seconds or a multiple of 60 seconds")


def require_statistic(owner: str, prop: str, statistic: str) -> None:
    """A statistic CloudWatch knows (``Sum``, ``Maximum``, ``p99``, ``TM(10%:90%)`` ...)."""
    if not _STATISTIC.fullmatch(statistic):
        raise fail(owner, prop, statistic, "is not a CloudWatch statistic such as 'Sum', 'Maximum' or 'p99'")


def require_dimension_value(owner: str, prop: str, value: str) -> None:
    """A dimension value: 1-255 characters."""
    if not 1 <= len(value) <= 255:
        raise fail(owner, prop, value, "must be 1-255 characters (a CloudWatch dimension value)")


def require_grantable(owner: str, prop: str, grantee: Any) -> None:
    """A grantee that can take a policy (an imported function or role-less resource cannot)."""
    try:
        grantee.grant_principal.policy_fragment  # noqa: B018 - raises for a principal CDK cannot add to
    except RuntimeError:
        raise fail(owner, prop, grantee, "has no role genba can add a policy to (imported without a role?)") from None


def require_thresholds(owner: str, prop: str, thresholds: Thresholds, *, above: float = 0) -> None:
    """Thresholds that can fire and clear: at least one severity, each a number above ``above``."""
    pairs = thresholds.items()
    if not pairs:
        raise fail(owner, prop, thresholds, "gives neither warning nor critical")
    for severity, value in pairs:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise fail(owner, f"{prop}.{severity.value}", value, "must be a number")
        if value <= above:
            raise fail(owner, f"{prop}.{severity.value}", value, f"must be above {above:g}")


def check_log_group_name(owner: str, prop: str, name: str | None) -> None:
    """A name CloudWatch Logs' CreateLogGroup accepts: 1-512 of ``[.-_/#A-Za-z0-9]``, not ``aws/...``."""
    if name is None or is_unresolved(name):
        return
    if not re.fullmatch(r"[.\-_/#A-Za-z0-9]{1,512}", name):
        raise GenbaPropsError(f"{owner}: {prop}={name!r} must be 1-512 letters, digits, '.', '-', '_', '/' or '#'")
    if name.startswith("aws/"):
        raise GenbaPropsError(f"{owner}: {prop}={name!r} must not start with 'aws/' (reserved for AWS services)")
