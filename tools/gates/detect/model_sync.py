"""The model's queues (SQS) and sync pipeline (stream, forwarder, verifier, replay, canary).

It follows the handlers (lambda/sync_verifier/, lambda/sync_forwarder/, lambda/sync_replay/):

* the verifier confirms only what the *target* shows (rules.py): with the sync worker dead,
  nothing written after ``T0`` - the canary included - is ever verified, so ``CanaryVerified``
  is no longer published;
* every verifier invocation publishes ``PendingChangeAgeSeconds``, the oldest change its
  execution environment knows to be pending, 0 when none (verification.py, visibility.py's
  PendingRegistry). The verifier is invoked when a message arrives (each real change while
  the table is busy, each canary) - the model has one execution environment, which sees every
  pending change;
* a change not synced within ``max_sync_lag`` is sent to the verification DLQ with its reason
  on the look just after its deadline (the backoff never passes the deadline);
* SQS leaves a message received three or more times out of ``ApproximateAgeOfOldestMessage``.
"""

from __future__ import annotations

from tools.gates.detect.service import HOUR, MINUTE, T0, ModelBase


class SyncModel(ModelBase):
    # ---- queues: SQS, every 5 minutes
    def _queues(self, t: int) -> None:
        since = t - T0
        active = self.active(t)
        max_lag = self.service.max_sync_lag_hours * HOUR
        for key in self.keys("ApproximateNumberOfMessagesVisible", "AWS/SQS"):
            role = self.readers(key)
            waiting = active and (
                ("alarm-notifications" in role and self.faults.alarm_topic_failing)
                or ("stream-failure-dlq" in role and self.faults.replay_cannot_fix and since >= 3 * 5 * MINUTE)
                or ("verification-dlq" in role and self._never_synced() and since >= max_lag)
            )
            self.store.put(key, t, 1.0 if waiting else 0.0, delay=5 * MINUTE)
        for key in self.keys("ApproximateAgeOfOldestMessage", "AWS/SQS"):
            role = self.readers(key)
            age = 30.0
            if active and "stream-failures" in role and self.faults.replay_cannot_fix:
                # After three failed replays (one every visibility timeout, 5 minutes here) the age falls back.
                age = float(since) if since < 15 * MINUTE else 0.0
            elif active and "verification-queue" in role and self._never_synced():
                # The verifier receives a pending change again at each recheck (grace, then
                # doubling): from its third receive on the change is out of the metric.
                age = float(since) if since < 3 * MINUTE else 30.0
            self.store.put(key, t, age, delay=5 * MINUTE)

    def _never_synced(self) -> bool:
        """Some change written from T0 on never reaches the target."""
        return self.faults.change_never_synced or self.faults.sync_worker_dead

    # ---- sync: stream, forwarder, verifier, canary
    def _sync(self, t: int) -> None:
        active = self.active(t)
        traffic = self.faults.table_traffic or not active
        stuck = self.faults.stream_stuck and active
        # A stuck shard invokes nothing: Lambda publishes no IteratorAge for it, busy or not.
        if traffic and not stuck:
            self.put_each("IteratorAge", "AWS/Lambda", t + 30, 200.0, MINUTE)
        self.put_each("Errors", "AWS/Lambda", t + 30, 0.0, MINUTE)
        canary = t % (self.service.canary_interval_minutes * MINUTE) == 0
        worker_dead = self.faults.sync_worker_dead and active
        if canary and not stuck and not worker_dead:
            # Verified once the target holds it: a stuck stream or a dead sync worker stops that.
            self.put_each("CanaryVerified", None, t + 60, 1.0, MINUTE)
        self._replay_and_forwarding(t, traffic and not stuck)
        if (traffic or canary) and not stuck:
            # A verifier invocation: it publishes the oldest change it knows pending (0: none).
            self.put_each("PendingChangeAgeSeconds", None, t + 30, self._oldest_pending(t), MINUTE)

    def _oldest_pending(self, t: int) -> float:
        since = t - T0
        if not self.active(t) or not self._never_synced():
            return 0.0
        # The first change of T0 (the canary written then, or the one never synced) is the oldest;
        # past max_sync_lag it is in the DLQ and no longer pending.
        return float(since) if since < self.service.max_sync_lag_hours * HOUR else 0.0

    def _replay_and_forwarding(self, t: int, forwarding: bool) -> None:
        """The handlers' own record-level metrics: failed records, what replay owes, real changes."""
        if forwarding:
            self.put_each("SourceChangesForwarded", None, t + 30, 50.0, MINUTE)  # the canary excluded
            self.put_each("ChangesNotForwarded", None, t + 30, 0.0, MINUTE)
        since = t - T0
        # A range replay cannot finish is received again every visibility timeout (12 minutes) and
        # each invocation publishes the age of the range it owes (its records arrived ~6 h before).
        if self.active(t) and self.faults.replay_cannot_fix and since % (12 * MINUTE) == 0:
            self.put_each("ReplayOwedAgeSeconds", None, t + 30, float(6 * HOUR + since), MINUTE)
            self.put_each("ReplayRangesFailed", None, t + 30, 1.0, MINUTE)
