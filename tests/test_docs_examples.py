"""Every Python block in README.md and docs/ runs as written: a reader copies them verbatim."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[tuple[str, str]]:
    """(``file:line``, source) of each ```python block."""
    blocks = []
    for markdown in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = markdown.read_text()
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 2
            blocks.append((f"{markdown.relative_to(ROOT)}:{line}", match.group(1)))
    return blocks


BLOCKS = python_blocks()


def test_the_docs_have_python_blocks() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize(("where", "source"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_block_runs_as_written(where: str, source: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # What a reader has: genba installed (here: the checkout, with genba_logging beside the
    # shared layer's code, where the wheel's top-level module comes from) and nothing else in scope.
    monkeypatch.syspath_prepend(str(ROOT / "lambda" / "_shared" / "python"))
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "cdk.out"))
    monkeypatch.chdir(tmp_path)
    sys.modules.pop("genba_logging", None)
    code = compile(source, where, "exec")
    exec(code, {"__name__": "__docs_example__"})  # noqa: S102 - the docs' own code, run as a reader would
