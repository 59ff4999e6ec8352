"""The main job's up-to-date check (tools/gates/synth_reuse.py): reuse only what the same inputs made.

A wrong reuse would report a clean synth of code that was never synthesized, so these tests are
mostly about the digest moving: with every kind of input the module names, and not with the
shell's book-keeping. A reuse must give the same bytes the synth wrote.
"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path
from typing import Any

import pytest

from tools.gates import synth_all, synth_reuse
from tools.gates.synth_reuse import SynthReuse, cache_root, input_digest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder without git (the walk is used), with a construct, a handler and cdk.json."""
    root = tmp_path / "project"
    (root / "genba_constructs").mkdir(parents=True)
    (root / "genba_constructs" / "alarms.py").write_text("THRESHOLD = 1\n")
    (root / "lambda" / "fn").mkdir(parents=True)
    (root / "lambda" / "fn" / "index.py").write_text("def handler(event, context): ...\n")
    (root / "cdk.json").write_text('{"context": {}}')
    (root / ".venv").mkdir()
    (root / ".venv" / "junk").write_text("not an input")
    return root


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _digest(project: Path) -> str:
    return input_digest(project / "cdk.out", root=project)


def test_the_same_inputs_give_the_same_digest_and_shell_bookkeeping_does_not_count(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _digest(project)
    monkeypatch.setenv("MAKEFLAGS", "-j2")
    monkeypatch.setenv("SHLVL", "7")
    monkeypatch.setenv("GENBA_SYNTH_CACHE", str(project / "elsewhere"))
    (project / ".venv" / "junk").write_text("ignored folders are not inputs")
    assert _digest(project) == first


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda root: (root / "genba_constructs" / "alarms.py").write_text("LIMIT = 2\n"), id="construct"),
        pytest.param(lambda root: (root / "lambda" / "fn" / "index.py").write_text("# asset\n"), id="handler"),
        pytest.param(lambda root: (root / "cdk.json").write_text('{"context": {"env": "dev"}}'), id="cdk.json"),
        pytest.param(lambda root: (root / "stacks.py").write_text(""), id="new file"),
        pytest.param(lambda root: (root / "genba_constructs" / "alarms.py").unlink(), id="deleted file"),
        # git ignores build/ (.gitignore), a Lambda asset of lambda/fn does not
        pytest.param(lambda root: _write(root / "lambda/fn/build/lib.py", "x = 1"), id="ignored asset file"),
        pytest.param(lambda root: (root / "cdk.context.json").write_text("{}"), id="cdk.context.json"),
    ],
)
def test_any_project_file_change_gives_a_new_digest(project: Path, change: object) -> None:
    before = _digest(project)
    change(project)  # type: ignore[operator]
    assert _digest(project) != before


@pytest.mark.parametrize(
    "name,value",
    [
        ("CDK_CONTEXT_JSON", '{"env": "prod"}'),  # the CDK CLI's context: app.raw_context reads it
        ("JSII_NODE", "/usr/local/bin/node"),
        ("CDK_DEFAULT_REGION", "eu-west-1"),
        ("GENBA_CFN_LINT_CACHE", "/tmp/other"),
    ],
)
def test_environment_that_a_synth_may_read_counts(
    project: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    before = _digest(project)
    monkeypatch.setenv(name, value)
    assert _digest(project) != before


def test_the_context_overflow_file_counts_by_content(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CDK CLI passes a large context in a file named by CONTEXT_OVERFLOW_LOCATION_ENV (app.raw_context)."""
    overflow = tmp_path / "context.json"
    overflow.write_text('{"env": "dev"}')
    monkeypatch.setenv("CONTEXT_OVERFLOW_LOCATION_ENV", str(overflow))
    before = _digest(project)
    overflow.write_text('{"env": "prod"}')
    assert _digest(project) != before


def test_installed_packages_count_by_their_record(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reinstalled aws-cdk-lib of the same version but other files (its RECORD) is a new synth."""
    real = synth_reuse._distributions()
    assert any(name == "aws-cdk-lib" for name, *_ in real)
    before = _digest(project)
    changed = [
        [name, version, "0" * 64 if name == "aws-cdk-lib" else record, *rest] for name, version, record, *rest in real
    ]
    monkeypatch.setattr(synth_reuse, "_distributions", lambda: changed)
    assert _digest(project) != before


def test_off_always_synthesizes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GENBA_SYNTH_CACHE", "off")
    assert cache_root() is None
    monkeypatch.setenv("GENBA_SYNTH_CACHE", str(tmp_path))
    assert cache_root() == tmp_path


def _assembly(folder: Path, marker: str) -> Path:
    (folder / "assembly-dev").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"marker": marker}))
    (folder / "assembly-dev" / "devlogging.template.json").write_text('{"Resources": {}}')
    return folder


