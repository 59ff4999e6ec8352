"""Combinations AWS refuses at deploy are refused at synth, with one line (issue 13, item 4).

CloudFormation accepts each of these templates; the service API behind it then fails the
deploy (or the alarm can never fire). Each test names the AWS documentation of the rule.
"""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_s3 as s3

from genba_constructs import (
    ArchiveTrail,
    GenbaPropsError,
    LogArchive,
    LogSearch,
    LogSearchAlarmSettings,
    SearchSizing,
    ServiceLogGroup,
    Thresholds,
)


def _one_line(error: pytest.ExceptionInfo[GenbaPropsError], start: str, *parts: str) -> None:
    message = str(error.value)
    assert "\n" not in message and message.startswith(start), message
    for part in parts:
        assert part in message, message


def test_fails_multi_region_trail_without_global_service_events(fresh_stack: Stack) -> None:
    """CloudTrail: a multi-region trail must include global service events.

    https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html
    (InvalidParameterCombinationException: IsMultiRegionTrail requires IncludeGlobalServiceEvents) and
    https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-concepts.html#cloudtrail-concepts-global-service-events
    """
    archive = LogArchive(fresh_stack, "Archive")
    with pytest.raises(GenbaPropsError) as raised:
        ArchiveTrail(fresh_stack, "Trail", archive=archive, include_global_service_events=False)
    _one_line(raised, "ArchiveTrail: include_global_service_events=False", "multi-region")


@pytest.mark.parametrize("name", ["ab", "-shop", "shop-", "shop..trail", "shop_-trail", "shop trail", "x" * 129])
def test_fails_trail_names_cloudtrail_refuses(fresh_stack: Stack, name: str) -> None:
    """CloudTrail trail names: 3-128 characters, letters, digits, '.', '_', '-', starting and ending
    with a letter or digit, no adjacent '.', '_', '-' pairs such as '..' or '_-'.

    https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html#awscloudtrail-CreateTrail-request-Name
    """
    archive = LogArchive(fresh_stack, "Archive")
    with pytest.raises(GenbaPropsError) as raised:
        ArchiveTrail(fresh_stack, "Trail", archive=archive, trail_name=name)
    _one_line(raised, "ArchiveTrail: trail_name=", "3-128")


@pytest.mark.parametrize(
    ("sizing", "prop"),
    [
        (SearchSizing(instance_type="t2.small.search"), "sizing.instance_type"),
        (SearchSizing(master_instance_type="t2.medium.search", master_nodes=3), "sizing.master_instance_type"),
        (SearchSizing(data_nodes=3, availability_zones=2), "sizing.data_nodes"),
        (SearchSizing(availability_zones=4, data_nodes=4), "sizing.availability_zones"),
        (SearchSizing(master_nodes=2, master_instance_type="m6g.large.search"), "sizing.master_nodes"),
        (SearchSizing(multi_az_with_standby=True, data_nodes=2, availability_zones=2), "sizing.availability_zones"),
    ],
)
def test_fails_opensearch_sizings_the_service_refuses(fresh_stack: Stack, sizing: SearchSizing, prop: str) -> None:
    """OpenSearch Service: T2 instance types offer neither encryption at rest nor fine-grained access
    control (genba turns both on); zone awareness needs 2 or 3 zones and an even spread of data
    nodes; dedicated masters are 3 or 5; Multi-AZ with Standby needs 3 zones.

    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/supported-instance-types.html
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html#fgac-prereqs
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-multiaz.html
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-dedicatedmasternodes.html
    """
    with pytest.raises(GenbaPropsError) as raised:
        LogSearch(fresh_stack, "Search", sizing=sizing)
    _one_line(raised, f"LogSearch: {prop}=")


@pytest.mark.parametrize(
    ("settings", "prop"),
    [
        (LogSearchAlarmSettings(cpu_utilization_percent=100), "alarm_settings.cpu_utilization_percent"),
        (LogSearchAlarmSettings(jvm_memory_pressure_percent=0), "alarm_settings.jvm_memory_pressure_percent"),
        (LogSearchAlarmSettings(delivery_success_ratio=0), "alarm_settings.delivery_success_ratio"),
        (LogSearchAlarmSettings(delivery_success_ratio=1.5), "alarm_settings.delivery_success_ratio"),
        (LogSearchAlarmSettings(yellow_minutes=0), "alarm_settings.yellow_minutes"),
    ],
)
def test_fails_search_alarms_that_cannot_fire(fresh_stack: Stack, settings: LogSearchAlarmSettings, prop: str) -> None:
    """A Maximum of a percentage never exceeds 100 (CPUUtilization, JVMMemoryPressure); a success
    ratio (DeliveryToAmazonOpenSearchService.Success, 0..1) is never below 0.

    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-cloudwatchmetrics.html
    https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html
    """
    with pytest.raises(GenbaPropsError) as raised:
        LogSearch(fresh_stack, "Search", alarm_settings=settings)
    _one_line(raised, f"LogSearch: {prop}=")


