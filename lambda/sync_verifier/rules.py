"""When is a change synced? Only when the target is seen to hold it (or something newer of it).

The rules, for one change and what the target holds for its key (a :class:`Copy`):

1. The target holds this change's own image (same content hash), or, for a removal, holds no
   item: synced.
2. A removal is also synced when the target holds a version above the removed one: only a
   later incarnation of the key can be there (the removed item never got past that version).
3. Otherwise the source is read (consistently, after the change was made) and the change is
   synced when the target holds the source's *current* state: both gone, or the same content
   (the same version, for targets that transform items and keep no comparable content), or a
   version newer than this change that is still within the source's current item
   (``change < target <= source``). This is how a hot key (rewritten faster than it is
   verified) is confirmed: a newer change that the target is seen to hold confirms the older.
   A target version above the source's current one is an item from before a delete (delete and
   recreate with the version restarting): never synced.
4. The source having moved on never confirms anything: the target must show it.

A change without a numeric version (``version_problem`` says why) is judged by content only;
targets that hold no comparable content (OpenSearch) fail it with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SYNCED = "synced"
NOT_YET = "not_yet"
FAILED = "failed"
STATUSES = frozenset({SYNCED, NOT_YET, FAILED})


@dataclass(frozen=True)
class Change:
    """One verification message, parsed (``key`` in typed form, B values as base64 text)."""

    id: str
    key: dict[str, dict[str, Any]]
    key_text: str
    sequence: str
    version: int | float | None
    event_name: str
    event_time: float
    canary: bool = False
    image_hash: str | None = None
    version_problem: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "sequence": self.sequence,
            "version": self.version,
            "image_hash": self.image_hash,
            "event_name": self.event_name,
            "event_time": self.event_time,
        }


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str = ""


@dataclass(frozen=True)
class Copy:
    """What a table (the target, or the source) holds for a key: nothing, or a version and a content hash.

    ``hash`` is None where the content cannot be compared (an OpenSearch document).
    """

    present: bool
    version: int | float | None = None
    hash: str | None = None


ABSENT = Copy(present=False)


def first_look(change: Change, target: Copy) -> Outcome | None:
    """Rules 1 and 2 (the target alone); None: the source must be read to decide."""
    wanted = change.version
    if change.event_name == "REMOVE":
        if not target.present:
            return Outcome(SYNCED, "gone from the target")
        if wanted is not None and target.version is not None and target.version > wanted:
            return Outcome(SYNCED, f"the target holds a later item (version {target.version} > removed {wanted})")
        return None
    if not target.present:
        return None
    if change.image_hash is not None and target.hash is not None and target.hash == change.image_hash:
        return Outcome(SYNCED, "the target holds this change's image")
    if target.hash is None and wanted is not None and target.version == wanted:
        return Outcome(SYNCED, f"the target holds version {wanted}")
    return None


def judge(change: Change, target: Copy, source: Copy) -> Outcome:
    """All the rules, with the source's current state read after the change."""
    if (decided := first_look(change, target)) is not None:
        return decided
    if not source.present and not target.present:
        return Outcome(SYNCED, "removed at the source and gone from the target")
    if source.present and target.present:
        if target.hash is not None and source.hash is not None:
            if target.hash == source.hash:
                return Outcome(SYNCED, "the target holds the source's current item")
        elif target.version is not None and target.version == source.version:
            return Outcome(SYNCED, f"the target holds the source's current version {source.version}")
        wanted, held, current = change.version, target.version, source.version
        if (
            change.event_name != "REMOVE"
            and wanted is not None
            and held is not None
            and current is not None
            and wanted < held <= current
        ):
            return Outcome(SYNCED, f"the target holds version {held}, newer than this change ({wanted})")
    return Outcome(NOT_YET, _why_not(change, target, source))


def _why_not(change: Change, target: Copy, source: Copy) -> str:
    wanted, held = change.version, target.version
    if change.event_name == "REMOVE":
        return f"removed at the source, still in the target (version {held})"
    if not target.present:
        if change.version_problem is not None:
            return f"missing in the target ({change.version_problem}; checked by content)"
        return f"missing in the target (version {wanted})" if wanted is not None else "missing in the target"
    if not source.present:
        return f"deleted at the source, still in the target (version {held})"
    if held is not None and source.version is not None and held > source.version:
        return (
            f"the target has version {held}, above the source's current {source.version}: an item from before "
            "a delete (delete and recreate not synced)"
        )
    if change.version_problem is not None:
        return (
            f"{change.version_problem}: checked by content, and the target's copy matches neither this "
            "change's image nor the source's current item"
        )
    if wanted is None:
        return f"target has version {held}, source has {source.version}"
    return f"target has version {held}, change has {wanted}"
