"""The generated reference pages match the code (`make docs` refreshes them), like the snapshots."""

from __future__ import annotations

from tools import alarm_docs, config_docs

REFRESH = "stale: run `make docs` and commit the result"


def test_configuration_reference_is_up_to_date() -> None:
    assert config_docs.CONFIGURATION.read_text() == config_docs.render(), f"docs/configuration.md is {REFRESH}"


def test_configuration_reference_lists_every_key_of_every_section() -> None:
    import dataclasses

    from stacks.config import EnvironmentConfig

    text = config_docs.CONFIGURATION.read_text()
    for path, cls, _ in config_docs.sections(EnvironmentConfig, "genba.environments.<env>"):
        assert f"## `{path}`" in text
        for f in dataclasses.fields(cls):
            if not f.metadata.get("from_key"):
                assert f"| `{f.name}` |" in text, f"{path}.{f.name}"


def test_alarm_reference_is_up_to_date() -> None:
    assert alarm_docs.ALARMS.read_text() == alarm_docs.render(), f"docs/alarms.md is {REFRESH}"


def test_alarm_reference_names_every_alarm_of_every_environment() -> None:
    text = alarm_docs.ALARMS.read_text()
    missing = [
        alarm.alarm_name
        for records in alarm_docs.environment_records().values()
        for alarm in records
        if f"`genba-<env>-{alarm.subject}-{alarm.spec.runbook}-{alarm.severity.value}`" not in text
    ]
    assert missing == []
