"""A local run of the sync-verification pipeline against moto server (tests, demo, benchmark, soak).

moto cannot run event source mappings (without Docker), so ``Pipeline`` plays Lambda's part:
it reads the source table's stream with GetRecords, builds the events Lambda would build,
calls the handlers in-process (boto3 pointed at moto through ``AWS_ENDPOINT_URL``), honours
their partial batch responses (retrying a stream batch from its first failed record, then
sending its range to the on-failure queue like a stream mapping's on-failure destination;
deleting the SQS messages that succeeded). The resources it runs on are ``SyncResources``
(tools/sim/sync_resources.py); the sync it checks is ``LossySyncWorker`` (tools/sim/sync_worker.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from tools.sim.lambda_standin import (
    REGION,
    CountingClient,
    Emitted,
    FakeContext,
    handler_module,
    invoke,
    on_failure_record,
    sequence_number,
    sqs_event,
    stream_event_record,
)
from tools.sim.moto_fixes import SimulatedTimeStreams
from tools.sim.sync_resources import SyncResources
from tools.sim.sync_worker import VERSION

SERVICE = "sync-verification"


class Pipeline(SyncResources):
    """Source and replica tables, queues, handlers and a simulated Lambda service, on moto."""

    def __init__(
        self,
        *,
        name: str = "sync",
        grace_seconds: int = 0,
        max_sync_lag_seconds: int = 24 * 3600,
        stream_view: str = "NEW_AND_OLD_IMAGES",
        forwarder_batch: int = 100,
        verifier_batch: int = 100,
        forwarder_retries: int = 2,
        capture_output: bool = True,
        realistic_backoff: bool = False,
        binary_sort_key: bool = False,
        service_name: str = SERVICE,
    ) -> None:
        import boto3

        super().__init__(name=name, stream_view=stream_view, binary_sort_key=binary_sort_key)
        self.forwarder_batch = forwarder_batch
        self.verifier_batch = verifier_batch
        self.forwarder_retries = forwarder_retries
        self.capture_output = capture_output
        self.emitted = Emitted()
        os.environ.update(
            {
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": "genba/Sync",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
        )
        self.forwarder = handler_module("sync_forwarder")
        self.verifier = handler_module("sync_verifier")
        self.replay_fn = handler_module("sync_replay")
        for module in (self.forwarder, self.verifier, self.replay_fn):
            # The modules are imported once per process: their metrics' service dimension is this pipeline's.
            module.metrics.service = service_name
        from genba_sync import ENV as CONTRACT_ENV
        from visibility import PendingRegistry

        # The verifier's memory of what it left on the queue (one execution environment).
        self.pending_registry = PendingRegistry()

        # The functions' environment as the construct sets it; the handlers get settings parsed
        # from it with each call (a test may change a value between calls).
        self.environ: dict[str, str] = {
            CONTRACT_ENV["verification_queue_url"]: self.queue_url,
            CONTRACT_ENV["verification_dlq_url"]: self.dlq_url,
            CONTRACT_ENV["grace_period_seconds"]: str(grace_seconds),
            CONTRACT_ENV["max_sync_lag_seconds"]: str(max_sync_lag_seconds),
            CONTRACT_ENV["version_attribute"]: VERSION,
            CONTRACT_ENV["canary_key"]: json.dumps(self.canary_key),
            CONTRACT_ENV["source_table_name"]: self.source_table,
            CONTRACT_ENV["target_kind"]: "dynamodb",
            CONTRACT_ENV["target_config"]: json.dumps({"table_name": self.replica_table, "version_attribute": VERSION}),
        }
        self.realistic_backoff = realistic_backoff
        # Counting clients for this pipeline (tests and fault runs swap in faulty ones, and
        # install_clients() puts these back).
        self.base_clients: dict[str, Any] = {
            "forwarder_sqs": CountingClient(boto3.client("sqs", region_name=REGION)),
            "verifier_sqs": CountingClient(boto3.client("sqs", region_name=REGION)),
            "verifier_dynamodb": CountingClient(boto3.client("dynamodb", region_name=REGION)),
            "replay_sqs": CountingClient(boto3.client("sqs", region_name=REGION)),
            "replay_streams": SimulatedTimeStreams(boto3.client("dynamodbstreams", region_name=REGION), self),
        }
        self.forwarder_sqs: Any = None
        self.verifier_sqs: Any = None
        self.verifier_dynamodb: Any = None
        self.replay_sqs: Any = None
        self.replay_streams: Any = None
        # A target in place of the replica table (None: the DynamoDB target over verifier_dynamodb).
        self.verifier_target: Any = None
        # Runtime fields a test sets for the replay function (clock, sleep, max_receives).
        self.replay_overrides: dict[str, Any] = {}
        self.install_clients()
        self.verified_sequences: list[str] = []
        self.verified_lags: list[float] = []
        self.received: dict[str, dict[str, Any]] = {}
        self.unreplayable: list[dict[str, Any]] = []
        # message id -> (queue, latest receipt, simulated time its backoff ends)
        self.waiting: dict[str, tuple[str, str, float]] = {}
        self.last_results: dict[str, str] = {}
        self.last_keep: dict[str, int] = {}
        self.invocations: dict[str, int] = {}  # handler module -> invocations
        self.output_bytes = 0  # what the handlers printed (log lines and EMF): CloudWatch Logs ingestion
        # Called with each verified message's body, right after the verifier's invocation.
        self.on_verified: Callable[[dict[str, Any]], None] | None = None

    # ---- wiring -----------------------------------------------------------------------
    def install_clients(self) -> None:
        """The pipeline's own (counting, fault-free) clients and the replica table as the target."""
        for name, client in self.base_clients.items():
            setattr(self, name, client)
        self.verifier_target = None

    def forwarder_runtime(self) -> Any:
        from genba_sync import ForwardSettings

        return self.forwarder.Runtime(
            sqs=self.forwarder_sqs,
            settings=ForwardSettings.from_environ(self.environ),
            clock=self.clock,
            sleep=self.sleep,
        )

    def verifier_runtime(self) -> Any:
        from verification import VerifierSettings

        # Tests re-check a change at once; long runs keep the deployed backoff (1, 2, 4... s with
        # no grace period) so that changes not synced yet stop being re-read, and fast_forward()
        # plays the passing of time.
        settings = VerifierSettings.from_environ(self.environ, backoff_floor_seconds=1 if self.realistic_backoff else 0)
        target = self.verifier_target or self.verifier.make_target(settings, lambda name: self.verifier_dynamodb)

        def observe(result: Any) -> None:
            self.last_results = dict(result.outcomes)
            self.last_keep = dict(result.keep)

        return self.verifier.Runtime(
            sqs=self.verifier_sqs,
            target=target,
            settings=settings,
            clock=self.clock,
            observe=observe,
            pending=self.pending_registry,
        )

    def replay_runtime(self) -> Any:
        from genba_sync import ForwardSettings

        overrides = {"clock": self.clock, "sleep": self.sleep} | self.replay_overrides
        return self.replay_fn.Runtime(
            streams=self.replay_streams,
            sqs=self.replay_sqs,
            settings=ForwardSettings.from_environ(self.environ),
            **overrides,
        )

    def runtime(self, module: ModuleType) -> Any:
        """The clients, target, settings and clock the pipeline passes to a handler."""
        if module is self.forwarder:
            return self.forwarder_runtime()
        if module is self.verifier:
            return self.verifier_runtime()
        return self.replay_runtime()

    def _call(self, module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
        runtime = self.runtime(module)
        at = self.clock()
        self.invocations[module.__name__] = self.invocations.get(module.__name__, 0) + 1
        if not self.capture_output:
            return module.handler(event, FakeContext(), runtime=runtime)  # type: ignore[no-any-return]
        response, output = invoke(module, event, runtime)
        self.output_bytes += len(output.encode())
        self.emitted.feed(output, at=at)
        return response

    def lambda_stream_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A GetRecords record as Lambda delivers it, stamped with the simulated time it was written."""
        offset = self.record_offsets.get(str(record["dynamodb"].get("SequenceNumber")), self.clock_offset)
        return stream_event_record(record, stream_arn=self.stream_arn, offset=offset)

    # ---- forwarder (stream mapping) ----------------------------------------------------
    def run_forwarder(self, records: list[dict[str, Any]]) -> dict[str, int]:
        """Deliver records like a stream mapping: batches, partial-failure retries, on-failure destination."""
        stats = {"invocations": 0, "on_failure": 0}
        for start in range(0, len(records), self.forwarder_batch):
            batch = records[start : start + self.forwarder_batch]
            events = [r if "eventSourceARN" in r else self.lambda_stream_record(r) for r in batch]
            attempts = 0
            while events:
                stats["invocations"] += 1
                response = self._call(self.forwarder, {"Records": events})
                failures = [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]
                if not failures:
                    break
                # Lambda retries from the lowest failed sequence number; an identifier that is not
                # one (a malformed record) makes it retry the whole batch.
                first = min(int(f) if str(f).isdigit() else -1 for f in failures)
                remaining = [e for e in events if sequence_number(e) >= first or sequence_number(e) < 0]
                attempts += 1
                if attempts > self.forwarder_retries:
                    self._on_failure(remaining, batch)
                    stats["on_failure"] += 1
                    break
                events = remaining
        return stats

    def _on_failure(self, events: list[dict[str, Any]], batch: list[dict[str, Any]]) -> None:
        # The range is the stream's: records injected by a test (not from the stream) are not in it.
        from_stream = [e for e in events if e.get("eventSource") == "aws:dynamodb"]
        sequences = [n for n in map(sequence_number, from_stream) if n >= 0]
        if not sequences:
            return
        shard = next((r.get("_shard") for r in batch if r.get("_shard")), None)
        if shard is None:
            shard = next(iter(self.shard_iterators))
        message = on_failure_record(
            sequences,
            batch_size=len(events),
            shard=shard,
            stream_arn=self.stream_arn,
            attempts=self.forwarder_retries + 1,
        )
        self.sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(message))

    # ---- SQS-fed functions (verifier, replay) ------------------------------------------
    #: ReceiveMessage's messages as Lambda's SQS event source delivers them (tools.sim.sqs_event).
    sqs_event = staticmethod(sqs_event)

    def _run_sqs_function(self, module: ModuleType, queue_url: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
        messages = self._receive(queue_url, limit)
        if not messages:
            return 0, []
        response = self._call(module, sqs_event(messages, f"arn:aws:sqs:{REGION}:123456789012:q"))
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        keep = self.last_keep if module is self.verifier else {}
        now = self.clock()
        for message in messages:  # the latest receipt of each message left on the queue, and its next look
            if message["MessageId"] in failed:
                back = now + max(0, keep.get(message["MessageId"], 0))
                self.waiting[message["MessageId"]] = (queue_url, message["ReceiptHandle"], back)
            else:
                self.waiting.pop(message["MessageId"], None)
        for start in range(0, len(done), 10):  # what the SQS event source mapping does after success
            self.sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages), done

    def run_verifier_once(self) -> int:
        """One verifier invocation; returns how many messages it finished (verified or sent to the DLQ)."""
        _, done = self._run_sqs_function(self.verifier, self.queue_url, self.verifier_batch)
        results = self.last_results
        for message in done:
            if results.get(message["MessageId"]) != "verified":
                continue
            body = json.loads(message["Body"])
            self.received[message["MessageId"]] = body
            self.verified_sequences.append(str(body["sequence"]))
            self.verified_lags.append(self.clock() - float(body["event_time"]))
            if self.on_verified is not None:
                self.on_verified(body)
        return len(done)

    def run_replay_once(self) -> int:
        received, _ = self._run_sqs_function(self.replay_fn, self.on_failure_url, 10)
        return received

    def drain(self, *, rounds: int = 100_000, wait_seconds: float = 15.0) -> None:
        """Run replay and verifier until neither finishes anything more and nothing is in flight
        (what is left is not synced yet)."""
        waited = 0.0
        for _ in range(rounds):
            replayed = self.run_replay_once()
            finished = self.run_verifier_once()
            if replayed or finished:
                continue
            if waited < wait_seconds and self.in_flight():
                time.sleep(0.25)
                waited += 0.25
                continue
            return

    def fast_forward(self, seconds: float = 0.0) -> int:
        """``seconds`` of simulated time pass: each message whose backoff has ended by then is made
        visible again (moto's visibility runs on real time). Returns how many.

        Only those: a change the sync lost is looked at again 1, 2, 4... s after each look, as in
        AWS, not at every step of the run (which re-read every pending change per chunk).
        """
        self.clock_offset += max(0.0, seconds)
        now = self.clock()
        due = {mid: entry for mid, entry in self.waiting.items() if entry[2] <= now}
        by_queue: dict[str, list[str]] = {}
        for message_id, (queue_url, receipt, _) in due.items():
            del self.waiting[message_id]
            by_queue.setdefault(queue_url, []).append(receipt)
        for queue_url, receipts in by_queue.items():
            for start in range(0, len(receipts), 10):
                # A receipt that is stale (deleted, or received again) fails alone: nothing to do.
                with contextlib.suppress(Exception):
                    self.sqs.change_message_visibility_batch(
                        QueueUrl=queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0}
                            for i, r in enumerate(receipts[start : start + 10])
                        ],
                    )
        return len(due)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]
