"""Every alarm links a runbook section that exists, and every section belongs to an alarm.

Checked twice: against the alarm specs the environments' AlarmFactory recorded (what
docs/alarms.md is generated from) and against the synthesized templates' descriptions.
"""

from __future__ import annotations

import re

from tests.conftest import ROOT
from tools.assembly import SynthesizedStack, as_text
from tools.reports.alarm_docs import environment_records, runbooks_used

RUNBOOKS = ROOT / "docs" / "runbooks.md"
SECTION = re.compile(r'^### <a id="([a-z0-9-]+)"></a>', re.MULTILINE)
LINK = re.compile(r"Runbook: https://\S+/docs/runbooks\.md#([a-z0-9-]+)$")


def runbook_sections() -> set[str]:
    return set(SECTION.findall(RUNBOOKS.read_text()))


def alarm_runbooks(stacks: list[SynthesizedStack]) -> dict[str, str]:
    """alarm name (or logical id) -> the runbook section its description links."""
    found = {}
    for stack in stacks:
        for logical_id, alarm in stack.resources_of_type("AWS::CloudWatch::Alarm").items():
            description = as_text(alarm["Properties"].get("AlarmDescription", ""))
            match = LINK.search(description)
            found[f"{stack.stack_name}/{logical_id}"] = match.group(1) if match else ""
    return found


def test_every_alarm_links_an_existing_runbook_section(synthesized_stacks: list[SynthesizedStack]) -> None:
    sections = runbook_sections()
    links = alarm_runbooks(synthesized_stacks)
    assert links, "the app defines no alarm"
    missing = {alarm: anchor for alarm, anchor in links.items() if anchor not in sections}
    assert missing == {}


def test_every_runbook_section_has_an_alarm(synthesized_stacks: list[SynthesizedStack]) -> None:
    used = set(alarm_runbooks(synthesized_stacks).values())
    assert runbook_sections() - used == set()


def test_every_runbook_an_alarm_spec_names_has_a_section() -> None:
    assert runbooks_used() - runbook_sections() == set()


def test_every_runbook_section_is_named_by_an_alarm_spec() -> None:
    assert runbook_sections() - runbooks_used() == set()


def test_the_recorded_specs_are_every_alarm_in_the_templates(synthesized_stacks: list[SynthesizedStack]) -> None:
    in_templates = {
        alarm["Properties"]["AlarmName"]
        for stack in synthesized_stacks
        for alarm in stack.resources_of_type("AWS::CloudWatch::Alarm").values()
    }
    recorded = {record.alarm_name for records in environment_records().values() for record in records}
    assert recorded == in_templates


def test_every_section_answers_the_four_questions() -> None:
    text = RUNBOOKS.read_text()
    bodies = SECTION.split(text)[1:]
    for anchor, body in zip(bodies[::2], bodies[1::2], strict=True):
        for heading in (
            "**What it means.**",
            "**Likely causes.**",
            "**First three checks.**",
            "**Recover without losing data.**",
        ):
            assert heading in body, f"{anchor}: no {heading}"
