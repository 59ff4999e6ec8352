"""What `genba check` and `genba drill` print: a progress line per step, one line per finding, a summary table."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

FAIL = "FAIL"
WARN = "WARN"
INFO = "INFO"


@dataclass
class Step:
    name: str
    checked: int = 0
    failed: int = 0
    warned: int = 0
    seconds: float = 0.0
    note: str = ""


@dataclass
class Report:
    """Collects findings per step; ``failed`` decides the exit code."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    steps: list[Step] = field(default_factory=list)
    total_steps: int = 0

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        step = Step(name)
        self.steps.append(step)
        print(f"[{len(self.steps)}/{self.total_steps or '?'}] {name} ...", file=self.out, flush=True)
        started = time.monotonic()
        try:
            yield step
        finally:
            step.seconds = time.monotonic() - started

    def finding(self, step: Step, level: str, subject: str, message: str) -> None:
        if level == FAIL:
            step.failed += 1
        elif level == WARN:
            step.warned += 1
        print(f"  {level} {step.name}: {subject}: {message}", file=self.out, flush=True)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.steps)

    def summary(self, title: str) -> None:
        width = max([len(s.name) for s in self.steps] + [4])
        print(f"\n{title}", file=self.out)
        print(f"{'step':<{width}}  {'checked':>7}  {'failed':>6}  {'warned':>6}  {'seconds':>7}  note", file=self.out)
        for s in self.steps:
            line = f"{s.name:<{width}}  {s.checked:>7}  {s.failed:>6}  {s.warned:>6}  {s.seconds:>7.2f}  {s.note}"
            print(line.rstrip(), file=self.out)
        total = sum(s.seconds for s in self.steps)
        verdict = f"{self.failed} failed" if self.failed else "all passed"
        print(
            f"{'total':<{width}}  {sum(s.checked for s in self.steps):>7}  {self.failed:>6}  "
            f"{sum(s.warned for s in self.steps):>6}  {total:>7.2f}  {verdict}",
            file=self.out,
        )
