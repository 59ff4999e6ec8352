"""One CDK Stage per environment: `cdk deploy 'prod/*'` deploys exactly that environment."""

from __future__ import annotations

from aws_cdk import Environment, Stack, Stage, Tags
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.dashboard_stack import DashboardStack
from stacks.hosts_stack import HostsStack
from stacks.logging_stack import LoggingStack
from stacks.notifications_stack import NotificationsStack
from stacks.search_stack import SearchStack
from stacks.sync_stack import SyncStack
from stacks.web_stack import WebStack


class EnvironmentStage(Stage):
    """The genba baseline of one environment; its stacks are named ``genba-<env>-<concern>``."""

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, config.name, env=Environment(account=config.account, region=config.region))
        self.config = config
        for key, value in (("project", "genba"), ("environment", config.name), ("owner", config.owner)):
            Tags.of(self).add(key, value)

        self.notifications = NotificationsStack(self, "notifications", config=config)
        alarm_factory = self.notifications.alarm_factory
        self.logging = LoggingStack(self, "logging", config=config, alarm_factory=alarm_factory)
        if config.hosts is not None:
            self.hosts = HostsStack(
                self,
                "hosts",
                config=config,
                hosts=config.hosts,
                log_groups={"application": self.logging.application_logs, "audit": self.logging.audit_logs},
                alarm_factory=alarm_factory,
            )
        self.search = SearchStack(
            self,
            "search",
            config=config,
            alarm_factory=alarm_factory,
            searchable_log_groups=[self.logging.audit_logs.log_group],  # application logs are not searched
            archive=self.logging,
        )
        if config.sync is not None:
            self.sync = SyncStack(self, "sync", config=config, alarm_factory=alarm_factory)
        if config.web is not None:
            self.web = WebStack(self, "web", config=config, web=config.web, alarm_factory=alarm_factory)

        # Last: the dashboard shows every stack's signals and every alarm made above.
        self.dashboard = DashboardStack(
            self,
            "dashboard",
            config=config,
            sections=[
                *(
                    [("Web tier (load balancer, targets, Elastic Beanstalk health)", self.web.web_tier)]
                    if config.web
                    else []
                ),
                ("Application logs", self.logging.application_logs),
                ("Audit logs (login history, mail templates)", self.logging.audit_logs),
                ("Log archive (Firehose to S3)", self.logging.archive),
                *(
                    [("Service hosts (disks, memory, CloudWatch agent)", self.hosts.host_monitoring)]
                    if config.hosts
                    else []
                ),
                ("Log search (audit logs in OpenSearch)", self.search.log_search),
                *([("Sync verification (user table -> replica)", self.sync.sync)] if config.sync else []),
            ],
            alarms=alarm_factory.alarms,
        )

    @property
    def stacks(self) -> list[Stack]:
        return [child for child in self.node.children if isinstance(child, Stack)]
