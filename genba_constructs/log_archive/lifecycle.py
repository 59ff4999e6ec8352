"""The archive's life cycle as one typed value, and every rule about it (written once).

:class:`ArchiveLifecycle` says how long archived objects are kept, when they move to
colder storage classes and how long object lock protects each version. ``LogArchive``
builds one from its flat keyword props and raises its first problem; ``stacks/config.py``
builds the same object from ``logging.archive_*`` and reports the problem under the
config key. The bounds are data here, so the config loader's range checks read them too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from genba_constructs._shared_props import grouped
from genba_constructs._validation import is_unresolved

ObjectLockMode = Literal["governance", "compliance"]

#: (minimum, maximum) of each day count, in the order the construct checks them.
LIFECYCLE_BOUNDS: dict[str, tuple[int, int]] = {
    "object_lock_days": (1, 36500),
    "expire_after_days": (1, 36500),
    # S3 moves objects to Standard-IA no sooner than 30 days after creation.
    "infrequent_access_after_days": (30, 36500),
    "glacier_after_days": (1, 36500),
    "noncurrent_versions_expire_after_days": (1, 36500),
}
#: the props of a new bucket's life cycle (which an existing bucket rules out), in the order errors name them.
LIFECYCLE_PROPS = ("object_lock_mode", *LIFECYCLE_BOUNDS)

#: (minimum, maximum) of the Athena settings LogArchive and the config loader both check.
QUERY_BOUNDS: dict[str, tuple[int, int]] = {
    "athena_bytes_scanned_cutoff_gb": (1, 1024),
    "athena_results_expire_after_days": (1, 3650),
}


def range_problem(value: Any, bounds: tuple[int, int]) -> str | None:
    """Why ``value`` is outside ``bounds`` (None when inside, or a token known only at deploy time)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and is_unresolved(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    minimum, maximum = bounds
    return None if minimum <= value <= maximum else f"must be between {minimum:g} and {maximum:g}"


def _known(*values: int) -> bool:
    return not any(is_unresolved(value) for value in values)


@dataclass(frozen=True)
class ArchiveLifecycle:
    """How long the archive keeps objects, and where.

    :param expire_after_days: end of life of archived objects. Default: 2557 (7 years).
    :param infrequent_access_after_days: move to Standard-IA after (30 at the earliest). Default: 30.
    :param glacier_after_days: move to Glacier Instant Retrieval (which Athena reads) after. Default: 90.
    :param object_lock_days: default retention of every object version. Default: 30.
    :param object_lock_mode: ``"governance"`` or ``"compliance"``. Default: None (compliance in
        production, governance elsewhere: see :meth:`lock_mode`).
    :param noncurrent_versions_expire_after_days: delete replaced/deleted versions after. Default: 30.
    """

    expire_after_days: int = 2557
    infrequent_access_after_days: int = 30
    glacier_after_days: int = 90
    object_lock_days: int = 30
    object_lock_mode: ObjectLockMode | None = None
    noncurrent_versions_expire_after_days: int = 30

    @classmethod
    def of(cls, props: Mapping[str, Any]) -> ArchiveLifecycle:
        """A life cycle from a construct's flat optional props (its ``locals()``): None keeps the default."""
        return grouped(cls, {prop: value for prop, value in props.items() if value is not None})

    def lock_mode(self, *, production: bool) -> ObjectLockMode:
        """The object lock mode: the one given, else compliance in production and governance elsewhere."""
        return self.object_lock_mode or ("compliance" if production else "governance")

    def problems(self, *, prefix: str = "") -> Iterator[tuple[str, Any, str]]:
        """Every reason S3 would refuse (or genba regret) this life cycle: (prop, value, problem).

        :param prefix: put before every prop name yielded and mentioned (the config loader's
            ``archive_``). Default: none.
        """
        for prop, bounds in LIFECYCLE_BOUNDS.items():
            value = getattr(self, prop)
            problem = range_problem(value, bounds)
            if problem:
                yield f"{prefix}{prop}", value, problem
        ia, glacier = self.infrequent_access_after_days, self.glacier_after_days
        expire, lock = self.expire_after_days, self.object_lock_days
        if _known(ia, glacier) and glacier <= ia:
            yield f"{prefix}glacier_after_days", glacier, f"must be after {prefix}infrequent_access_after_days ({ia})"
        if _known(glacier, expire) and expire <= glacier:
            yield f"{prefix}expire_after_days", expire, f"must be after {prefix}glacier_after_days ({glacier})"
        if _known(lock, expire) and lock > expire:
            yield f"{prefix}object_lock_days", lock, f"is longer than {prefix}expire_after_days ({expire})"
        if self.object_lock_mode not in (None, "governance", "compliance"):
            yield f"{prefix}object_lock_mode", self.object_lock_mode, "must be 'governance' or 'compliance'"
