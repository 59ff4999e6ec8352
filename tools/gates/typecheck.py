"""`make lint`'s type check: mypy --strict over the library, stacks, app.py and tools, then over lambda/.

The handler folders are not packages and every handler file is called ``index.py`` (``lambda``
is a keyword, and Lambda imports ``index``), so one mypy run cannot hold them all: each
function is checked in its own run, with the shared layer's folder and its own folder on the
module path, exactly as Lambda imports them. Settings (strict...) come from pyproject.toml.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tools import ROOT

SHARED = "lambda/_shared/python"
# One run per function folder; the shared layer is checked with the first.
HANDLER_RUNS: dict[str, tuple[str, ...]] = {
    "sync_verifier": (SHARED, "lambda/sync_verifier"),
    "sync_forwarder": ("lambda/sync_forwarder",),
    "sync_replay": ("lambda/sync_replay",),
    "opensearch_ism": ("lambda/opensearch_ism",),
}


def mypy(*paths: str, module_path: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """mypy with pyproject.toml's settings over ``paths`` (none: the configured ``files``)."""
    name = Path(paths[-1]).name if paths else "project"
    environ = dict(os.environ)
    if module_path:
        environ["MYPYPATH"] = os.pathsep.join(str(ROOT / p) for p in module_path)
    command = [sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".cache" / "mypy" / name), *paths]
    return subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=3600, check=False)


def handler_mypy(function: str) -> subprocess.CompletedProcess[str]:
    paths = HANDLER_RUNS[function]
    return mypy(*paths, module_path=(SHARED, paths[-1]))


def main() -> int:
    failed = False
    for label, result in [("project", mypy())] + [(f, handler_mypy(f)) for f in HANDLER_RUNS]:
        print(f"mypy {label}: {result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr}")
        if result.returncode:
            print(result.stdout + result.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
