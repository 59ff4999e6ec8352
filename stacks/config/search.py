"""The ``search`` section: the log search domain (OpenSearch) of one environment."""

from __future__ import annotations

from dataclasses import dataclass

from genba_constructs.log_search import SearchSizing
from stacks.config.settings import PERCENT, RETENTION, in_range, matches, one_of, setting


@dataclass(frozen=True)
class SearchConfig(SearchSizing):
    """The log search domain of one environment (sizing checked by genba_constructs.SearchSizing).

    :param instance_type: data node instance type, ``<family>.<size>.search``.
    :param data_nodes: data nodes (a multiple of the zone count).
    :param volume_gib: EBS storage per data node, GiB.
    :param availability_zones: zones the data nodes are spread over.
    :param master_instance_type: dedicated master instance type (with ``master_nodes``).
    :param master_nodes: dedicated masters: 0, 3 or 5.
    :param multi_az_with_standby: Multi-AZ with Standby (needs three zones and dedicated masters).
    :param index_retention_days: indices older than this are deleted (the ISM policy).
    :param log_retention_days: retention of the domain's slow, error and audit log groups.
    :param free_storage_alarm_percent: ``opensearch-free-storage`` fires at or below this share of
        one node's storage.
    :param cpu_alarm_percent: ``opensearch-cpu`` threshold (Maximum, 3 x 15 minutes).
    :param jvm_memory_pressure_alarm_percent: ``opensearch-jvm-memory`` threshold (Maximum, 3 x 1 minute).
    :param master_principal_arns: IAM role ARNs allowed to assume the domain's fine-grained-access
        master role (an SSO permission-set role); none: no person can, only the ISM function.

    The section is the SearchSizing LogSearch takes: the sizing keys are SearchSizing's own
    fields (the ones below add the loader's range checks), and its ``problems()`` are the
    section's rules.
    """

    data_nodes: int = setting(1, check=in_range(1, 1000))
    volume_gib: int = setting(10, check=in_range(10, 24576))
    availability_zones: int = setting(1, check=one_of((1, 2, 3), "a zone count OpenSearch offers"))
    master_nodes: int = setting(0, check=in_range(0, 5))
    index_retention_days: int = setting(30, check=in_range(1, 3650))
    log_retention_days: int = setting(30, check=RETENTION)
    free_storage_alarm_percent: float = setting(25.0, check=in_range(1, 90))
    cpu_alarm_percent: float = setting(80.0, check=PERCENT)
    jvm_memory_pressure_alarm_percent: float = setting(95.0, check=PERCENT)
    master_principal_arns: tuple[str, ...] = setting(
        (),
        check=matches(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}", "an IAM role ARN"),
    )

    @property
    def sizing(self) -> SearchSizing:
        """The domain's sizing as LogSearch takes it: the section itself."""
        return self