def test_a_kept_synth_is_restored_byte_for_byte(tmp_path: Path) -> None:
    made = _assembly(tmp_path / "made", "one")
    SynthReuse(tmp_path / "cache", "k1").store(made, {"linted": 21, "cached": 0, "ignored": []})
    restored = SynthReuse(tmp_path / "cache", "k1").restore(tmp_path / "out")
    assert restored is not None and restored.lint["linted"] == 21
    compared = filecmp.dircmp(made, tmp_path / "out")
    assert not (compared.diff_files or compared.left_only or compared.right_only)
    assert SynthReuse(tmp_path / "cache", "another digest").restore(tmp_path / "out2") is None


def test_an_altered_kept_synth_is_not_used(tmp_path: Path) -> None:
    SynthReuse(tmp_path / "cache", "k1").store(_assembly(tmp_path / "made", "one"), {"ignored": []})
    kept = tmp_path / "cache" / "k1" / "assembly" / "assembly-dev" / "devlogging.template.json"
    kept.write_text('{"Resources": {"Edited": {}}}')
    assert SynthReuse(tmp_path / "cache", "k1").restore(tmp_path / "out") is None
    assert not (tmp_path / "cache" / "k1").exists()


def test_only_the_newest_synths_are_kept(tmp_path: Path) -> None:
    for key in ("k1", "k2", "k3"):
        SynthReuse(tmp_path / "cache", key).store(_assembly(tmp_path / key, key), {"ignored": []})
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["k2", "k3"]


def test_a_synth_with_findings_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENBA_SYNTH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(synth_all, "_synthesize", lambda outdir: (1, {"linted": 0, "cached": 0, "ignored": []}))
    assert synth_all.main(tmp_path / "cdk.out") == 1
    assert not [entry for entry in (tmp_path / "cache").iterdir() if not entry.name.startswith(".")]


def test_the_assembly_reader_names_the_cfn_lint_plugin_as_the_plugin_does() -> None:
    from genba_constructs.cfn_lint import PLUGIN_NAME
    from tools.assembly import CFN_LINT_PLUGIN

    assert CFN_LINT_PLUGIN == PLUGIN_NAME


