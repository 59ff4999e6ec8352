"""The pipeline's alarms, as data: one :class:`AlarmSpec` per kind, in the order they are made.

Each spec's ``group`` (``<Name>Alarms``) keeps the alarm's construct path, and so its logical
id, as it was before alarms were data. Metrics come from the L2s (``queue.metric_*``,
``function.metric_*``) and from :meth:`SyncVerification.metric` for the handlers' own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs._secure import dlq_not_empty_spec
from genba_constructs.alarms import AlarmSpec, Thresholds
from genba_constructs.sync_verification.timing import STREAM_RETENTION

if TYPE_CHECKING:
    from genba_constructs.sync_verification import SyncVerification
    from genba_constructs.sync_verification.timing import SyncTiming

_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
_QUIET = cloudwatch.TreatMissingData.NOT_BREACHING
_WARNING_OWED_SECONDS = 900
_NOT_SYNCED_YET = "the verifier's 'change not synced yet' log lines (their reason) and the sync worker."


def _above(
    name: str,
    metric: cloudwatch.IMetric,
    thresholds: Thresholds,
    *,
    subject: str,
    runbook: str,
    summary: str,
    first_check: str,
) -> AlarmSpec:
    """An alarm on ``metric``, a count or an age, in the group ``<name>Alarms``: above the threshold fires,
    no data (an idle queue or function) is fine."""
    return AlarmSpec(
        runbook=runbook,
        summary=summary,
        first_check=first_check,
        metric=metric,
        thresholds=thresholds,
        comparison=_ABOVE,
        missing_data=_QUIET,
        subject=subject,
        group=f"{name}Alarms",
    )


def alarm_specs(sync: SyncVerification, timing: SyncTiming) -> list[AlarmSpec]:
    """Every alarm of ``sync``: lag, DLQs, replay window, iterator age, errors and the canary."""
    subject = sync.subject
    lag_seconds = int(timing.max_sync_lag.to_seconds())
    lag = Thresholds(warning=int(timing.lag_slo.to_seconds()), critical=lag_seconds // 2)
    specs = [
        _above(
            "OldestChange",
            sync.queue.metric_approximate_age_of_oldest_message(),
            lag,
            subject=f"{subject}-verification-queue",
            runbook="sync-lag",
            summary=f"A change has waited on the sync verification queue longer than the lag objective; "
            f"at {lag_seconds / 3600:g} h it goes to the DLQ as not synced.",
            first_check=_NOT_SYNCED_YET,
        ),
        # SQS stops counting a message received 3+ times in ApproximateAgeOfOldestMessage: every
        # verifier invocation publishes the oldest change it knows to be pending (0 if none), and
        # looks again just after the critical threshold. Between invocations (an idle pipeline
        # with its canary stopped, which the canary alarm reports) the alarm keeps its state
        # instead of flapping to OK.
        AlarmSpec(
            runbook="sync-lag",
            summary="The verifier knows a change still not synced after the lag objective.",
            first_check=_NOT_SYNCED_YET,
            metric=sync.metric("pending_age", statistic="Maximum"),
            thresholds=lag,
            comparison=_ABOVE,
            missing_data=cloudwatch.TreatMissingData.IGNORE,
            subject=f"{subject}-pending-changes",
            group="PendingChangeAlarms",
        ),
    ]
    dlqs = [
        (
            "VerificationDlq",
            "verification-dlq",
            sync.dead_letter_queue,
            "Changes were not synced (or could not be checked); each message's genba-reason attribute says why.",
            "the genba-reason attribute of the messages, then resync those keys.",
        ),
        (
            "StreamFailureDlq",
            "stream-failure-dlq",
            sync.stream_failure_dead_letter_queue,
            "The replay function gave up on failed stream ranges: those changes were never verified.",
            "the replay function's errors; replay the ranges by hand while the 24 h stream retention lasts.",
        ),
    ]
    if sync.canary_dead_letter_queue is not None:
        dlqs.append(
            (
                "CanaryDlq",
                "canary-dlq",
                sync.canary_dead_letter_queue,
                "The scheduler could not write the canary item to the source table.",
                "the messages' ERROR_CODE / ERROR_MESSAGE attributes and the scheduler role.",
            )
        )
    for name, dlq, queue, summary, first_check in dlqs:
        specs.append(
            dlq_not_empty_spec(
                queue, summary=summary, first_check=first_check, subject=f"{subject}-{dlq}", group=f"{name}Alarms"
            )
        )
    specs.append(_replay_window(sync))
    specs.append(
        _above(
            "IteratorAge",
            sync.forwarder.metric("IteratorAge", statistic="Maximum"),
            Thresholds(warning=600_000, critical=int(timing.max_record_age.to_seconds() * 1000 / 2)),
            subject=f"{subject}-forwarder",
            runbook="stream-iterator-age",
            summary="The forwarder is behind the source table's stream; records expire 24 h after they were written.",
            first_check="the forwarder's errors and throttles, and its reserved concurrency.",
        )
    )
    # Record-level failures are successful invocations (partial batch responses): Lambda's Errors
    # never counts them, so the forwarder's and verifier's alarms add the failed records they publish.
    failed_records = {"Forwarder": "not_forwarded", "Verifier": "failed_records"}
    for name, function in (("Forwarder", sync.forwarder), ("Verifier", sync.verifier), ("Replay", sync.replay)):
        metric: cloudwatch.IMetric = function.metric_errors()
        summary = f"The sync {name.lower()} function failed invocations."
        if name in failed_records:
            metric = cloudwatch.MathExpression(
                expression="FILL(errors, 0) + FILL(records, 0)",
                using_metrics={"errors": function.metric_errors(), "records": sync.metric(failed_records[name])},
                label=f"{name} failed invocations + failed records",
                period=Duration.minutes(5),
            )
            summary = f"The sync {name.lower()} function failed invocations or records (FailedRecords metrics)."
        specs.append(
            _above(
                f"{name}Errors",
                metric,
                Thresholds(warning=0, critical=10),
                subject=f"{subject}-{name.lower()}",
                runbook="lambda-errors",
                summary=summary,
                first_check="the function's ERROR and WARNING log lines (request_id is the key digest and sequence "
                "number: python -m genba key-digest).",
            )
        )
    if sync.canary_schedule is not None:
        specs.append(_canary_silent(sync, timing))
    return specs + record_failure_specs(sync)


def _replay_window(sync: SyncVerification) -> AlarmSpec:
    """The age of the oldest failed range the replay function still owes, from its first record's arrival.

    Published by the replay function on every invocation (0: it owes nothing), not SQS's
    ApproximateAgeOfOldestMessage, which drops a message received three times or more. A retried
    range is seen again one visibility timeout (12 minutes) later: 1 of 3 five-minute periods keeps
    the alarm in ALARM between retries.
    """
    critical = int(STREAM_RETENTION.to_seconds()) - 6 * 3600
    return AlarmSpec(
        runbook="sync-replay-window",
        summary="A failed stream range could not be replayed and is retried; its records expire 24 h after "
        f"they were written: at warning it is {_WARNING_OWED_SECONDS // 60} minutes old, at critical 6 h are left.",
        first_check="the replay function's 'stream range not finished' log lines (their reason) and the stream "
        "failure queue; fix the cause before the records expire.",
        metric=sync.metric("replay_owed_age", statistic="Maximum"),
        thresholds=Thresholds(warning=_WARNING_OWED_SECONDS, critical=critical),
        comparison=_ABOVE,
        missing_data=_QUIET,
        evaluation_periods=3,
        datapoints_to_alarm=1,
        subject=f"{sync.subject}-stream-failures",
        group="ReplayWindowAlarms",
    )


def record_failure_specs(sync: SyncVerification) -> list[AlarmSpec]:
    """Failed records of the forwarder and the replay, and (when configured) a source too quiet.

    A record reported as a batch item failure is part of a successful invocation: Lambda's
    Errors never counts it, so the handlers publish their failed records.
    """
    subject = sync.subject
    # (name, subject suffix, metric, critical count, summary, first check)
    failures = [
        (
            "ForwarderFailures",
            "forwarder-records",
            "not_forwarded",
            100,
            "The forwarder could not send changes to the verification queue; Lambda delivers them again "
            "and after the retry limit their range goes to replay.",
            "the forwarder's 'verification message not sent' log lines and SQS throttling or KMS errors.",
        ),
        (
            "ReplayFailures",
            "replay-ranges",
            "replay_failed",
            5,
            "The replay function could not finish failed stream ranges; they are retried until their "
            "records are about to expire, then set aside in the DLQ.",
            "the replay function's 'stream range not finished' log lines (their reason).",
        ),
    ]
    specs = [
        _above(
            name,
            sync.metric(metric),
            Thresholds(warning=0, critical=critical),
            subject=f"{subject}-{suffix}",
            runbook="sync-record-failures",
            summary=summary,
            first_check=first_check,
        )
        for name, suffix, metric, critical, summary, first_check in failures
    ]
    if sync.min_source_changes is not None:
        window = sync.min_source_changes_window
        # No forwarder invocation publishes nothing: FILL(m, 0) counts it as zero changes.
        changes = cloudwatch.MathExpression(
            expression="FILL(m, 0)",
            using_metrics={"m": sync.metric("source_changes", period=window)},
            label="real source changes (canary excluded)",
            period=window,
        )
        specs.append(
            AlarmSpec(
                runbook="sync-source-quiet",
                summary=f"The source table saw fewer than {sync.min_source_changes} real changes (the canary "
                f"excluded) in {int(window.to_minutes())} minutes: the application stopped writing, "
                "or the stream stopped reaching the forwarder.",
                first_check="the application's traffic and errors, then the forwarder's IteratorAge and invocations.",
                metric=changes,
                thresholds=Thresholds(critical=sync.min_source_changes),
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                missing_data=cloudwatch.TreatMissingData.BREACHING,
                subject=f"{subject}-source-changes",
                group="SourceQuietAlarms",
            )
        )
    return specs


def _canary_silent(sync: SyncVerification, timing: SyncTiming) -> AlarmSpec:
    """No canary verified for ``canary_silent_for`` minus one canary interval, minute by minute.

    One ``canary_silent_for`` period with missing data = breaching fires periods late: CloudWatch
    keeps evaluating the last real data point while it stays in its evaluation range. ``FILL(m, 0)``
    makes every minute a real point (0: nothing verified), and the alarm fires when every one of
    the last N minutes is 0 - N is ``canary_silent_for`` less one interval, so the first canary not
    verified is caught within ``canary_silent_for`` of being written. Healthy, the longest gap
    between verified canaries is about one interval (at least 2 intervals + grace shorter).
    """
    interval = int((timing.canary_interval or Duration.minutes(5)).to_minutes())
    minutes = max(2, int(timing.canary_silent_for.to_minutes()) - interval)
    verified = sync.metric("canary_verified", period=Duration.minutes(1))
    return AlarmSpec(
        runbook="sync-canary-silent",
        summary=f"No canary change was verified for {minutes} minutes (one is written every {interval}): the "
        "stream, forwarder, sync or verifier is stuck (even if nothing else changed).",
        first_check="the forwarder's IteratorAge, the verification queue's age and the canary DLQ.",
        metric=cloudwatch.MathExpression(
            expression="FILL(verified, 0)",
            using_metrics={"verified": verified},
            period=Duration.minutes(1),
            label="canary changes verified (0: none)",
        ),
        thresholds=Thresholds(critical=1),
        comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        # FILL gives every minute a point; breaching still covers a range with no data at all.
        missing_data=cloudwatch.TreatMissingData.BREACHING,
        evaluation_periods=minutes,
        datapoints_to_alarm=minutes,
        subject=f"{sync.subject}-canary",
        group="CanarySilentAlarms",
    )
