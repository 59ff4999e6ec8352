"""pip install of genba gives another CDK app the constructs *and* the handler code they deploy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

CONSUMER_APP = textwrap.dedent(
    """
    import json, sys
    from aws_cdk import App, Environment, Stack
    import genba_constructs
    from genba_constructs import (
        AlarmTopic,
        ArchiveTrail,
        HostLogFile,
        HostMonitoring,
        LogArchive,
        LogSearch,
        ServiceLogGroup,
        add_nag_packs,
    )
    from aws_cdk import aws_dynamodb as dynamodb
    from genba_constructs import AlarmTopic, SyncVerification, add_nag_packs
    from genba_constructs.sync_targets import DynamoDbReplicaTarget

    app = App(outdir=sys.argv[1])
    stack = Stack(app, "ConsumerService", env=Environment(account="123456789012", region="eu-west-1"))
    alarms = AlarmTopic(stack, "Alarms", email_addresses=["team@example.com"])
    archive = LogArchive(stack, "Archive", alarm_factory=alarms.alarm_factory)
    app_logs = ServiceLogGroup(
        stack, "AppLogs", subject="app-logs", audit_findings_bucket=archive.bucket, alarm_factory=alarms.alarm_factory
    )
    archive.archive_log_group(app_logs)
    ArchiveTrail(stack, "Trail", archive=archive)
    HostMonitoring(
        stack,
        "WebHosts",
        subject="web-hosts",
        auto_scaling_group_name="awseb-e-abc123-stack-AWSEBAutoScalingGroup-XYZ",
        log_files=[HostLogFile(file_path="/var/log/app/*.log", log_group=app_logs)],
        alarm_factory=alarms.alarm_factory,
    )
    # The second subscription of the log group: searchable, failed documents backed up to the archive.
    search = LogSearch(stack, "Search", alarm_factory=alarms.alarm_factory, backup_bucket=archive.bucket)
    search.subscribe(app_logs.log_group)
    search.acknowledge_public_endpoint("The consumer's test service has no VPC; access is by signed IAM requests.")
    search.acknowledge_small_cluster("The consumer's test domain is a single development node on purpose.")
    key = dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING)
    sync = SyncVerification(
        stack, "OrderSync", partition_key=key, subject="order-sync",
        target=DynamoDbReplicaTarget(table=dynamodb.Table.from_table_name(stack, "Replica", "orders-replica")),
        alarm_factory=alarms.alarm_factory,
    )
    from genba_constructs import OperationsDashboard
    OperationsDashboard(
        stack, "Dashboard", dashboard_name="consumer-operations",
        sections=[("Application logs", app_logs), ("Archive", archive), ("Search", search), ("Sync", sync)],
        alarms=alarms.alarm_factory.alarms,
    )
    add_nag_packs(app)
    assembly = app.synth()
    template = assembly.get_stack_by_name("ConsumerService").template
    import hashlib, pathlib
    assets = {}
    for folder in sorted(pathlib.Path(sys.argv[1]).glob("asset.*")):
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            assets[file.relative_to(sys.argv[1]).as_posix()] = hashlib.sha256(file.read_bytes()).hexdigest()
    print(json.dumps({
        "genba_from": genba_constructs.__file__,
        "types": sorted({r["Type"] for r in template["Resources"].values()}),
        "template": template,
        "assets": assets,
    }))
    """
)


def run(*args: object, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=900, check=False, env=env
    )
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a clean copy: setuptools reuses a checkout's build/ folder, which can hold
    # files deleted since, and the wheel must be what the sources say.
    source = tmp_path_factory.mktemp("source") / "genba"
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "build", "*.egg-info", "cdk.out", ".cache", "__pycache__", "*_cache"
        ),
    )
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", out, source, cwd=out)
    (built,) = out.glob("genba-*.whl")
    return built


def test_wheel_ships_every_handler_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    handler_files = [
        p.relative_to(ROOT / "lambda")
        for p in (ROOT / "lambda").rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".json", ".txt"}
        and "__pycache__" not in p.parts
        and not any(part.endswith(".egg-info") for part in p.parts)
    ]
    for relative in handler_files:
        assert f"genba_constructs/_handlers/{relative.as_posix()}" in names
    assert "genba_constructs/__init__.py" in names
    assert "genba_logging.py" in names
    assert not any(".egg-info/" in name or "__pycache__" in name for name in names)
    assert not any(name.startswith(("stacks/", "tests/", "tools/", "app.py")) for name in names)


def install(wheel: Path, venv: Path) -> Path:
    """A fresh venv with only the wheel installed (pip compiles its bytecode, as a user's pip does)."""
    run(sys.executable, "-m", "venv", venv, cwd=venv.parent)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=venv.parent)
    # The wheel's dependencies (aws-cdk-lib and friends) come from the project's own
    # virtual environment, which does not contain genba itself: only the wheel can
    # provide genba_constructs.
    site_packages = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=venv.parent).strip()
    )
    (site_packages / "genba-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def synth_consumer(python: Path, workdir: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "consumer.py").write_text(CONSUMER_APP)
    output: dict[str, object] = json.loads(
        run(python, "consumer.py", workdir / "cdk.out", cwd=workdir, env=env).strip().splitlines()[-1]
    )
    return output


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Path]]:
    """The wheel installed twice, each into its own fresh venv: (venv, python)."""
    root = tmp_path_factory.mktemp("venvs")
    return [(root / name, install(wheel, root / name)) for name in ("first", "second")]