def test_the_main_job_reuses_its_clean_synth_when_nothing_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real main job, twice: the second run writes the same assembly without synthesizing."""
    monkeypatch.setenv("GENBA_SYNTH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GENBA_CFN_LINT_CACHE", str(tmp_path / "lint"))
    assert synth_all.main(tmp_path / "first") == 0
    first = capsys.readouterr().out
    assert "synth with every gate took" in first and "reused" not in first
    written = synth_reuse._tree_digests(tmp_path / "first")

    # The same inputs, another output folder: a synth of its own (the folder is an input) ...
    assert input_digest(tmp_path / "first") != input_digest(tmp_path / "second")
    # ... and the same folder again: reused, the summary read from the restored assembly.
    monkeypatch.setattr(synth_all, "_synthesize", lambda outdir: pytest.fail("synthesized again"))
    assert synth_all.main(tmp_path / "first") == 0
    second = capsys.readouterr().out
    assert "reused the clean synth" in second
    # The same summary, but the lint counts are said to be the kept synth's, and the last line.
    assert second.splitlines()[:-1] == [
        line.replace("templates (", "templates (by the kept synth: ") if line.startswith("cfn-lint:") else line
        for line in first.splitlines()[:-1]
    ]
    assert synth_reuse._tree_digests(tmp_path / "first") == written


# --- review: reproductions of wrong reuses and of a clean synth reported as a failure ---------


def _clean_assembly(outdir: Path, marker: str) -> None:
    """An assembly the main job reads as clean (no stacks, no findings), marked with what the synth read."""
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "manifest.json").write_text(json.dumps({"artifacts": {}}))
    (outdir / "read.txt").write_text(marker)


_LINT = {"linted": 0, "cached": 0, "ignored": []}


def _synthesized_clean(outdir: Path, marker: str) -> tuple[int, dict[str, Any]]:
    """A stand-in for synth_all._synthesize: a clean assembly, exit 0."""
    _clean_assembly(outdir, marker)
    return 0, _LINT


def test_a_synth_that_read_an_input_edited_after_the_digest_is_not_kept_under_the_old_digest(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor saves (or a `git checkout` lands) while the synth runs: the synth read the new file, the
    digest was made of the old one. Kept under the old digest, a later run with the old file back
    (the edit undone) reused the synth of the new file."""
    monkeypatch.setenv("GENBA_SYNTH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(synth_all, "input_digest", lambda outdir: input_digest(outdir, root=project))
    source = project / "genba_constructs" / "alarms.py"

    def synth_during_an_edit(outdir: Path) -> tuple[int, dict[str, object]]:
        source.write_text("THRESHOLD = 2\n")
        _clean_assembly(outdir, source.read_text())
        return 0, _LINT

    monkeypatch.setattr(synth_all, "_synthesize", synth_during_an_edit)
    assert synth_all.main(tmp_path / "cdk.out") == 0
    source.write_text("THRESHOLD = 1\n")  # the edit undone

    def synth(outdir: Path) -> tuple[int, dict[str, object]]:
        _clean_assembly(outdir, source.read_text())
        return 0, _LINT

    monkeypatch.setattr(synth_all, "_synthesize", synth)
    assert synth_all.main(tmp_path / "cdk.out") == 0
    assert (tmp_path / "cdk.out" / "read.txt").read_text() == "THRESHOLD = 1\n"


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_file_behind_a_link_out_of_the_project_counts_by_content(project: Path, tmp_path: Path, kind: str) -> None:
    """CDK's asset copies what a link in a handler folder points at when it points out of the folder
    (SymlinkFollowMode.EXTERNAL, its default), and Python imports through a link."""
    outside = tmp_path / "vendored"
    outside.mkdir()
    (outside / "lib.py").write_text("VERSION = 1\n")
    if kind == "file":
        (project / "lambda" / "fn" / "lib.py").symlink_to(outside / "lib.py")
    else:
        (project / "lambda" / "fn" / "vendor").symlink_to(outside, target_is_directory=True)
    before = _digest(project)
    (outside / "lib.py").write_text("VERSION = 2\n")
    assert _digest(project) != before


def test_a_clean_synth_whose_keeping_fails_is_still_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk or an unwritable cache folder is no finding of the synth: exit 0, a warning."""
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("GENBA_SYNTH_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(synth_all, "_synthesize", lambda outdir: _synthesized_clean(outdir, "x"))
    assert synth_all.main(tmp_path / "cdk.out") == 0


def test_a_kept_synth_is_restored_into_an_output_folder_that_is_a_link(tmp_path: Path) -> None:
    _clean_assembly(tmp_path / "made", "one")
    SynthReuse(tmp_path / "cache", "k1").store(tmp_path / "made", _LINT)
    (tmp_path / "real-out").mkdir()
    (tmp_path / "real-out" / "stale.txt").write_text("from an older synth")
    (tmp_path / "out").symlink_to(tmp_path / "real-out", target_is_directory=True)
    assert SynthReuse(tmp_path / "cache", "k1").restore(tmp_path / "out") is not None
    assert synth_reuse._tree_digests(tmp_path / "out") == synth_reuse._tree_digests(tmp_path / "made")


def test_an_installed_file_edited_in_place_counts(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of an installed distribution edited where pip put it (a cdk-nag rule patched while
    debugging) leaves its RECORD as it was: the files RECORD lists count by size and time too."""
    site = tmp_path / "site"
    (site / "fakenag").mkdir(parents=True)
    (site / "fakenag" / "__init__.py").write_text("RULES = 1\n")
    info = site / "fakenag-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakenag\nVersion: 1.0\n")
    (info / "RECORD").write_text(
        "fakenag/__init__.py,,\nfakenag-1.0.dist-info/METADATA,,\nfakenag-1.0.dist-info/RECORD,,\n"
    )
    monkeypatch.syspath_prepend(str(site))
    before = _digest(project)
    (site / "fakenag" / "__init__.py").write_text("RULES = 22\n")
    assert _digest(project) != before


