"""cfn-lint as a synth gate: it fails every synth path on a template CloudFormation would reject.

The plugin implements aws-cdk-lib's IPolicyValidationPluginBeta1 ("Policy validation" in the
CDK developer guide: plugins run at synth, after the templates are written, and a violation
makes synth fail with ValidationFailed and a validation-report.json).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack, Validations
from aws_cdk import aws_logs as logs

from genba_constructs.cfn_lint import CfnLintChecks, TemplateLinter, misses_expected, template_regions
from tests.conftest import ROOT
from tools.cdk_cli import run_cdk


@pytest.fixture(autouse=True)
def lint_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cfn-lint-cache"
    monkeypatch.setenv("GENBA_CFN_LINT_CACHE", str(cache))
    return cache


def _app_with_log_group(outdir: Path, name: str) -> App:
    app = App(outdir=str(outdir))
    stack = Stack(app, "Team", env=Environment(account="123456789012", region="eu-west-1"))
    logs.CfnLogGroup(stack, "Group", log_group_name=name, retention_in_days=30)
    Validations.of(app).add_plugins(CfnLintChecks(workers=1, prestart=False))
    return app


def test_fails_synth_on_a_template_cloudformation_rejects(tmp_path: Path) -> None:
    """An invalid log group name (AWS::Logs::LogGroup LogGroupName pattern) passes CDK but not deploy."""
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        _app_with_log_group(tmp_path / "out", "bad name*").synth()
    report = json.loads((tmp_path / "out" / "validation-report.json").read_text())
    lint = next(p for p in report["pluginReports"] if p["pluginName"] == "cfn-lint")
    rules = {v["ruleName"]: v for v in lint["violations"]}
    assert "E3031" in rules
    assert rules["E3031"]["violatingConstructs"][0]["constructPath"] == "Team/Group"


def test_a_clean_template_passes_and_an_unchanged_one_is_not_linted_again(tmp_path: Path) -> None:
    _app_with_log_group(tmp_path / "a", "/team/app").synth()
    first = CfnLintChecks.runs[-1]
    _app_with_log_group(tmp_path / "b", "/team/app").synth()
    second = CfnLintChecks.runs[-1]
    assert (first["linted"], first["findings"]) == (1, 0)
    assert (second["linted"], second["cached"]) == (0, 1)


def test_a_changed_template_is_linted_again(tmp_path: Path) -> None:
    _app_with_log_group(tmp_path / "a", "/team/app").synth()
    _app_with_log_group(tmp_path / "b", "/team/other").synth()
    assert CfnLintChecks.runs[-1]["linted"] == 1


def test_templates_are_linted_for_their_own_region(tmp_path: Path) -> None:
    _app_with_log_group(tmp_path / "out", "/team/app").synth()
    regions = template_regions([str((tmp_path / "out" / "Team.template.json").resolve())])
    assert list(regions.values()) == ["eu-west-1"]


def test_many_templates_are_linted_in_parallel_with_the_same_findings_as_one_worker(tmp_path: Path) -> None:
    templates = []
    for i, name in enumerate(["/ok", "bad name*", "/also/ok", "worse name?"]):
        path = tmp_path / f"t{i}.json"
        path.write_text(
            json.dumps({"Resources": {"G": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name}}}})
        )
        templates.append((path, "us-east-1"))
    parallel = TemplateLinter(workers=2).lint(templates)
    os.environ["GENBA_CFN_LINT_CACHE"] = str(tmp_path / "other-cache")
    serial = TemplateLinter(workers=1).lint(templates)
    assert parallel == serial
    assert [bool(found) for found in parallel.values()] == [False, True, False, True]


def test_a_rerun_with_every_template_cached_starts_no_cfn_lint_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert misses_expected()  # an empty cache: the worker starts while the constructs are built
    _app_with_log_group(tmp_path / "a", "/team/app").synth()
    assert misses_expected()  # the last lint had to lint: a change is likely under way
    _app_with_log_group(tmp_path / "b", "/team/app").synth()
    assert not misses_expected()  # everything was cached: the next run likely is a re-run too
    assert CfnLintChecks().linter._process is None

    def no_process(self: TemplateLinter) -> None:
        raise AssertionError("a cfn-lint process was started for templates all in the cache")

    monkeypatch.setattr(TemplateLinter, "start", no_process)
    _app_with_log_group(tmp_path / "c", "/team/app").synth()
    assert (CfnLintChecks.runs[-1]["linted"], CfnLintChecks.runs[-1]["cached"]) == (0, 1)


def test_a_template_the_worker_cannot_read_fails_the_gate(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"Resources": {"G": {"Type": "AWS::Logs::LogGroup"}}}))
    missing = tmp_path / "missing.json"
    linter = TemplateLinter(workers=2)
    with pytest.raises(RuntimeError, match=r"cfn-lint failed on .*missing\.json"):
        linter._ask([(good, "us-east-1"), (missing, "us-east-1")])
    linter.close()


def test_fails_cdk_cli_synth_of_a_team_app_with_a_template_cloudformation_rejects(tmp_path: Path) -> None:
    """The `cdk synth` path runs the same gate (the CLI used to run cdk-nag only)."""
    app = tmp_path / "team_app.py"
    app.write_text(
        "from aws_cdk import App, Stack, aws_logs as logs\n"
        "from genba_constructs import add_nag_packs\n"
        "app = App()\n"
        "stack = Stack(app, 'Team')\n"
        "logs.CfnLogGroup(stack, 'Group', log_group_name='bad name*', retention_in_days=30)\n"
        "add_nag_packs(app)\n"
        "app.synth()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_EC2_METADATA_DISABLED": "true"}
    app_command = f"{sys.executable} {app}"
    result = run_cdk(
        "synth", "--quiet", "--no-notices", "--app", app_command, "-o", str(tmp_path / "o"), cwd=tmp_path, env=env
    )
    assert result.returncode != 0
    assert "E3031" in result.stdout + result.stderr
