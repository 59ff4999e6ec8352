"""The pipeline's queues: the verification queue and its DLQ, the stream failure queue and its DLQ.

All share one rotated KMS key (``QueueKey``), deny requests without TLS and follow the
construct's removal policy. Also ``grant_send`` (exact KMS actions) and the stream mapping's
on-failure destination.
"""

from __future__ import annotations

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from genba_constructs._secure import dead_letter_queue, rotated_key
from genba_constructs.sync_verification.timing import SyncTiming

# The replay function's timeout; the stream failure queue's visibility is six times it.
REPLAY_TIMEOUT = Duration.minutes(2)
# Receives of a failed stream range before SQS moves it to its DLQ; the replay function sets the
# range aside itself (with its reason) on this receive.
STREAM_FAILURE_MAX_RECEIVES = 10


def grant_send(grantee: iam.IGrantable, queue: sqs.IQueue) -> iam.Grant:
    """SendMessage (and SendMessageBatch) to a KMS-encrypted queue, with exact KMS actions."""
    grant = iam.Grant.add_to_principal(grantee=grantee, actions=["sqs:SendMessage"], resource_arns=[queue.queue_arn])
    if queue.encryption_master_key is not None:
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resource_arns=[queue.encryption_master_key.key_arn],
            )
        )
    return grant


@jsii.implements(lambda_.IEventSourceDlq)
class OnFailureQueue:
    """A stream mapping's on-failure destination whose send permission is granted explicitly.

    (aws-cdk-lib's ``SqsDlq`` grants ``kms:GenerateDataKey*`` and ``kms:ReEncrypt*``; genba's
    policies name exact actions.)
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        self.queue = queue

    def bind(
        self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        return lambda_.DlqDestinationConfig(destination=self.queue.queue_arn)


class SyncQueues:
    """The key and queues, made as direct children of ``scope`` (their ids are the contract)."""

    def __init__(self, scope: Construct, *, subject: str, timing: SyncTiming, removal: RemovalPolicy) -> None:
        self._scope = scope
        self._removal = removal
        self.encryption_key = rotated_key(
            scope,
            "QueueKey",
            description=f"Encrypts the sync verification queues of {Stack.of(scope).stack_name}/{subject}",
            removal=removal,
        )
        self.dead_letter_queue = self.dead_letter("DeadLetterQueue")
        self.verification_queue = self.queue(
            "Queue",
            retention=timing.queue_retention,
            visibility_timeout=timing.visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=timing.max_receive_count
            ),
        )
        self.stream_failure_dead_letter_queue = self.dead_letter("StreamFailureDeadLetterQueue")
        self.stream_failure_queue = self.queue(
            "StreamFailureQueue",
            retention=Duration.days(4),
            visibility_timeout=Duration.seconds(6 * int(REPLAY_TIMEOUT.to_seconds())),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.stream_failure_dead_letter_queue, max_receive_count=STREAM_FAILURE_MAX_RECEIVES
            ),
        )

    def queue(
        self,
        id: str,
        *,
        retention: Duration,
        visibility_timeout: Duration | None = None,
        dead_letter_queue: sqs.DeadLetterQueue | None = None,
    ) -> sqs.Queue:
        """One queue with the pipeline's key."""
        queue = sqs.Queue(
            self._scope,
            id,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.encryption_key,
            enforce_ssl=True,
            retention_period=retention,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=dead_letter_queue,
            removal_policy=self._removal,
        )
        return queue

    def dead_letter(self, id: str, *, unrecognised_use: str | None = None) -> sqs.Queue:
        """A dead-letter queue with the pipeline's key (:func:`genba_constructs._secure.dead_letter_queue`)."""
        return dead_letter_queue(
            self._scope, id, key=self.encryption_key, removal=self._removal, unrecognised_use=unrecognised_use
        )
