"""The fault scenario of the sync-verification pipeline: every change ends verified or in the DLQ.

Injected faults: SQS throttling and partial SendMessageBatch failures (and a stretch when SQS
refuses every send, so that whole stream batches fail, reach the on-failure queue and are
replayed from the stream), an unavailable target, failing visibility changes, malformed
stream records, a sync worker that delays some changes and loses others, and a stretch when the
worker is dead (copies nothing; only the canary writes). The keys are composite (pk S, sk B:
binary keys end to end), a few hot keys are rewritten several times a minute (faster than they
are verified), some users are removed. Used by tests/test_sync_soak.py (a few hundred changes)
and ``python -m tools.sim.soak_sync`` (10,000).

Time: each chunk of changes is one simulated minute (``MINUTE``); the canary is written every 5,
as its schedule does. The canary alarm is the sync stack's own (tools/sim/canary_alarm.py).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from tools.gates.detect.evaluator import State, first_alarm
from tools.sim import canary_alarm
from tools.sim.lambda_standin import CountingClient, client_error
from tools.sim.pipeline import Pipeline, percentile
from tools.sim.sync_worker import LossySyncWorker

DAY = 24 * 3600
CHUNK = 100  # changes per simulated minute
MINUTE = 60.0
CANARY_EVERY_MINUTES = 5  # the canary schedule: rate(5 minutes)
DEAD_WORKER_MINUTES = 30
HOT_KEYS = 5
HOT_SHARE = 0.15  # of the changes: ~3 rewrites of each hot key a minute
REMOVE_SHARE = 0.03
LAG_SLO_SECONDS = 15 * 60  # cdk.json dev: sync.lag_slo_minutes


class Faults:
    """Decides, per AWS call, whether to fail it (seeded, so a run can be repeated)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)  # noqa: S311 - a simulation
        self.sqs_outage_calls = 0
        self.injected: dict[str, int] = {}

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def forwarder_sqs(self, real: Any) -> Any:
        def fault(operation: str, kwargs: dict[str, Any]) -> Any:
            if operation != "send_message_batch":
                return None
            if self.sqs_outage_calls > 0:
                self.sqs_outage_calls -= 1
                self._count("sqs outage")
                raise client_error("ServiceUnavailable", "SendMessageBatch")
            roll = self.random.random()
            if roll < 0.002:  # SQS goes away for a while: whole stream batches fail
                self.sqs_outage_calls = 40
            if roll < 0.10:
                self._count("sqs throttling")
                raise client_error("ThrottlingException", "SendMessageBatch")
            if roll < 0.20 and len(kwargs["Entries"]) > 1:
                self._count("sqs partial failure")
                entries = kwargs["Entries"]
                keep, drop = entries[: len(entries) // 2], entries[len(entries) // 2 :]
                sent = real.send_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=keep)
                failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in drop]
                return {"Successful": sent.get("Successful", []), "Failed": failed}
            return None

        return fault

    def verifier_sqs(self) -> Any:
        def fault(operation: str, kwargs: dict[str, Any]) -> Any:
            if operation in {"send_message_batch", "change_message_visibility_batch"} and self.random.random() < 0.1:
                self._count(f"verifier {operation} failure")
                raise client_error("ThrottlingException", operation)
            return None

        return fault

    def target(self) -> Any:
        def fault(operation: str, kwargs: dict[str, Any]) -> Any:
            if operation == "batch_get_item" and self.random.random() < 0.2:
                self._count("target unavailable")
                raise client_error("ProvisionedThroughputExceededException", "BatchGetItem")
            return None

        return fault


