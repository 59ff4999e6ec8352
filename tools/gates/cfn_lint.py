"""cfn-lint over synthesized templates, for tests and tools that lint one template by hand.

The gate itself runs inside synth (genba_constructs.cfn_lint.CfnLintChecks, added by
add_nag_packs): this module lints outside a synth with the same rules and ignored list.
"""

from __future__ import annotations

from pathlib import Path

from genba_constructs.cfn_lint import IGNORED_RULES, TemplateLinter, finding_line

__all__ = ["IGNORED_RULES", "lint_template"]


def lint_template(template: Path, region: str) -> list[str]:
    """cfn-lint errors and warnings for one template, as printable lines (empty: clean)."""
    findings = TemplateLinter(workers=1).lint([(template, region)])[template]
    return [finding_line(template, finding) for finding in findings]
