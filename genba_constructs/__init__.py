"""genba: an operations baseline for services on AWS, as CDK v2 constructs."""

from genba_constructs._validation import GenbaPropsError
from genba_constructs.alarm_topic import AlarmTopic
from genba_constructs.alarms import (
    DEFAULT_RUNBOOK_URL,
    AlarmFactory,
    AlarmRecord,
    AlarmSet,
    AlarmSpec,
    Severity,
    Thresholds,
)
from genba_constructs.archive_trail import ArchiveTrail
from genba_constructs.host_monitoring import HostLogFile, HostMonitoring
from genba_constructs.log_archive import LogArchive
from genba_constructs.log_search import LogSearch, LogSearchAlarmSettings, SearchSizing
from genba_constructs.log_silence import add_log_silence_alarm, incoming_log_events_metric
from genba_constructs.nag import acknowledge, add_nag_packs
from genba_constructs.operations_dashboard import DashboardSource, OperationsDashboard
from genba_constructs.service_log_group import ServiceLogGroup, log_group_encryption_key
from genba_constructs.sync_targets import (
    DynamoDbReplicaTarget,
    HttpEndpointTarget,
    LambdaFunctionTarget,
    OpenSearchIndexTarget,
    SyncTarget,
)
from genba_constructs.sync_verification import SyncVerification
from genba_constructs.web_tier_monitoring import WebTierMonitoring, WebTierThresholds

__all__ = [
    "DEFAULT_RUNBOOK_URL",
    "AlarmFactory",
    "AlarmRecord",
    "AlarmSet",
    "AlarmSpec",
    "AlarmTopic",
    "ArchiveTrail",
    "DashboardSource",
    "DynamoDbReplicaTarget",
    "GenbaPropsError",
    "HostLogFile",
    "HostMonitoring",
    "HttpEndpointTarget",
    "LambdaFunctionTarget",
    "LogArchive",
    "LogSearch",
    "LogSearchAlarmSettings",
    "OpenSearchIndexTarget",
    "OperationsDashboard",
    "SearchSizing",
    "ServiceLogGroup",
    "Severity",
    "SyncTarget",
    "SyncVerification",
    "Thresholds",
    "WebTierMonitoring",
    "WebTierThresholds",
    "acknowledge",
    "add_log_silence_alarm",
    "add_nag_packs",
    "incoming_log_events_metric",
    "log_group_encryption_key",
]