def _malformed(index: int) -> dict[str, Any]:
    shapes = [
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": f"9{index:020d}"}},
        {
            "eventName": "UPSERT",
            "dynamodb": {"Keys": {"pk": {"S": f"bad-{index}"}}, "SequenceNumber": f"9{index:020d}"},
        },
        {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": f"bad-{index}"}}, "SequenceNumber": "none"}},
    ]
    return shapes[index % len(shapes)]


def _is_injected(event: dict[str, Any]) -> bool:
    return event.get("eventSource") != "aws:dynamodb"


def fault_pipeline(name: str) -> Pipeline:
    """The pipeline the scenario runs on: binary sort keys, the deployed backoff, and the service
    name the canary alarm's dimension names (the verifier's POWERTOOLS_SERVICE_NAME)."""
    service = canary_alarm.service_name(canary_alarm.canary_alarm())
    return Pipeline(name=name, realistic_backoff=True, binary_sort_key=True, service_name=service)


class _Scenario:
    """One run: the writes, the worker, what the target held at each confirmation."""

    def __init__(self, pipeline: Pipeline, *, seed: int, lose: float, delay: float, users: int) -> None:
        self.pipeline = pipeline
        self.worker = LossySyncWorker(pipeline, lose=lose, delay=delay, seed=seed)
        self.rng = random.Random(seed)  # noqa: S311 - a simulation
        self.users = users
        self.written: dict[str, tuple[dict[str, Any], int, str]] = {}  # sequence -> (key, version, event)
        self.versions: dict[str, int] = {}
        self.sorts: dict[str, bytes] = {}
        self.removed: set[str] = set()
        self.source_absent: set[str] = set()  # key ids removed at the source (and not written since)
        self.malformed_injected = 0
        self.canaries = 0
        self.minute = 0
        self.wrongly_confirmed: list[dict[str, Any]] = []
        self.hot_lags: list[float] = []
        pipeline.on_verified = self._confirmed

    def _confirmed(self, body: dict[str, Any]) -> None:
        from genba_sync import item_hash

        """A change was confirmed: did the target hold it (that version or newer; gone for a removal)?"""
        held = self.worker.holds(body["key"])
        version = body.get("version")
        if body["event_name"] == "REMOVE":
            right = held is None or (version is not None and held > version)
        elif held is None:
            # Gone from the target: right only when the source's current state is gone too - the
            # target then holds the newer removal (lambda/sync_verifier/rules.py, rule 3), even if
            # the worker lost this change before that removal reached the target.
            right = item_hash(body["key"]) in self.source_absent
        else:
            right = version is not None and held >= version
        if not right:
            self.wrongly_confirmed.append({"key": body["key_text"], "version": version, "target held": held})
        if body["key_text"].startswith("pk=hot-"):
            self.hot_lags.append(self.pipeline.clock() - float(body["event_time"]))

    def _sort_key(self, user: str) -> bytes:
        if user not in self.sorts:  # a third of the users have a sort key that is not UTF-8
            self.sorts[user] = self.rng.randbytes(8) if self.rng.random() < 0.33 else b"profile"
        return self.sorts[user]

    def _one_change(self, done: int) -> dict[str, Any]:
        """The next change, as a BatchWriteItem request."""
        from genba_sync import item_hash

        roll = self.rng.random()
        if roll < HOT_SHARE:
            user = f"hot-{self.rng.randrange(HOT_KEYS)}"
        elif done > CHUNK and roll < HOT_SHARE + 0.2:
            user = f"u-{self.rng.randrange(self.users)}"
        else:
            user = f"u-{done}"
        existing = not user.startswith("hot-") and user in self.versions and user not in self.removed
        if existing and self.rng.random() < REMOVE_SHARE / 0.2:  # of the rewrites of an existing user
            self.removed.add(user)
            self.source_absent.add(item_hash(self.pipeline.key(user, self._sort_key(user))))
            return {"DeleteRequest": {"Key": self.pipeline.key(user, self._sort_key(user))}}
        self.removed.discard(user)
        self.source_absent.discard(item_hash(self.pipeline.key(user, self._sort_key(user))))
        self.versions[user] = self.versions.get(user, 0) + 1  # a re-created user continues its versions
        item = self.pipeline.item(user, self.versions[user], sort=self._sort_key(user), note=f"change {done}")
        return {"PutRequest": {"Item": item}}

    def minute_passes(self, changes: int, done: int) -> None:
        """One simulated minute: ``changes`` writes (and the canary's, every 5), forwarded and drained."""
        pipeline = self.pipeline
        if self.minute % CANARY_EVERY_MINUTES == 0:
            self.canaries += 1
            pipeline.write("genba-sync-canary", self.canaries)
        pipeline.write_batch([self._one_change(done + offset) for offset in range(changes)])
        records = pipeline.read_stream()
        for record in records:
            change = record["dynamodb"]
            image = change.get("NewImage") or change.get("OldImage") or {}
            self.written[change["SequenceNumber"]] = (change["Keys"], int(image["version"]["N"]), record["eventName"])
        self.worker.apply(records)
        events: list[dict[str, Any]] = [pipeline.lambda_stream_record(r) | {"_shard": r["_shard"]} for r in records]
        if changes:
            for position in sorted(self.rng.sample(range(len(events) + 1), k=2), reverse=True):
                events.insert(position, _malformed(self.malformed_injected))
                self.malformed_injected += 1
        pipeline.run_forwarder(events)
        pipeline.drain(wait_seconds=0)  # drain as we go: moto's SQS slows with queue depth
        if self.rng.random() < 0.5:
            self.worker.catch_up()
        pipeline.fast_forward(MINUTE)  # a minute passes: what backed off that long is looked at again
        pipeline.drain(wait_seconds=0)
        self.minute += 1


def run_fault_scenario(
    pipeline: Pipeline,
    *,
    changes: int,
    seed: int = 11,
    lose: float = 0.04,
    delay: float = 0.1,
    dead_worker_minutes: int = DEAD_WORKER_MINUTES,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write ``changes`` changes through the faulty pipeline; return the counts (and what went wrong).

    Each chunk (a simulated minute) is drained, the clock moves a minute on (only the changes whose
    backoff ended are looked at again, as in AWS) and drained again, so the queue holds what is
    really not synced yet. Halfway, the sync worker is dead for ``dead_worker_minutes``: only the
    canary writes, and the canary alarm must fire; then it resumes from its stream position.
    """
    faults = Faults(seed)
    pipeline.forwarder_sqs = CountingClient(
        pipeline.forwarder_sqs._real, faults.forwarder_sqs(pipeline.forwarder_sqs._real)
    )
    pipeline.replay_sqs = CountingClient(pipeline.replay_sqs._real, faults.forwarder_sqs(pipeline.replay_sqs._real))
    pipeline.verifier_sqs = CountingClient(pipeline.verifier_sqs._real, faults.verifier_sqs())
    pipeline.verifier_dynamodb = CountingClient(pipeline.verifier_dynamodb._real, faults.target())
    run = _Scenario(pipeline, seed=seed, lose=lose, delay=delay, users=max(1, int(changes * 0.8)))
    chunks = -(-changes // CHUNK)
    dead_at = min(chunks, max(3, chunks // 2))  # after a few healthy minutes with a canary verified
    started = pipeline.clock()
    died = revived = 0.0
    done = 0
    for chunk in range(chunks + 1):
        if chunk == dead_at and dead_worker_minutes:
            run.worker.stop()
            died = pipeline.clock()
            for _ in range(dead_worker_minutes):  # only the canary writes
                run.minute_passes(0, done)
            run.worker.resume()
            revived = pipeline.clock()
        if chunk == chunks:
            break
        batch = min(CHUNK, changes - done)
        run.minute_passes(batch, done)
        done += batch
        if progress is not None:
            progress(done)
    while dead_worker_minutes and pipeline.clock() - revived < 12 * MINUTE:
        run.minute_passes(0, done)  # quiet minutes (only the canary) for the alarm to clear
    ended = pipeline.clock()

    # The sync catches up on what it delayed, the faults stop, and the clock passes the maximum lag.
    run.worker.catch_up()
    pipeline.fast_forward(MINUTE)
    pipeline.drain(wait_seconds=0)
    pipeline.install_clients()
    pipeline.fast_forward(MINUTE)
    pipeline.drain(wait_seconds=0)
    pipeline.fast_forward(DAY + 1)
    pipeline.drain(wait_seconds=0)
    return _result(run, faults, started=started, died=died, revived=revived, ended=ended)


def _canary(run: _Scenario, *, started: float, died: float, revived: float, ended: float) -> dict[str, Any]:
    """The canary alarm over the run: state when the worker died, when it fired, when it cleared."""
    alarm = canary_alarm.canary_alarm()
    (key,) = alarm.metrics
    points = [p for p in run.pipeline.emitted.points if p[1] == key.namespace and p[2] == key.name]
    if not points or not died:
        return {"alarm": alarm.name, "fired_after_death_seconds": None, "false_alarms": 0}
    first = min(at for at, *_ in points)
    # From the first canary's data point on (available a minute later, in a complete period).
    transitions = canary_alarm.evaluate(alarm, points, first + 2 * MINUTE, ended)
    fired = first_alarm(transitions, int(died))
    cleared = next((t.at for t in transitions if t.state is State.OK and t.at >= (fired.at if fired else ended)), None)
    healthy = [t for t in transitions if t.state is State.ALARM and not (died <= t.at <= revived + 20 * MINUTE)]
    return {
        "alarm": alarm.name,
        "state_when_worker_died": canary_alarm.state_at(transitions, died).value,
        "fired_after_death_seconds": None if fired is None or fired.at > revived + 20 * MINUTE else fired.at - died,
        "cleared_after_revival_seconds": None if cleared is None else cleared - revived,
        "false_alarms": len(healthy),
        "canaries_written": run.canaries,
    }


def _result(run: _Scenario, faults: Faults, **times: float) -> dict[str, Any]:
    pipeline, worker, written = run.pipeline, run.worker, run.written
    dead = pipeline.dlq_messages()
    dead_sequences: dict[str, str] = {}
    malformed_bodies: set[str] = set()  # delivered at least once: a retried batch may send one twice
    without_reason = 0
    for message in dead:
        reason = message["reason"] or ""
        without_reason += not reason
        if reason.startswith("malformed"):
            malformed_bodies.add(message["body"])
            continue
        dead_sequences[str(json.loads(message["body"])["sequence"])] = reason
    verified = set(pipeline.verified_sequences)
    missed = set()
    for sequence in worker.lost:  # lost by the sync, and nothing newer reached the replica since
        key, version, event = written[sequence]
        held = worker.holds(key)
        if (held is not None) if event == "REMOVE" else (held is None or held < version):
            missed.add(sequence)
    reasons: dict[str, int] = {}
    for reason in dead_sequences.values():
        short = reason.split(" (")[0] + (": " + reason.split(": ", 1)[1].split(" (")[0] if ": " in reason else "")
        reasons[short] = reasons.get(short, 0) + 1
    return {
        "changes": len(written),
        "removals": sum(1 for _, _, event in written.values() if event == "REMOVE"),
        "binary_keys": sum(1 for key, _, _ in written.values() if "sk" in key),
        "verified": len(verified & set(written)),
        "dead_lettered": len(set(dead_sequences) & set(written)),
        "both": sorted(verified & set(dead_sequences)),
        "lost": sorted(set(written) - verified - set(dead_sequences)),
        "wrongly_confirmed": run.wrongly_confirmed,
        "missed_by_replica": sorted(missed),
        "wrongly_dead_lettered": sorted(set(dead_sequences) - missed),
        "dlq_without_reason": without_reason,
        "delayed_by_replica": worker.delayed_total,
        "malformed_injected": run.malformed_injected,
        "malformed_in_dlq": len(malformed_bodies),
        "malformed_unreplayable": sum(1 for e in pipeline.unreplayable if _is_injected(e)),
        "hot_key_confirmations": len(run.hot_lags),
        "hot_key_lag_p99_seconds": round(percentile(run.hot_lags, 99), 1),
        "hot_key_lag_max_seconds": round(max(run.hot_lags, default=0.0), 1),
        "dead_letter_reasons": reasons,
        "injected_faults": dict(faults.injected),
        "canary_alarm": _canary(run, **times),
        "dead_examples": [
            {"key": written[s][0], "version": written[s][1], "reason": r} for s, r in list(dead_sequences.items())[:5]
        ],
    }
