"""Shared fixtures: the genba app synthesized once per test process, from cdk.json's context.

Building the app is the expensive part of most tests (the first synth in a process starts
jsii); every template test reads the one session-wide assembly.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from aws_cdk import App, Stack

    from genba_constructs import AlarmFactory

ROOT = Path(__file__).resolve().parent.parent
ASSEMBLIES = ROOT / ".cache" / "test-assemblies"

# Same environment as `make`: the supported Node.js from package.json, a per-repository
# jsii cache, and no credential look-ups (synth is offline).
os.environ.setdefault("JSII_NODE", str(ROOT / "node_modules" / ".bin" / "node"))
os.environ.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(ROOT / ".cache" / "jsii"))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
sys.path.insert(0, str(ROOT))

from tools.assembly import SynthesizedStack, nag_report, stacks_in  # noqa: E402


def cdk_json_context() -> dict[str, Any]:
    from app import cdk_json_context as read

    return read()


@pytest.fixture(scope="session")
def assembly_dir(worker_id: str) -> Path:
    """The whole genba app (every environment), synthesized once per test process.

    cdk-nag runs in this synth. An unacknowledged finding makes synth raise ValidationFailed
    after the assembly and validation-report.json are written: the report is kept, so that the
    nag test (tests/test_app.py) fails for it alone instead of every template test erroring.
    """
    from app import build_app

    outdir = ASSEMBLIES / worker_id
    shutil.rmtree(outdir, ignore_errors=True)
    try:
        build_app(cdk_json_context(), outdir=str(outdir)).synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error) or not (outdir / "manifest.json").exists():
            raise
    return outdir


@pytest.fixture(scope="session")
def synthesized_stacks(assembly_dir: Path) -> list[SynthesizedStack]:
    return stacks_in(assembly_dir)


@pytest.fixture(scope="session")
def stack_template(synthesized_stacks: list[SynthesizedStack]) -> Any:
    """stack_template("prod", "logging") -> that stack's template as a dict."""
    templates = {stack.stack_name: stack.template for stack in synthesized_stacks}

    def get(environment: str, concern: str) -> dict[str, Any]:
        return templates[f"genba-{environment}-{concern}"]

    return get


#: The account and region of every construct-level test stack.
TEST_ACCOUNT = "123456789012"
TEST_REGION = "ap-northeast-1"


def feature_flags() -> dict[str, Any]:
    """cdk.json's feature flags (the ``@aws-cdk/...`` keys), so a test stack renders as ``cdk synth`` does."""
    return {k: v for k, v in cdk_json_context().items() if k.startswith("@aws-cdk")}


def new_app(*, outdir: str | None = None, flags: bool = True) -> App:
    """A new App for construct-level tests.

    :param outdir: where ``app.synth()`` writes (nag tests read validation-report.json there).
        Default: a temporary folder.
    :param flags: with cdk.json's feature flags, so a stack renders as ``cdk synth`` does.
        Default: true (false: a team's plain ``App()``).
    """
    from aws_cdk import App

    return App(context=feature_flags() if flags else {}, outdir=outdir)


def new_stack(
    id: str = "Test",
    *,
    app: App | None = None,
    outdir: str | None = None,
    flags: bool = True,
    region: str | None = TEST_REGION,
    stack_name: str | None = None,
) -> Stack:
    """A Stack for construct-level tests, in a new App (:func:`new_app`) or in ``app``: the one place it is made.

    :param region: with :data:`TEST_ACCOUNT`, where the stack is. Default: :data:`TEST_REGION`
        (None: environment-agnostic).
    :param stack_name: the CloudFormation stack name. Default: CDK's, from the id.
    """
    from aws_cdk import Environment
    from aws_cdk import Stack as CdkStack

    where = Environment(account=TEST_ACCOUNT, region=region) if region else None
    return CdkStack(app or new_app(outdir=outdir, flags=flags), id, env=where, stack_name=stack_name)


def notifying_alarm_factory(stack: Stack, name_prefix: str) -> AlarmFactory:
    """An AlarmFactory whose alarms notify a new SNS topic in ``stack`` (ALARM and OK actions)."""
    from aws_cdk import aws_cloudwatch_actions as actions
    from aws_cdk import aws_sns as sns

    from genba_constructs import AlarmFactory

    return AlarmFactory(name_prefix=name_prefix, actions=[actions.SnsAction(sns.Topic(stack, "Topic"))])


def app_of(stack: Stack) -> App:
    """The App a :func:`new_stack` belongs to (to add nag packs and synth)."""
    from aws_cdk import App

    root = stack.node.root
    assert isinstance(root, App)
    return root


@pytest.fixture()
def fresh_stack() -> Iterator[Stack]:
    """A new App and Stack (:func:`new_stack`) for one construct-level test."""
    yield new_stack()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 for one test module (its endpoint URL)."""
    from tests.genba_account import moto_server

    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cloud assembly of the dev snapshots, for `genba check` / `genba drill` (tests/genba_account.py)."""
    from tests.genba_account import write_assembly

    return write_assembly(tmp_path_factory.mktemp("cdk.out"))


_SESSION_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print every cdk-nag acknowledgement with its reason, so a reviewer sees each one."""
    reports = sorted(ASSEMBLIES.glob("*/validation-report.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    reports = [report for report in reports if report.stat().st_mtime >= _SESSION_STARTED]
    if not reports:  # this run did not synthesize the app
        return
    seen: set[tuple[str, str]] = set()
    lines = []
    for plugin in nag_report(reports[0].parent)["pluginReports"]:
        for suppressed in plugin.get("suppressedViolations", []):
            for construct in suppressed["violatingConstructs"]:
                key = (suppressed["ruleName"], construct["constructPath"])
                if key not in seen:
                    seen.add(key)
                    lines.append(
                        f"{suppressed['ruleName']:<44} {construct['constructPath']}\n    {suppressed['reason']}"
                    )
    terminalreporter.section(f"cdk-nag acknowledgements ({len(lines)}), each with its reason")
    for line in sorted(lines):
        terminalreporter.write_line(line)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
