"""Reports: figures and generated pages (`make docs`, `make cost`, `make bench`, `make bench-sync`, the audits)."""

from collections.abc import Iterable
from pathlib import Path

from tools import ROOT


def page(lines: Iterable[str]) -> str:
    """Lines as one generated page: no trailing blank lines, one final newline (what the staleness tests compare)."""
    return "\n".join(lines).rstrip() + "\n"


def write_page(path: Path, text: str) -> int:
    """Write a generated page and say so; the exit code of the generator (0)."""
    path.write_text(text)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0
