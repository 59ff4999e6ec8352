"""Nothing lost: every archived object stays queryable by the named queries until it expires.

Athena silently skips objects in S3 Glacier Flexible Retrieval and Deep Archive ("Querying
restored Amazon S3 Glacier objects", Athena User Guide); S3 Standard, Standard-IA, One Zone-IA
and Glacier Instant Retrieval it reads. Over every environment's synthesized logging template:
at every age within the archive's life cycle an object is in a class Athena reads, and every
table a named query reads projects partitions back to the end of that life cycle.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tools.reports.policy_audit import templates

TEMPLATES = dict(templates())
ATHENA_READS = {"STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"}


def _logging(env: str) -> dict[str, Any]:
    resources: dict[str, Any] = TEMPLATES[f"{env}/genba-{env}-logging"]["Resources"]
    return resources


def _archive_rule(env: str) -> dict[str, Any]:
    buckets = [r for r in _logging(env).values() if r["Type"] == "AWS::S3::Bucket"]
    rules = [r for b in buckets for r in b["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])]
    rule: dict[str, Any] = next(r for r in rules if r["Id"] == "colder-then-expire")
    return rule


def storage_class_at(rule: dict[str, Any], age_days: int) -> str:
    """The storage class of a current object version ``age_days`` after it was written."""
    current = "STANDARD"
    for transition in sorted(rule.get("Transitions", []), key=lambda t: t["TransitionInDays"]):
        if age_days >= transition["TransitionInDays"]:
            current = transition["StorageClass"]
    return current


@pytest.mark.parametrize("env", ["dev", "stg", "prod"])
def test_every_age_within_the_life_cycle_is_in_a_class_athena_reads(env: str) -> None:
    rule = _archive_rule(env)
    expire = rule["ExpirationInDays"]
    unreadable = {age: storage_class_at(rule, age) for age in range(expire)}
    unreadable = {age: cls for age, cls in unreadable.items() if cls not in ATHENA_READS}
    assert not unreadable, f"{env}: Athena skips objects aged {min(unreadable)}+ days ({set(unreadable.values())})"


@pytest.mark.parametrize("env", ["dev", "stg", "prod"])
def test_the_named_queries_tables_project_every_partition_within_the_life_cycle(env: str) -> None:
    resources = _logging(env)
    expire = _archive_rule(env)["ExpirationInDays"]
    tables = {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]["Parameters"]
        for r in resources.values()
        if r["Type"] == "AWS::Glue::Table"
    }
    queries = [r["Properties"]["QueryString"] for r in resources.values() if r["Type"] == "AWS::Athena::NamedQuery"]
    assert queries
    for sql in queries:
        text = sql if isinstance(sql, str) else json.dumps(sql)
        read = [name for name in tables if f'"{name}"' in text]
        assert read, f"{env}: a named query reads no archive table: {text[:80]}"
        for name in read:
            ranges = [v for k, v in tables[name].items() if k.startswith("projection.") and k.endswith(".range")]
            days = [int(m.group(1)) for v in ranges if (m := re.fullmatch(r"NOW-(\d+)DAYS,NOW", v))]
            assert days and min(days) >= expire, (
                f"{env}: table {name} projects {ranges}, the archive keeps {expire} days"
            )


def test_flexible_retrieval_would_be_caught() -> None:
    rule = {"Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}], "ExpirationInDays": 400}
    assert storage_class_at(rule, 89) == "STANDARD"
    assert storage_class_at(rule, 90) not in ATHENA_READS
