"""cfn-lint over synthesized templates, with every ignored rule listed and explained."""

from __future__ import annotations

from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

# rule id -> why genba ignores it. Keep this list short; every entry is a decision.
IGNORED_RULES: dict[str, str] = {}


def lint_template(template: Path, region: str) -> list[str]:
    """cfn-lint errors and warnings for one template, as printable lines (empty: clean)."""
    config = ManualArgs(regions=[region], ignore_checks=list(IGNORED_RULES))
    return [
        f"{template.name}: {match.rule.id} {match.message} "
        f"({'/'.join(str(p) for p in match.path) if getattr(match, 'path', None) else 'line ' + str(match.linenumber)})"
        for match in lint_file(template, config=config)
    ]
