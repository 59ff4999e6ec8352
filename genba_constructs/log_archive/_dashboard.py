"""What the archive shows on the operations dashboard: one graph per archived log group."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_cloudwatch as cloudwatch

from genba_constructs.log_archive._delivery import ArchivedLogGroup


def archive_widgets(archived: Iterable[ArchivedLogGroup]) -> list[cloudwatch.IWidget]:
    """Per archived log group (by subject): data freshness (seconds) and delivery success of its stream."""
    return [
        cloudwatch.GraphWidget(
            title=f"archive {part.subject}: Firehose freshness (s) and delivery success",
            left=[part.metric_data_freshness().with_(label="DataFreshness max (s)")],
            right=[part.metric_delivery_success().with_(label="Success min")],
            width=12,
        )
        for part in sorted(archived, key=lambda part: part.subject)
    ]
