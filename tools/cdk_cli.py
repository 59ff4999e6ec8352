"""The AWS CDK CLI genba pins (package.json: node_modules/.bin/cdk), run as a subprocess."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tools import ROOT

CDK_BIN = ROOT / "node_modules" / ".bin"


def run_cdk(
    *args: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``cdk <args>`` with output captured; its exit code is the caller's to judge.

    :param env: the environment (default: this process's); the pinned CLI (and its Node.js)
        comes first on its PATH, so no global ``cdk`` is ever run instead.
    :param timeout: seconds before the CLI is killed (a hung synth fails rather than blocks).
    """
    environment = dict(os.environ if env is None else env)
    environment["PATH"] = f"{CDK_BIN}{os.pathsep}{environment.get('PATH', '')}"
    return subprocess.run(
        ["cdk", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
