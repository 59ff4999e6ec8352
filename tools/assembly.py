"""Read a synthesized cloud assembly: stages, stacks and their templates."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SynthesizedStack:
    environment: str
    display_name: str  # prod/logging
    stack_name: str  # genba-prod-logging
    region: str
    termination_protection: bool
    template_path: Path

    @property
    def template(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.template_path.read_text())
        return loaded

    def resources_of_type(self, resource_type: str) -> dict[str, Any]:
        return {k: v for k, v in self.template.get("Resources", {}).items() if v["Type"] == resource_type}


def as_text(value: Any, reference: Callable[[Any], str] = lambda _: "<ref>") -> str:
    """A template's string value as text: the literal parts of an ``Fn::Join`` kept, whatever else
    (a Ref, a Fn::GetAtt, another intrinsic) as ``reference(value)``, ``<ref>`` by default.

    The one reader of joined strings for the tests and reports that look into templates (alarm
    descriptions, dashboard bodies, policy resources).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(as_text(part, reference) for part in parts)
    return reference(value)


def stacks_in(outdir: Path) -> list[SynthesizedStack]:
    """Every stack of every stage (environment) in the assembly at ``outdir``."""
    found: list[SynthesizedStack] = []
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        if artifact["type"] != "cdk:cloud-assembly":
            continue
        stage_dir = outdir / artifact["properties"]["directoryName"]
        environment = artifact["properties"].get("displayName") or stage_dir.name.removeprefix("assembly-")
        stage_manifest = json.loads((stage_dir / "manifest.json").read_text())
        for stack in stage_manifest.get("artifacts", {}).values():
            if stack["type"] != "aws:cloudformation:stack":
                continue
            props = stack["properties"]
            found.append(
                SynthesizedStack(
                    environment=environment,
                    display_name=stack.get("displayName", props.get("stackName")),
                    stack_name=props.get("stackName"),
                    region=stack["environment"].rsplit("/", 1)[-1],
                    termination_protection=bool(props.get("terminationProtection")),
                    template_path=stage_dir / props["templateFile"],
                )
            )
    return found


# genba_constructs.cfn_lint.PLUGIN_NAME (tests/test_synth_reuse.py checks that they agree): not
# imported from there, because importing genba_constructs starts jsii and aws-cdk-lib, which a
# reused synth and the operator CLI's `genba key-digest` do not need.
CFN_LINT_PLUGIN = "cfn-lint"


def _cfn_lint_plugin() -> str:
    return CFN_LINT_PLUGIN


def cfn_lint_findings(outdir: Path) -> list[str]:
    """cfn-lint's findings from the synth's validation report, one printable line each."""
    lines = []
    for plugin in nag_report(outdir)["pluginReports"]:
        if plugin.get("pluginName") != _cfn_lint_plugin():
            continue
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                lines.append(f"{violation['ruleName']} {violation['description']} ({construct['constructPath']})")
    return lines


def nag_report(outdir: Path) -> dict[str, Any]:
    """cdk-nag's findings from the synth's validation report: violations and acknowledgements."""
    path = outdir / "validation-report.json"
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"pluginReports": []}
    return report


def nag_counts(outdir: Path) -> tuple[int, int]:
    """(unacknowledged findings, acknowledged findings), counted per construct."""
    violations = acknowledged = 0
    for plugin in nag_report(outdir)["pluginReports"]:
        if plugin.get("pluginName") == _cfn_lint_plugin():
            continue
        for v in plugin.get("violations", []):
            violations += len(v["violatingConstructs"])
        for v in plugin.get("suppressedViolations", []):
            acknowledged += len(v["violatingConstructs"])
    return violations, acknowledged
