"""The ``logging`` section: log groups, the archive's life cycle, CloudTrail and Athena."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from genba_constructs.log_archive.lifecycle import LIFECYCLE_BOUNDS, QUERY_BOUNDS, ArchiveLifecycle, ObjectLockMode
from stacks.config.settings import RETENTION, in_range, setting


class ArchiveLifecycleProps(TypedDict):
    """ArchiveLifecycle's fields as LogArchive's keyword props (``**logging.archive_props``)."""

    expire_after_days: int
    infrequent_access_after_days: int
    glacier_after_days: int
    object_lock_days: int
    object_lock_mode: ObjectLockMode | None
    noncurrent_versions_expire_after_days: int


def _archive_setting(prop: str) -> Any:
    """``logging.archive_<prop>``: the default and the bounds LogArchive's ArchiveLifecycle has."""
    return setting(getattr(ArchiveLifecycle(), prop), check=in_range(*LIFECYCLE_BOUNDS[prop]))


@dataclass(frozen=True)
class LoggingConfig:
    """Log groups, the archive and CloudTrail of one environment.

    :param application_log_retention_days: days CloudWatch Logs keeps the application log group.
    :param audit_log_retention_days: days CloudWatch Logs keeps the audit log group (login history,
        operations on mail templates).
    :param error_lines_warning_per_5min: ERROR lines in 5 minutes that raise the ``log-errors`` warning.
    :param error_lines_critical_per_5min: ERROR lines in 5 minutes that raise the ``log-errors`` critical alarm.
    :param archive_expire_after_days: days after which archived objects expire (the end of their life).
    :param archive_infrequent_access_after_days: days after which archived objects move to Standard-IA.
    :param archive_glacier_after_days: days after which archived objects move to Glacier Instant Retrieval.
    :param archive_object_lock_days: object lock retention of archived objects, in days.
    :param archive_object_lock_mode: object lock mode. Default (none): compliance in production,
        governance elsewhere.
    :param archive_noncurrent_versions_expire_after_days: days after which noncurrent versions expire.
    :param cloudtrail_enabled: create a multi-region trail into the archive; false where an
        organization trail exists (the ``cloudtrail`` table stays, empty).
    :param athena_bytes_scanned_cutoff_gb: the Athena workgroup's per-query scan limit, enforced.
    :param athena_results_expire_after_days: days after which Athena query results expire.
    """

    application_log_retention_days: int = setting(30, check=RETENTION)
    audit_log_retention_days: int = setting(400, check=RETENTION)
    error_lines_warning_per_5min: int = setting(10, check=in_range(1, 1_000_000))
    error_lines_critical_per_5min: int = setting(100, check=in_range(1, 1_000_000))
    archive_expire_after_days: int = _archive_setting("expire_after_days")
    archive_infrequent_access_after_days: int = _archive_setting("infrequent_access_after_days")
    archive_glacier_after_days: int = _archive_setting("glacier_after_days")
    archive_object_lock_days: int = _archive_setting("object_lock_days")
    archive_object_lock_mode: Literal["governance", "compliance"] | None = None
    archive_noncurrent_versions_expire_after_days: int = _archive_setting("noncurrent_versions_expire_after_days")
    cloudtrail_enabled: bool = True
    athena_bytes_scanned_cutoff_gb: int = setting(10, check=in_range(*QUERY_BOUNDS["athena_bytes_scanned_cutoff_gb"]))
    athena_results_expire_after_days: int = setting(
        30, check=in_range(*QUERY_BOUNDS["athena_results_expire_after_days"])
    )

    @property
    def archive_props(self) -> ArchiveLifecycleProps:
        """The ``archive_*`` keys as LogArchive's life cycle props (the one place they are mapped)."""
        return ArchiveLifecycleProps(
            expire_after_days=self.archive_expire_after_days,
            infrequent_access_after_days=self.archive_infrequent_access_after_days,
            glacier_after_days=self.archive_glacier_after_days,
            object_lock_days=self.archive_object_lock_days,
            object_lock_mode=self.archive_object_lock_mode,
            noncurrent_versions_expire_after_days=self.archive_noncurrent_versions_expire_after_days,
        )

    @property
    def archive_lifecycle(self) -> ArchiveLifecycle:
        """The archive's life cycle, checked by the same rules LogArchive applies."""
        return ArchiveLifecycle(**self.archive_props)

    def problems(self) -> Iterable[tuple[str, Any, str]]:
        if self.error_lines_warning_per_5min > self.error_lines_critical_per_5min:
            yield (
                "error_lines_warning_per_5min",
                self.error_lines_warning_per_5min,
                f"is above error_lines_critical_per_5min ({self.error_lines_critical_per_5min})",
            )
        # The config keys are the LogArchive props with "archive_" in front.
        yield from self.archive_lifecycle.problems(prefix="archive_")
        for key in ("application_log_retention_days", "audit_log_retention_days"):
            if getattr(self, key) > self.archive_expire_after_days:
                yield (
                    key,
                    getattr(self, key),
                    f"is longer than archive_expire_after_days ({self.archive_expire_after_days}): "
                    "the archive must keep logs at least as long as CloudWatch does",
                )
