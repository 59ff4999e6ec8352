"""The pipeline's dashboard widgets: sync lag, outcomes, the canary, queue age and depths, iterator age."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_cloudwatch as cloudwatch

if TYPE_CHECKING:
    from genba_constructs.sync_verification import SyncVerification


def dashboard_widgets(sync: SyncVerification) -> list[cloudwatch.IWidget]:
    """Six graphs, 8 units wide (three to a dashboard row)."""
    title = sync.subject
    depths = (
        ("verification", sync.queue),
        ("DLQ (not synced)", sync.dead_letter_queue),
        ("stream failures", sync.stream_failure_queue),
    )
    graphs: list[tuple[str, list[cloudwatch.IMetric]]] = [
        ("sync lag (s)", [sync.metric_sync_lag(statistic=s).with_(label=s) for s in ("p50", "p99", "Maximum")]),
        (
            "changes verified / not yet / failed",
            [sync.metric(name).with_(label=name) for name in ("verified", "not_yet", "failed")],
        ),
        ("canary verified", [sync.metric("canary_verified").with_(label="canaries")]),
        (
            "oldest change on the verification queue (s)",
            [sync.queue.metric_approximate_age_of_oldest_message(label="oldest")],
        ),
        (
            "queue depths",
            [queue.metric_approximate_number_of_messages_visible(label=label) for label, queue in depths],
        ),
        ("stream iterator age (ms)", [sync.forwarder.metric("IteratorAge", statistic="Maximum", label="forwarder")]),
    ]
    return [cloudwatch.GraphWidget(title=f"{title}: {name}", left=metrics, width=8) for name, metrics in graphs]
