"""ruff and mypy over the project: part of the test suite, so CI enforces them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tools.gates.typecheck import HANDLER_RUNS, handler_mypy, mypy


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False
    )


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing_in_the_library_stacks_and_tools() -> None:
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("function", sorted(HANDLER_RUNS))
def test_mypy_strict_finds_nothing_in_the_handlers(function: str) -> None:
    result = handler_mypy(function)
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted() -> None:
    result = run("ruff", "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr
