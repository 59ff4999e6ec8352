"""Verifier: checks each change on the verification queue against the sync target.

Per change, one of:

- synced: the message is deleted (a successful batch item); ``ChangesVerified`` and the sync
  lag (``SyncLagSeconds``, seconds from the change to its verification) are published, and
  ``CanaryVerified`` for the canary item;
- not yet: the message stays (a batch item failure) and becomes visible again after a backoff
  that doubles with each receive (grace period x 2^(receives-1), at most what SQS grants from
  the message's receive, never past the change's deadline; see visibility.py);
- failed, malformed, or not synced within the maximum sync lag: sent to the verification DLQ
  explicitly, with the reason in a message attribute, then deleted.

Every invocation publishes ``PendingChangeAgeSeconds`` (the oldest change this environment
knows to be pending, 0 if none) and ``FailedRecords`` (records whose handling failed: the DLQ could not be
reached, or SQS refused the backoff; partial batch failures are successful invocations, which
Lambda's ``Errors`` never counts).

Idempotent: checking a change twice gives the same answer; the target is only read. The work
is done by ``verification.verify()``; this module is the Powertools shell around it.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from genba_shell import batch_shell
from genba_sync import NAMESPACE
from http_auth import make_auth
from targets import DynamoDbTarget, HttpTarget, LambdaTarget, OpenSearchTarget
from verification import Target, VerifierRuntime, VerifierSettings, verify

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

shell = batch_shell(EventType.SQS, namespace=NAMESPACE)
logger, metrics, tracer, processor = shell.logger, shell.metrics, shell.tracer, shell.processor


#: What an invocation works with: the deployed client, target and settings, or the simulator's.
Runtime = VerifierRuntime


def make_target(settings: VerifierSettings, client: Callable[[str], Any] = boto3.client) -> Target:
    """The sync target the construct configured (kind and JSON config in the environment)."""
    config = settings.target_config
    if settings.target_kind == "dynamodb":
        return DynamoDbTarget(
            dynamodb=client("dynamodb"),
            table_name=config["table_name"],
            version_attribute=config.get("version_attribute", "version"),
            source_table_name=settings.source_table_name,
        )
    if settings.target_kind == "opensearch":
        session = boto3.session.Session()
        return OpenSearchTarget(
            endpoint=config["endpoint"],
            index=config["index"],
            version_field=config.get("version_field", "version"),
            service=config.get("service", "es"),
            region=session.region_name,
            credentials=session.get_credentials(),
            dynamodb=client("dynamodb"),
            source_table_name=settings.source_table_name,
            version_attribute=settings.version_attribute,
        )
    if settings.target_kind == "http":
        return HttpTarget(
            url=config["url"],
            timeout_seconds=float(config.get("timeout_seconds", 10)),
            auth=make_auth(config.get("auth"), session=boto3.session.Session(), client=client),
        )
    if settings.target_kind == "lambda":
        return LambdaTarget(lambda_client=client("lambda"), function_name=config["function_name"])
    raise ValueError(f"unknown sync target kind {settings.target_kind!r}")


@functools.cache
def deployed() -> Runtime:
    """The function's own client, target and settings, made once per execution environment."""
    settings = VerifierSettings.from_environ(os.environ)
    return Runtime(sqs=boto3.client("sqs"), target=make_target(settings), settings=settings)


class NotSyncedYet(RuntimeError):
    """The change is not in the target yet: the message stays on the queue, backing off."""


@shell.entry
def handler(
    event: dict[str, Any], context: LambdaContext, runtime: Runtime | None = None
) -> PartialItemFailureResponse:
    invoked_at = time.time()
    run = runtime or deployed()
    result = verify(
        event.get("Records") or [], run, logger=logger, invoked_at=invoked_at if runtime is None else run.clock()
    )
    shell.add_metrics(result.metrics)
    logger.info("verification batch done", extra=result.counts)
    if run.observe is not None:
        run.observe(result)

    def record_handler(record: SQSRecord) -> None:
        if record.message_id in result.keep:
            raise NotSyncedYet("not synced yet")

    return shell.respond(event, record_handler, context)
