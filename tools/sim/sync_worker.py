"""The sync under test: a worker that copies the source's changes to the replica, losing some on purpose."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.sim.pipeline import Pipeline

VERSION = "version"


def write_batch(dynamodb: Any, table: str, requests: list[dict[str, Any]]) -> None:
    """``requests`` in order, 25 per BatchWriteItem, never two on one key in a call; unprocessed items resent."""
    from genba_sync import item_hash

    batch: list[dict[str, Any]] = []
    keys: set[str] = set()

    def flush() -> None:
        pending = {table: list(batch)}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        batch.clear()
        keys.clear()

    for request in requests:
        key = request["DeleteRequest"]["Key"] if "DeleteRequest" in request else request["PutRequest"]["Item"]
        key_id = item_hash({name: key[name] for name in ("pk", "sk") if name in key})
        if key_id in keys or len(batch) == 25:
            flush()
        batch.append(request)
        keys.add(key_id)
    if batch:
        flush()


class LossySyncWorker:
    """The sync under test: copies stream changes to the replica, losing and delaying some on purpose."""

    def __init__(self, pipeline: Pipeline, *, lose: float = 0.0, delay: float = 0.0, seed: int = 7) -> None:
        self.pipeline = pipeline
        self.random = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
        self.lose = lose
        self.delay = delay
        self.lost: dict[str, str] = {}  # sequence -> key text
        self.delayed: list[dict[str, Any]] = []
        self.delayed_total = 0
        # What the replica holds, per key id (genba_sync.item_hash of the key): version, or None when
        # absent. The replica's only writer is this worker, so this mirror is exact.
        self.held: dict[str, int | None] = {}
        # A dead worker copies nothing; its stream position stays, so it resumes where it stopped.
        self.stopped = False
        self.backlog: list[dict[str, Any]] = []

    def stop(self) -> None:
        self.stopped = True

    def resume(self) -> None:
        self.stopped = False
        backlog, self.backlog = self.backlog, []
        self.apply(backlog)

    def holds(self, key: dict[str, Any]) -> int | None:
        """The version the replica holds for ``key`` (None: absent)."""
        from genba_sync import item_hash

        return self.held.get(item_hash(key))

    def apply(self, records: list[dict[str, Any]]) -> None:
        if self.stopped:
            self.backlog += records
            return
        copies: list[dict[str, Any]] = []
        for record in records:
            roll = self.random.random()
            if roll < self.lose:
                self.lost[record["dynamodb"]["SequenceNumber"]] = record["dynamodb"]["Keys"]["pk"]["S"]
            elif roll < self.lose + self.delay:
                self.delayed.append(record)
                self.delayed_total += 1
            else:
                copies.append(record)
        self._copy(copies)

    def catch_up(self) -> None:
        delayed, self.delayed = self.delayed, []
        self._copy(delayed)

    def _copy(self, records: list[dict[str, Any]]) -> None:
        """Copy ``records`` in order, never going back to an older version (a late copy must not undo a
        newer one: the condition ``attribute_not_exists(pk) OR version <= :v``, decided on the exact
        mirror of the replica), written with BatchWriteItem."""
        from genba_sync import item_hash

        requests: list[dict[str, Any]] = []
        for record in records:
            change = record["dynamodb"]
            key_id = item_hash(change["Keys"])
            if record["eventName"] == "REMOVE":
                requests.append({"DeleteRequest": {"Key": change["Keys"]}})
                self.held[key_id] = None
                continue
            image = change["NewImage"]
            version = int(image[VERSION]["N"])
            held = self.held.get(key_id)
            if held is not None and held > version:
                continue
            requests.append({"PutRequest": {"Item": image}})
            self.held[key_id] = version
        write_batch(self.pipeline.dynamodb, self.pipeline.replica_table, requests)
