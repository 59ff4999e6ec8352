"""Where the Lambda handler code is, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_

# What an asset of handler code leaves out: bytecode that pip (and every test run) writes
# beside the handlers, with a timestamp inside, so that every fresh install would change the
# asset hash and redeploy every function; tool caches; and the egg-info a source build of the
# wheel writes beside genba_logging (the wheel's top-level module lives in _shared/python).
# The folders hold only what the wheel ships (*.py, *.json, *.txt; tests/test_packaging.py
# checks that), so a checkout and an installed wheel give the same asset.
ASSET_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".DS_Store",
    "*.egg-info",
)

_HERE = Path(__file__).resolve().parent

# In a checkout the handlers are in <repo>/lambda/<function>; the wheel packages the
# same folder as genba_constructs/_handlers/<function> (see pyproject.toml).
_ROOTS = (_HERE / "_handlers", _HERE.parent / "lambda")


def handler_code_path(function: str) -> str:
    """The folder holding one function's handler code, as a path Lambda assets accept."""
    for root in _ROOTS:
        candidate = root / function
        if candidate.is_dir():
            return str(candidate)
    raise FileNotFoundError(f"genba handler code for {function!r} not found under {', '.join(str(r) for r in _ROOTS)}")


def handler_code(function: str) -> lambda_.Code:
    """One function's handler code as a Lambda asset, byte-for-byte the same from a checkout or a wheel."""
    return lambda_.Code.from_asset(handler_code_path(function), exclude=list(ASSET_EXCLUDES))
