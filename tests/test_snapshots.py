"""The template snapshots in snapshots/ match what the app synthesizes now (`make snapshots` refreshes)."""

from __future__ import annotations

from tools.assembly import SynthesizedStack
from tools.gates.snapshots import SNAPSHOTS, normalize, render, snapshot_path

REFRESH = "stale snapshot: run `make snapshots` and commit the result"


def test_every_stack_has_an_up_to_date_snapshot(synthesized_stacks: list[SynthesizedStack]) -> None:
    stale = []
    for stack in synthesized_stacks:
        path = snapshot_path(stack.environment, stack.stack_name)
        if not path.exists() or path.read_text() != render(stack.template):
            stale.append(str(path.relative_to(SNAPSHOTS)))
    assert stale == [], REFRESH


def test_no_snapshot_is_left_from_a_removed_stack(synthesized_stacks: list[SynthesizedStack]) -> None:
    expected = {snapshot_path(s.environment, s.stack_name) for s in synthesized_stacks}
    assert set(SNAPSHOTS.glob("*/*.json")) - expected == set(), REFRESH


def test_asset_hashes_and_version_metadata_do_not_churn_snapshots() -> None:
    digest = "a" * 64
    template = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": f"{digest}.zip"}}},
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:xyz"}},
        },
        "Conditions": {"CDKMetadataAvailable": {"Fn::Or": []}},
    }
    assert normalize(template) == {
        "Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": "<asset-hash>.zip"}}}}
    }
