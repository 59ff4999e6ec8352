"""The pull-request workflow: valid (actionlint), keyless (OIDC), and a diff comment that flags data loss."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT
from tools.reports.diff_report import MARKER, classify, render

WORKFLOW = ROOT / ".github" / "workflows" / "pr-review.yml"

SAMPLE_DIFF = """\
Stack prod/logging (genba-prod-logging)
Resources
[-] AWS::S3::Bucket Archive/Bucket ArchiveBucketABC123 orphan
[~] AWS::Logs::LogGroup ApplicationLogs/Resource ApplicationLogsResource1234 replace
 └─ [~] LogGroupName (requires replacement)
     ├─ [-] /genba/prod/application
     └─ [+] /genba/prod/app
[+] AWS::CloudWatch::Alarm New/Alarm NewAlarm5678
[-] AWS::CloudWatch::Alarm Old/Alarm OldAlarm9999 destroy
[~] AWS::SQS::Queue Sync/Queue SyncQueueABC may be replaced
"""


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert found, "actionlint is not installed (requirements-dev.txt)"
    return found


def test_workflows_pass_actionlint() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    result = subprocess.run(
        [actionlint(), "-no-color", *map(str, workflows)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_fails_actionlint_on_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    result = subprocess.run([actionlint(), str(broken)], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode != 0


def test_workflow_runs_the_readme_test_command_and_uses_oidc_not_keys() -> None:
    text = WORKFLOW.read_text()
    workflow = yaml.safe_load(text)
    assert "make test" in (ROOT / "README.md").read_text()
    assert any(step.get("run") == "make test" for step in workflow["jobs"]["test"]["steps"])
    diff_job = workflow["jobs"]["diff"]
    assert diff_job["permissions"]["id-token"] == "write"
    assert "role-to-assume" in text and "aws-access-key-id" not in text and "secrets.AWS" not in text


def test_diff_report_flags_replacements_and_deleted_stateful_resources() -> None:
    diff = classify("prod", SAMPLE_DIFF)
    assert diff.replacements == [
        "AWS::Logs::LogGroup ApplicationLogs/Resource",
        "AWS::SQS::Queue Sync/Queue",
    ]
    assert diff.stateful_deletions == ["AWS::S3::Bucket Archive/Bucket"]


def test_diff_comment_puts_dangerous_changes_first_and_carries_its_marker() -> None:
    comment = render([classify("prod", SAMPLE_DIFF), classify("dev", "Stack dev/logging\nThere were no differences")])
    assert comment.startswith(MARKER)
    caution = comment.index("[!CAUTION]")
    assert caution < comment.index("<details>")
    assert "**prod**: DELETED (stateful) `AWS::S3::Bucket Archive/Bucket`" in comment
    assert "<b>dev</b>: no changes" in comment


def test_quiet_diff_says_nothing_is_lost() -> None:
    comment = render([classify("stg", "[+] AWS::CloudWatch::Alarm A/Alarm AAlarm1")])
    assert "No resource is replaced and no stateful resource is deleted." in comment