@pytest.mark.slow
def test_two_fresh_installs_and_the_checkout_give_identical_templates_and_assets(
    installed: list[tuple[Path, Path]], tmp_path: Path
) -> None:
    outputs = [synth_consumer(python, tmp_path / venv.name) for venv, python in installed]
    for (venv, _), output in zip(installed, outputs, strict=True):
        assert str(output["genba_from"]).startswith(str(venv))
    # pip wrote bytecode (with its install time inside) beside the installed handlers:
    # exactly what the assets must leave out.
    (first_venv, _), _ = installed
    assert list(first_venv.rglob("_handlers/**/__pycache__/*.pyc"))
    from_checkout = synth_consumer(
        Path(sys.executable), tmp_path / "checkout", env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert str(from_checkout["genba_from"]).startswith(str(ROOT))
    for output in outputs:
        assert output["assets"] == from_checkout["assets"]
        assert output["template"] == from_checkout["template"]


@pytest.mark.slow
def test_genba_logging_is_importable_from_the_installed_wheel(installed: list[tuple[Path, Path]]) -> None:
    venv, python = installed[0]
    where = run(
        python, "-c", "import genba_logging; genba_logging.get_logger(); print(genba_logging.__file__)", cwd=venv
    ).strip()
    assert where.startswith(str(venv))


@pytest.mark.slow
def test_consumer_app_synthesizes_with_the_installed_wheel(installed: list[tuple[Path, Path]], tmp_path: Path) -> None:
    venv, python = installed[0]
    output = synth_consumer(python, tmp_path)

    assert output["genba_from"].startswith(str(venv))
    assert {"AWS::SNS::Topic", "AWS::KMS::Key", "AWS::CloudWatch::Alarm"} <= set(output["types"])
    assert {"AWS::KinesisFirehose::DeliveryStream", "AWS::Glue::Table", "AWS::CloudTrail::Trail"} <= set(
        output["types"]
    )
    assert {"AWS::SSM::Association", "AWS::SSM::Parameter", "AWS::IAM::ManagedPolicy"} <= set(output["types"])
    assert {
        "AWS::KinesisFirehose::DeliveryStream",
        "AWS::Glue::Table",
        "AWS::CloudTrail::Trail",
        "AWS::OpenSearchService::Domain",
        "AWS::Lambda::Function",
    } <= set(output["types"])
    assert {"AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::SQS::Queue"} <= set(output["types"])
    assert "AWS::CloudWatch::Dashboard" in output["types"]


def dependency_floors() -> list[str]:
    """pyproject's lowest supported release of each dependency, as ``name==version``."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = []
    for requirement in project["dependencies"]:
        name, rest = requirement.split(">=", 1)
        floors.append(f"{name.strip()}=={rest.split(',', 1)[0].strip()}")
    return floors


def test_every_dependency_has_a_floor_and_a_ceiling() -> None:
    import tomllib

    for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        assert ">=" in requirement and ",<" in requirement, requirement


@pytest.mark.slow
def test_consumer_app_synthesizes_with_the_lowest_supported_dependencies(wheel: Path, tmp_path: Path) -> None:
    # From PyPI into a fresh venv: exactly the floors pyproject.toml declares, nothing newer.
    venv = tmp_path / "floor-venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    floors = dependency_floors()
    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *floors, wheel, cwd=tmp_path)
    installed = run(python, "-m", "pip", "freeze", cwd=tmp_path).lower().replace("_", "-").splitlines()
    for floor in floors:
        assert floor.lower() in installed, floor

    output = synth_consumer(python, tmp_path / "app")

    assert str(output["genba_from"]).startswith(str(venv))
    assert {"AWS::Lambda::Function", "AWS::OpenSearchService::Domain", "AWS::CloudTrail::Trail"} <= set(output["types"])
