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

if TYPE_CHECKING:
    from genba_constructs.sync_verification import SyncVerification
    from genba_constructs.sync_verification.timing import SyncTiming

_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
_QUIET = cloudwatch.TreatMissingData.NOT_BREACHING
_NOT_SYNCED_YET = "the verifier's 'change not synced yet' log lines (their reason) and the sync worker."


def _above(
    name: str,
    subject: str,
    runbook: str,
    summary: str,
    first_check: str,
    metric: cloudwatch.IMetric,
    thresholds: Thresholds,
) -> AlarmSpec:
    """An alarm on a count or an age: above the threshold fires, no data (an idle queue or function) is fine."""
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
            f"{subject}-verification-queue",
            "sync-lag",
            f"A change has waited on the sync verification queue longer than the lag objective; "
            f"at {lag_seconds / 3600:g} h it goes to the DLQ as not synced.",
            _NOT_SYNCED_YET,
            sync.queue.metric_approximate_age_of_oldest_message(),
            lag,
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
    window = timing.replay_window_seconds
    specs.append(
        _above(
            "ReplayWindow",
            f"{subject}-stream-failures",
            "sync-replay-window",
            f"Failed stream ranges wait for replay. Their records are at most "
            f"{timing.max_record_age.to_hours():g} h old when they arrive and expire at 24 h: at warning about "
            f"{(window - 900) / 3600:.1f} h are left, at critical about 6 h.",
            "the replay function's errors and the stream failure queue; fix the cause before the records expire.",
            sync.stream_failure_queue.metric_approximate_age_of_oldest_message(),
            Thresholds(warning=900, critical=int(max(window - 6 * 3600, 1800))),
        )
    )
    specs.append(
        _above(
            "IteratorAge",
            f"{subject}-forwarder",
            "stream-iterator-age",
            "The forwarder is behind the source table's stream; records expire 24 h after they were written.",
            "the forwarder's errors and throttles, and its reserved concurrency.",
            sync.forwarder.metric("IteratorAge", statistic="Maximum"),
            Thresholds(warning=600_000, critical=int(timing.max_record_age.to_seconds() * 1000 / 2)),
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
                f"{subject}-{name.lower()}",
                "lambda-errors",
                summary,
                "the function's ERROR and WARNING log lines (request_id is the key digest and sequence number: "
                "python -m tools.sync_key_digest).",
                metric,
                Thresholds(warning=0, critical=10),
            )
        )
    if sync.canary_schedule is not None:
        specs.append(_canary_silent(sync, timing))
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
