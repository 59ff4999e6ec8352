"""Template snapshots: every environment's synthesized templates, kept in the repository.

A pull request then shows the CloudFormation change even without AWS access. Snapshots are
normalized so that nothing but a real change makes them churn: asset hashes become
``<asset-hash>`` and the CDK's version-reporting metadata is dropped.

    make snapshots     # synthesize and rewrite snapshots/<env>/<stack>.json
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from tools import ROOT

SNAPSHOTS = ROOT / "snapshots"

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalize(template: dict[str, Any]) -> dict[str, Any]:
    """The template without what changes on every build: asset hashes, CDK version metadata."""
    resources = {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") != "AWS::CDK::Metadata"}
    conditions = {k: v for k, v in template.get("Conditions", {}).items() if k != "CDKMetadataAvailable"}
    cleaned = {**template, "Resources": resources}
    if conditions:
        cleaned["Conditions"] = conditions
    else:
        cleaned.pop("Conditions", None)
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(cleaned, sort_keys=True))
    normalized: dict[str, Any] = json.loads(text)
    return normalized


def render(template: dict[str, Any]) -> str:
    return json.dumps(normalize(template), indent=1, sort_keys=True) + "\n"


def snapshot_path(environment: str, stack_name: str) -> Path:
    return SNAPSHOTS / environment / f"{stack_name}.json"


def write_snapshots(outdir: Path) -> list[Path]:
    from tools.assembly import stacks_in

    shutil.rmtree(SNAPSHOTS, ignore_errors=True)
    written = []
    for stack in stacks_in(outdir):
        path = snapshot_path(stack.environment, stack.stack_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(stack.template))
        written.append(path)
    return written


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from app import build_app, cdk_json_context

    with tempfile.TemporaryDirectory() as outdir:
        build_app(cdk_json_context(), outdir=outdir).synth()
        written = write_snapshots(Path(outdir))
    print(f"wrote {len(written)} snapshots under {SNAPSHOTS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
