"""genba: an operations baseline for services on AWS, as CDK v2 constructs."""

from genba_constructs._validation import GenbaPropsError
from genba_constructs.alarm_topic import AlarmTopic
from genba_constructs.alarms import DEFAULT_RUNBOOK_URL, AlarmFactory, Severity, Thresholds
from genba_constructs.nag import acknowledge, add_nag_packs

__all__ = [
    "DEFAULT_RUNBOOK_URL",
    "AlarmFactory",
    "AlarmTopic",
    "GenbaPropsError",
    "Severity",
    "Thresholds",
    "acknowledge",
    "add_nag_packs",
]
