"""`cdk diff` of every environment as one pull-request comment, with dangerous changes flagged.

Run after `make synth` with credentials for the target accounts (the PR workflow assumes a
read-only role through OIDC). Replacements and deletions of stateful resources (buckets,
tables, log groups, keys, domains, queues) are listed at the top of the comment: they are
the changes that lose data.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tools import ROOT
from tools.cdk_cli import run_cdk

MARKER = "<!-- genba-cdk-diff -->"
STATEFUL_TYPES = (
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::Logs::LogGroup",
    "AWS::KMS::Key",
    "AWS::OpenSearchService::Domain",
    "AWS::SQS::Queue",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::CloudTrail::Trail",
)
_RESOURCE_LINE = re.compile(r"^\[(?P<op>[-+~])\]\s+(?P<type>AWS::\S+|Custom::\S+)\s+(?P<rest>.*)$")
_MAX_COMMENT = 60_000  # GitHub allows 65,536 characters in a comment


@dataclass
class EnvironmentDiff:
    environment: str
    text: str
    replacements: list[str] = field(default_factory=list)
    stateful_deletions: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(_RESOURCE_LINE.search(self.text) or re.search(r"^\[[-+~]\]", self.text, re.MULTILINE))


def classify(environment: str, text: str) -> EnvironmentDiff:
    """Find replacements and deleted stateful resources in one environment's `cdk diff` output."""
    diff = EnvironmentDiff(environment, text)
    for line in text.splitlines():
        match = _RESOURCE_LINE.match(line.strip())
        if not match:
            continue
        rest = match["rest"]
        resource = f"{match['type']} {rest.split()[0] if rest else ''}".strip()
        if match["op"] == "~" and re.search(r"\b(replace|may be replaced|requires replacement)\b", rest):
            diff.replacements.append(resource)
        if match["op"] == "-" and match["type"] in STATEFUL_TYPES:
            diff.stateful_deletions.append(resource)
        elif match["op"] == "-" and match["type"] not in STATEFUL_TYPES and "replace" in rest:
            diff.replacements.append(resource)
    return diff


def render(diffs: list[EnvironmentDiff]) -> str:
    lines = [MARKER, "## cdk diff", ""]
    dangerous = [(d.environment, "REPLACED", r) for d in diffs for r in d.replacements] + [
        (d.environment, "DELETED (stateful)", r) for d in diffs for r in d.stateful_deletions
    ]
    if dangerous:
        lines += ["> [!CAUTION]", "> **This change replaces or deletes resources. Data in them may be lost.**", ">"]
        lines += [f"> - **{env}**: {what} `{resource}`" for env, what, resource in dangerous]
        lines.append("")
    else:
        lines += ["No resource is replaced and no stateful resource is deleted.", ""]
    budget = (_MAX_COMMENT - sum(len(line) for line in lines)) // max(len(diffs), 1)
    for diff in diffs:
        body = diff.text if len(diff.text) <= budget else diff.text[: budget - 200] + "\n... (cut; see the job log)"
        summary = "changes" if diff.has_changes else "no changes"
        lines += [
            f"<details><summary><b>{diff.environment}</b>: {summary}</summary>",
            "",
            "```diff",
            body,
            "```",
            "</details>",
            "",
        ]
    return "\n".join(lines)


def environments() -> list[str]:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return list(context["genba"]["environments"])


def run_diff(environment: str, app_dir: Path) -> str:
    result = run_cdk("diff", "--app", str(app_dir), "--no-color", f"{environment}/*", timeout=1800)
    if result.returncode not in (0, 1):  # 1: differences found (with --fail); anything else failed
        raise SystemExit(f"cdk diff for {environment} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return (result.stdout + result.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True, help="where to write the comment (markdown)")
    parser.add_argument("--app", type=Path, default=ROOT / "cdk.out", help="the synthesized cloud assembly")
    args = parser.parse_args(argv)
    diffs = [classify(env, run_diff(env, args.app)) for env in environments()]
    args.output.write_text(render(diffs))
    flagged = sum(len(d.replacements) + len(d.stateful_deletions) for d in diffs)
    print(f"diff comment written to {args.output}: {len(diffs)} environments, {flagged} dangerous changes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
