"""The main job's up-to-date check: a re-run whose inputs are all unchanged reuses the last clean synth.

`make synth` run twice with nothing changed used to synthesize, nag-check and summarise the
same 21 templates again (6 s, 3x an empty app). A synth is a pure function of its inputs -
templates and asset hashes are byte-for-byte reproducible (tests/test_packaging.py), and neither
genba nor CDK reads the clock or a random source at synth - so, as ``make`` itself does for a
target newer than its sources, the main job reuses the cloud assembly of the last *clean* synth
(every gate passed) when a digest of everything that can change the output is the same:

- every file of the repository that git tracks or that the project's .gitignore files do not
  ignore (``git ls-files -co --exclude-per-directory=.gitignore``: a personal exclude hides no
  input; without git, every file below the root but the ignored folders), by
  content, so any edit of a construct, a stack, a handler, cdk.json or a test is a new synth;
  and, ignored or not, every file below ``lambda/`` an asset may take, and cdk.context.json;
- every installed Python distribution, by name, version and its RECORD (the hash of each of
  its files as pip installed them), and each file RECORD lists by size and modification time
  (a file edited in place): aws-cdk-lib, cdk-nag, constructs, jsii, cfn-lint, ... (an editable
  install's own source folder is not among them);
- the Node.js binary jsii runs (path, size, modification time) and node_modules' lock file;
- the interpreter, the working directory, the output folder, the context overflow file if one
  is set, and the whole environment but the shell's own book-keeping (``PWD``, ``SHLVL``,
  ``MAKEFLAGS``, ... - listed in ``_BOOKKEEPING``), so ``CDK_CONTEXT_JSON``, ``JSII_*`` and
  anything else a synth might read count.

A digest that differs in anything is a full synth, never a wrong reuse: the key errs on the
side of synthesizing. Only a clean synth is kept (a synth with findings runs again, and fails
again), the newest two are kept, and a kept assembly is checked against the file digests
recorded with it before it is used. ``GENBA_SYNTH_CACHE=off`` always synthesizes; any other
value is the cache folder (default ``.cache/synth`` under the working directory).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import ROOT

# Bump when what is kept, or how the digest is made, changes: older entries are then unused.
FORMAT = 1
KEPT = 2
_RESULT = "result.json"

# Environment variables that say where and how the shell runs the command, not what a synth
# reads: leaving them out lets `make synth` and `python -m tools.gates.synth_all` from one shell
# share a synth. Everything else in the environment is part of the digest.
_BOOKKEEPING = frozenset(
    {
        "_",
        "COLUMNS",
        "GENBA_SYNTH_CACHE",
        "LINES",
        "MAKEFLAGS",
        "MAKELEVEL",
        "MAKEOVERRIDES",
        "MAKE_TERMERR",
        "MAKE_TERMOUT",
        "MFLAGS",
        "OLDPWD",
        "PWD",
        "SHLVL",
    }
)

# Without git: the folders .gitignore names (never inputs of a synth).
_IGNORED_DIRS = frozenset(
    {".git", ".venv", "node_modules", "cdk.out", ".cache", "__pycache__", "build", "dist", ".hypothesis"}
)
_IGNORED_DIR_SUFFIXES = ("_cache", ".egg-info")


def cache_root() -> Path | None:
    """Where clean synths are kept, or None when ``GENBA_SYNTH_CACHE=off`` (always synthesize)."""
    setting = os.environ.get("GENBA_SYNTH_CACHE", "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    return Path(setting) if setting else Path.cwd() / ".cache" / "synth"


def _project_files(root: Path) -> list[str]:
    try:
        listed = subprocess.run(
            # The project's own .gitignore files only: a personal exclude (.git/info/exclude,
            # core.excludesFile) can hide a module the app imports all the same.
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-per-directory=.gitignore"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
        # Names as the file system has them (a name that is no UTF-8 is no crash).
        return sorted({os.fsdecode(name) for name in listed.split(b"\0") if name})
    except (OSError, subprocess.CalledProcessError):
        return sorted(_walk(root))


def _walk(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _IGNORED_DIRS and not d.endswith(_IGNORED_DIR_SUFFIXES)]
        # A linked folder is not walked into (os.walk), so it is one entry, counted by what it holds.
        linked = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        for name in files + linked:
            yield os.path.relpath(os.path.join(folder, name), root)


def _file_material(path: Path) -> bytes:
    # A link counts by where it points and by what it points at: Python imports through a link, and
    # CDK's asset copies what a link in a handler folder points at outside the folder (its default
    # SymlinkFollowMode.EXTERNAL), so a link to a file or folder out of the project is followed
    # (the worktree's .venv and node_modules links are ignored by git, never listed). A file listed
    # by git but deleted counts as gone.
    if path.is_symlink():
        material = b"link:" + os.readlink(path).encode()
        if path.is_dir():
            tree = hashlib.sha256()
            for name in sorted(_asset_files(path)):
                data = _file_material(path / name)
                tree.update(f"{name}\0{len(data)}\0".encode(errors="surrogateescape") + data)
            return material + b"\0tree:" + tree.digest()
        if path.is_file():
            return material + b"\0file:" + hashlib.sha256(path.read_bytes()).digest()
        return material
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a folder, a named pipe (reading one waits forever)
            return b"directory" if path.is_dir() else b"special"
        return hashlib.sha256(path.read_bytes()).digest()
    except FileNotFoundError:
        return b"missing"


def _distributions() -> list[list[str]]:
    found = []
    for dist in importlib.metadata.distributions():
        listed = dist.read_text("RECORD") or ""
        record = hashlib.sha256(listed.encode()).hexdigest()
        where = str(getattr(dist, "_path", ""))  # the folder it is installed in, where known
        found.append([str(dist.metadata["Name"]), str(dist.version), record, where, _installed_files(listed, where)])
    return sorted(found)


def _installed_files(record: str, where: str) -> str:
    # RECORD holds each file's hash as pip wrote it, not as it is now: a file edited in place (a
    # rule patched while debugging) counts by its size and modification time (24,000 stats, 0.1 s).
    base = os.path.dirname(where)
    digest = hashlib.sha256()
    for row in csv.reader(record.splitlines()):
        if not row or not row[0]:
            continue
        try:
            info = os.stat(os.path.join(base, row[0]))
            digest.update(f"{row[0]}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
        except OSError:
            digest.update(f"{row[0]}\0gone\0".encode())
    return digest.hexdigest()


def _node() -> list[str]:
    node = os.environ.get("JSII_NODE") or shutil.which("node") or ""
    facts = [node]
    if node and os.path.exists(node):
        real = os.path.realpath(node)
        info = os.stat(real)
        facts += [real, str(info.st_size), str(info.st_mtime_ns)]
    lock = ROOT / "node_modules" / ".package-lock.json"
    facts.append(hashlib.sha256(lock.read_bytes()).hexdigest() if lock.exists() else "no node_modules lock")
    return facts


def input_digest(outdir: Path, root: Path = ROOT) -> str:
    """The digest of everything that can change what the main job writes to ``outdir``."""
    digest = hashlib.sha256()

    def add(label: str, material: bytes | str) -> None:
        data = material.encode(errors="surrogateescape") if isinstance(material, str) else material
        digest.update(f"{label}\0{len(data)}\0".encode(errors="surrogateescape") + data)

    add("format", str(FORMAT))
    add("python", json.dumps([sys.version, os.path.realpath(sys.executable), sys.flags.optimize]))
    add("cwd", os.getcwd())
    add("outdir", str(outdir.resolve()))
    add("environment", json.dumps(sorted((k, v) for k, v in os.environ.items() if k not in _BOOKKEEPING)))
    overflow = os.environ.get("CONTEXT_OVERFLOW_LOCATION_ENV")
    if overflow:
        add("context overflow", _file_material(Path(overflow)))
    add("distributions", json.dumps(_distributions()))
    add("node", json.dumps(_node()))
    for name in _project_files(root):
        add(f"file {name}", _file_material(root / name))
    # What git ignores but a synth may still read: every file an asset of handler code can take
    # (a build/ folder inside lambda/ is ignored by git, not by the asset), and the CDK CLI's
    # context file.
    for folder in (root / "lambda", root / "genba_constructs" / "_handlers"):
        for name in sorted(_asset_files(folder)):
            add(f"asset file {name}", _file_material(folder / name))
    add("cdk.context.json", _file_material(root / "cdk.context.json"))
    return digest.hexdigest()


def _asset_files(folder: Path) -> Iterator[str]:
    # Bytecode is written by every run and left out of every asset (genba_constructs/handler_code.py).
    # Linked folders are walked into, as CDK's asset copies them; each real folder once (a link
    # back up the tree is no endless walk).
    seen: set[str] = set()
    for current, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(current)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith((".pyc", ".pyo")):
                yield os.path.relpath(os.path.join(current, name), folder)


def _tree_digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@dataclass(frozen=True)
class Reused:
    """What the reused synth recorded: when it ran and its cfn-lint run."""

    made: str
    key: str
    lint: dict[str, Any]


class SynthReuse:
    """The kept clean synth for one digest of the inputs."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = root
        self.key = key
        self.entry = root / key

    def restore(self, outdir: Path) -> Reused | None:
        """Write the kept assembly to ``outdir`` and say what it recorded; None if none is kept (or it was altered)."""
        try:
            result = json.loads((self.entry / _RESULT).read_text())
        except (OSError, ValueError):
            return None
        kept = self.entry / "assembly"
        if result.get("format") != FORMAT or _tree_digests(kept) != result.get("files"):
            shutil.rmtree(self.entry, ignore_errors=True)  # altered or partial: synthesize anew
            return None
        # Into the folder a linked output folder points at (rmtree leaves a link and what it points
        # at alone, and copytree will not write over it); a copy that fails (a full disk) is a synth.
        target = outdir.resolve()
        try:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(kept, target)
        except OSError:
            shutil.rmtree(target, ignore_errors=True)
            return None
        os.utime(self.entry)  # most recently used: kept longest
        return Reused(made=str(result["made"]), key=self.key, lint=dict(result["lint"]))

    def store(self, outdir: Path, lint: dict[str, Any]) -> None:
        """Keep the clean synth in ``outdir`` under this digest (whole, then renamed), and drop all but the newest."""
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{self.key}.{os.getpid()}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            shutil.copytree(outdir, partial / "assembly")
            result = {
                "format": FORMAT,
                "made": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "lint": lint,
                "files": _tree_digests(partial / "assembly"),
            }
            (partial / _RESULT).write_text(json.dumps(result))
        except OSError:  # a full disk: no half-written entry is left behind
            shutil.rmtree(partial, ignore_errors=True)
            raise
        shutil.rmtree(self.entry, ignore_errors=True)
        try:
            partial.rename(self.entry)
        except OSError:  # a concurrent synth of the same inputs kept it first: theirs is as good
            shutil.rmtree(partial, ignore_errors=True)
        entries = sorted(
            (entry for entry in self.root.iterdir() if not entry.name.startswith(".")),
            key=lambda entry: entry.stat().st_mtime,
            reverse=True,
        )
        for old in entries[KEPT:]:
            shutil.rmtree(old, ignore_errors=True)
        # What a killed run left half-kept (the main job holds the folder's lock while it keeps).
        for left in self.root.glob(".*.partial"):
            shutil.rmtree(left, ignore_errors=True)
