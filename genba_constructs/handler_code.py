"""Where the Lambda handler code is, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

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
