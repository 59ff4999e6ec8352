"""The fault soak, small: a few hundred changes through ONE pipeline on moto server, under faults.

`make soak-sync` runs the same scenario (tools/sim/sync_faults.py) at 10,000 changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tools.sim import moto_server
from tools.sim.soak_sync import verdict
from tools.sim.sync_faults import fault_pipeline, run_fault_scenario


@pytest.fixture(scope="module")
def result() -> Iterator[dict[str, Any]]:
    with moto_server():
        yield run_fault_scenario(fault_pipeline("soak-test"), changes=300, seed=11)


def test_no_change_is_lost_and_none_confirmed_that_the_target_did_not_hold(result: dict[str, Any]) -> None:
    """SQS throttling, partial SendMessageBatch failures and outages, an unavailable target, refused
    visibility changes, malformed records, a sync that delays, loses and stops: each change is
    verified or dead-lettered, and a confirmed change was in the target (that version or newer,
    or gone for a removal) when it was confirmed.

    SendMessageBatch partial failures: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
    Partial batch responses: https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
    """
    assert verdict(result) == []
    assert result["lost"] == [] and result["wrongly_confirmed"] == []
    assert result["verified"] + result["dead_lettered"] == result["changes"]
    assert result["verified"] > 0 and result["dead_lettered"] > 0


def test_every_dead_lettered_change_was_missed_by_the_sync_and_carries_its_reason(result: dict[str, Any]) -> None:
    """The DLQ holds exactly what the sync never delivered (and the malformed records), each with
    the reason in its message attribute; none is left for SQS's redrive to move without one.

    Dead-letter queues and maxReceiveCount: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    """
    assert result["dlq_without_reason"] == 0
    assert result["wrongly_dead_lettered"] == []
    assert result["dead_lettered"] == len(result["missed_by_replica"])
    assert all(reason.startswith("not synced within 24 h") for reason in result["dead_letter_reasons"])
    # Injected malformed records are not in the stream: those in a range sent to the on-failure
    # queue cannot be replayed (real malformed records are, and go to the DLQ then).
    assert result["malformed_in_dlq"] + result["malformed_unreplayable"] == result["malformed_injected"]


def test_binary_keys_hot_keys_and_removals_are_part_of_the_run(result: dict[str, Any]) -> None:
    """Every key has a binary sort key (B, base64 text in stream events, bytes in boto3), hot keys are
    rewritten several times a minute and still confirmed within the dev lag objective (15 min).

    AttributeValue B: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_AttributeValue.html
    """
    assert result["binary_keys"] == result["changes"]
    assert result["removals"] > 0
    assert result["hot_key_confirmations"] > 0
    assert result["hot_key_lag_max_seconds"] <= 15 * 60


def test_the_canary_alarm_fires_while_the_sync_worker_is_dead_and_clears_after(result: dict[str, Any]) -> None:
    """The dev sync stack's canary alarm (from its synthesized template: FILL(CanaryVerified, 0) < 1
    for 15 of 15 minutes), evaluated by tools.gates.detect over the verifier's EMF data points: OK
    before, ALARM within 15 minutes of the last verified canary plus the metric delay, OK after.

    Alarm evaluation: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html
    Embedded metric format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
    """
    canary = result["canary_alarm"]
    assert canary["state_when_worker_died"] == "OK"
    assert canary["fired_after_death_seconds"] is not None
    assert canary["fired_after_death_seconds"] <= (15 + 2) * 60
    assert canary["cleared_after_revival_seconds"] is not None
    assert canary["false_alarms"] == 0