def test_a_file_only_a_personal_git_exclude_hides_counts(project: Path) -> None:
    """A work-in-progress module kept out of commits with .git/info/exclude is still imported by the app."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / ".gitignore").write_text(".venv\n")
    (project / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (project / ".git" / "info" / "exclude").write_text("stacks/wip_stack.py\n")
    _write(project / "stacks" / "wip_stack.py", "BUCKETS = 1\n")
    before = _digest(project)
    (project / "stacks" / "wip_stack.py").write_text("BUCKETS = 2\n")
    assert _digest(project) != before


@pytest.mark.parametrize("git", [False, True], ids=["walk", "git"])
def test_a_file_name_that_is_no_utf8_counts_and_is_no_crash(project: Path, git: bool) -> None:
    """A Latin-1 name from an old archive ended `make synth` with a UnicodeError before it synthesized."""
    import os
    import subprocess

    if git:
        subprocess.run(["git", "init", "-q", str(project)], check=True)
    named = project / os.fsdecode(b"caf\xe9.txt")
    named.write_text("one")
    before = _digest(project)
    named.write_text("two")
    assert _digest(project) != before


def test_two_main_jobs_at_once_into_one_folder_keep_no_mixed_synth(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make synth` started again (another terminal, an editor's task) while one runs, after an edit:
    both write cdk.out. The second kept the folder as the synth of its inputs with the first's
    template in it, and served it to every later run of those inputs."""
    import threading

    monkeypatch.setenv("GENBA_SYNTH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(synth_all, "input_digest", lambda outdir: input_digest(outdir, root=project))
    source = project / "genba_constructs" / "alarms.py"
    first_started, second_wrote, first_wrote = threading.Event(), threading.Event(), threading.Event()

    def synth(outdir: Path) -> tuple[int, dict[str, object]]:
        read = source.read_text()
        if threading.current_thread().name == "first":
            first_started.set()
            second_wrote.wait(2)  # the slower synth: it writes last
            _clean_assembly(outdir, read)
            first_wrote.set()
        else:
            _clean_assembly(outdir, read)
            second_wrote.set()
            first_wrote.wait(2)
        return 0, _LINT

    monkeypatch.setattr(synth_all, "_synthesize", synth)
    codes: dict[str, int] = {}
    first = threading.Thread(name="first", target=lambda: codes.update(first=synth_all.main(tmp_path / "cdk.out")))
    first.start()
    first_started.wait(5)
    source.write_text("THRESHOLD = 2\n")  # the edit, then the second run
    second = threading.Thread(name="second", target=lambda: codes.update(second=synth_all.main(tmp_path / "cdk.out")))
    second.start()
    first.join(10)
    second.join(10)
    assert codes == {"first": 0, "second": 0}

    monkeypatch.setattr(synth_all, "_synthesize", lambda outdir: _synthesized_clean(outdir, source.read_text()))
    assert synth_all.main(tmp_path / "cdk.out") == 0
    assert (tmp_path / "cdk.out" / "read.txt").read_text() == "THRESHOLD = 2\n"


def test_a_named_pipe_in_a_handler_folder_is_no_endless_wait(project: Path) -> None:
    """Reading a named pipe waits for a writer: the digest read one in lambda/ and `make synth` hung."""
    import os

    os.mkfifo(project / "lambda" / "fn" / "pipe")
    assert _digest(project)


def test_what_a_killed_run_left_half_kept_is_removed(tmp_path: Path) -> None:
    left = tmp_path / "cache" / ".k0.4242.partial" / "assembly"
    left.mkdir(parents=True)
    SynthReuse(tmp_path / "cache", "k1").store(_assembly(tmp_path / "made", "one"), {"ignored": []})
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["k1"]
