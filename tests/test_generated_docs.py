"""The generated reference pages match the code (`make docs` refreshes them), like the snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_type_hints

from stacks.config import in_range, matches, setting
from tools.reports import alarm_docs, config_docs

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


# The generator reads any section shape, not today's keys: a toy config checks each way a key is documented.
@dataclass(frozen=True)
class _Part:
    """A nested part.

    :param size: how big, from the docstring.
    """

    size: int = setting(3, check=in_range(1, 9))

    def problems(self) -> Iterator[tuple[str, Any, str]]:
        if self.size == 4:
            yield "size", self.size, "is unlucky"


@dataclass(frozen=True)
class _Toy:
    """A toy section."""

    #: from a comment above
    name: str = setting(check=matches(r"[a-z]+", "a word"))
    mode: Literal["a", "b"] | None = None  # from a trailing comment
    part: _Part = field(default_factory=_Part)
    parts: tuple[_Part, ...] = ()
    spare: _Part | None = None

    @property
    def first(self) -> _Part:
        return self.part

    def problems(self) -> Iterator[tuple[str, Any, str]]:
        for key in ("name",):
            if getattr(self, key) == "x":
                yield key, "x", f"is {len(key)} letters"
        yield from self.first.problems()


def test_the_configuration_generator_reads_any_section_shape() -> None:
    assert [(path, cls.__name__, optional) for path, cls, optional in config_docs.sections(_Toy, "t")] == [
        ("t", "_Toy", False),
        ("t.part", "_Part", False),
        ("t.parts[]", "_Part", False),
        ("t.spare", "_Part", True),
    ]
    assert config_docs.field_docs(_Toy) == {"name": "from a comment above", "mode": "from a trailing comment"}
    assert config_docs.field_docs(_Part) == {"size": "how big, from the docstring."}
    assert config_docs.rules(_Toy) == [
        "`{key}` is … letters (for each `key` in `('name',)`)",
        "`size` is unlucky (`_Part`)",
    ]
    assert config_docs.check_text(in_range(1, 10_000)) == "1 to 10,000"
    assert config_docs.check_text(matches(r"[a-z]+", "a word")) == "a word (`[a-z]+`)"
    hints = get_type_hints(_Toy)
    assert config_docs.type_text(hints["mode"]) == '"a" or "b" or null'
    assert config_docs.type_text(hints["parts"]) == "list of object (_Part)"
