"""genba-<env>-logging: the reference service's log groups (and, with them, the log archive)."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from constructs import Construct

from genba_constructs import AlarmFactory, Thresholds
from genba_constructs.service_log_group import ServiceLogGroup, log_group_encryption_key
from stacks.config import EnvironmentConfig


class LoggingStack(Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: EnvironmentConfig, alarm_factory: AlarmFactory, **kwargs: Any
    ) -> None:
        super().__init__(scope, id, **kwargs)
        logging = config.logging
        removal = RemovalPolicy.DESTROY if config.allow_destroy else RemovalPolicy.RETAIN
        key = log_group_encryption_key(self, "LogGroupKey", removal_policy=removal)
        error_thresholds = Thresholds(
            warning=logging.error_lines_warning_per_5min, critical=logging.error_lines_critical_per_5min
        )
        self.application_logs = ServiceLogGroup(
            self,
            "ApplicationLogs",
            subject="app-logs",
            log_group_name=f"/genba/{config.name}/application",
            retention_days=logging.application_log_retention_days,
            encryption_key=key,
            removal_policy=removal,
            must_never_be_silent=True,
            error_lines_per_5_minutes=error_thresholds,
            alarm_factory=alarm_factory,
        )
        # Login history and operations on mail templates: searched often, kept long.
        self.audit_logs = ServiceLogGroup(
            self,
            "AuditLogs",
            subject="audit-logs",
            log_group_name=f"/genba/{config.name}/audit",
            retention_days=logging.audit_log_retention_days,
            encryption_key=key,
            removal_policy=removal,
            must_never_be_silent=True,
            error_lines_per_5_minutes=error_thresholds,
            alarm_factory=alarm_factory,
        )