@pytest.mark.parametrize("name", ["aws/app", "/svc/app logs", "/svc/äpp", "", "x" * 513])
def test_fails_log_group_names_cloudwatch_logs_refuses(fresh_stack: Stack, name: str) -> None:
    """CreateLogGroup: 1-512 characters of a-z, A-Z, 0-9, '_', '-', '/', '.', '#'; not starting with aws/.

    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
    """
    with pytest.raises(GenbaPropsError) as raised:
        ServiceLogGroup(fresh_stack, "Logs", subject="app-logs", log_group_name=name)
    _one_line(raised, "ServiceLogGroup: log_group_name=")


def test_fails_log_retention_cloudwatch_logs_does_not_offer(fresh_stack: Stack) -> None:
    """PutRetentionPolicy accepts only 1, 3, 5, 7, 14, 30, 60, 90, ... 3653 days.

    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
    """
    with pytest.raises(GenbaPropsError) as raised:
        ServiceLogGroup(fresh_stack, "Logs", subject="app-logs", log_group_name="/svc/app", retention_days=31)
    _one_line(raised, "ServiceLogGroup: retention_days=31")


def test_fails_object_lock_on_an_existing_bucket(fresh_stack: Stack) -> None:
    """S3 Object Lock needs versioning and is set on the bucket itself (ObjectLockConfiguration):
    genba cannot switch it on for a bucket it does not create.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html
    """
    bucket = s3.Bucket.from_bucket_name(fresh_stack, "Existing", "team-archive")
    with pytest.raises(GenbaPropsError) as raised:
        LogArchive(fresh_stack, "Archive", bucket=bucket, object_lock_days=30)
    _one_line(raised, "LogArchive: give either bucket", "object_lock_days")


@pytest.mark.parametrize(
    ("thresholds", "prop"),
    [
        (Thresholds(), "error_lines_per_5_minutes"),
        (Thresholds(critical=0), "error_lines_per_5_minutes.critical"),
        (Thresholds(warning=-1), "error_lines_per_5_minutes.warning"),
    ],
)
def test_fails_error_line_alarms_that_cannot_fire_or_clear(
    fresh_stack: Stack, thresholds: Thresholds, prop: str
) -> None:
    """A count of ERROR lines is never below 0: a threshold at or below 0 is always breached (and an
    empty Thresholds makes no alarm at all); reported from ServiceLogGroup, not AlarmFactory.

    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    """
    with pytest.raises(GenbaPropsError) as raised:
        ServiceLogGroup(
            fresh_stack, "Logs", subject="app-logs", log_group_name="/svc/app", error_lines_per_5_minutes=thresholds
        )
    _one_line(raised, f"ServiceLogGroup: {prop}=")


def test_fails_archive_freshness_alarm_below_the_buffering_interval(fresh_stack: Stack) -> None:
    """Firehose holds records up to the buffering interval before it delivers them: a DataFreshness
    threshold at or below it fires on every batch.

    https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html
    https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html
    """
    with pytest.raises(GenbaPropsError) as raised:
        LogArchive(
            fresh_stack,
            "Archive",
            buffer_interval=Duration.minutes(5),
            data_freshness_seconds=Thresholds(warning=120, critical=3600),
        )
    _one_line(raised, "LogArchive: data_freshness_seconds.warning=120", "above 300")


def test_fails_alarm_topic_prefix_is_named_as_the_prop(fresh_stack: Stack) -> None:
    """The message names the AlarmTopic prop, not the AlarmFactory it builds."""
    from genba_constructs import AlarmTopic

    with pytest.raises(GenbaPropsError) as raised:
        AlarmTopic(fresh_stack, "Alarms", alarm_name_prefix="bad prefix!")
    _one_line(raised, "AlarmTopic: alarm_name_prefix='bad prefix!'")


def test_fails_log_silence_alarm_on_an_empty_log_group_name(fresh_stack: Stack) -> None:
    """A LogGroupName dimension value is 1-255 characters; a log group name 1-512 (found by tests/test_misuse.py).

    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
    """
    from genba_constructs import AlarmFactory, add_log_silence_alarm

    with pytest.raises(GenbaPropsError) as raised:
        add_log_silence_alarm(
            fresh_stack, log_group_name="", subject="app-logs", alarm_factory=AlarmFactory(name_prefix="shop")
        )
    _one_line(raised, "add_log_silence_alarm: log_group_name=''")
