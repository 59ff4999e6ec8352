"""The cfn-lint worker: one process that loads cfn-lint's rules once and lints batches of templates.

Run by path (``python .../_lint_worker.py``), never as ``-m genba_constructs...``: importing the
package would import aws-cdk-lib and start a jsii node process. It is a plain subprocess rather
than multiprocessing in the synthesizing process, whose spawn and forkserver modes re-import the
parent's ``__main__`` (a team's app.py that synthesizes at module level would run again) and
whose fork mode would copy a process with jsii's threads and pipes.

Importing cfn-lint and building its rules costs about 2 s of CPU, more than linting a small
template: this process does it once (while the app is still building its constructs), then
forks its lint processes, which share the loaded rules copy-on-write. It has no threads, so
forking it is safe.

Request, one JSON line: ``{"templates": [["<path>", "<region>"], ...], "ignored": ["W1234", ...],
"jobs": 2}``. Answer, one JSON line: ``{"results": [{"findings": [{"rule", "message", "path",
"line"}, ...]} or {"error": "..."}, ...]}`` in the order of the request.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# cfn-lint's rules per (region, ignored rules), loaded once per process: building them costs
# more than linting a small template.
_RULES: dict[tuple[str, ...], Any] = {}

_WARM_UP = '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}'


def lint_one(template_text: str, region: str, ignored: list[str]) -> list[dict[str, Any]]:
    """cfn-lint's findings for one template, as plain data."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner import Runner
    from cfnlint.runner.template.runner import run_template_by_data

    key = (region, *sorted(ignored))
    config = ConfigMixIn(regions=[region], ignore_checks=sorted(ignored))
    if key not in _RULES:
        _RULES[key] = Runner(config).rules
    template, errors = decode_str(template_text)
    matches = list(errors or ()) if template is None else list(run_template_by_data(template, config, _RULES[key]))
    return [
        {
            "rule": match.rule.id,
            "message": match.message,
            "path": [str(part) for part in getattr(match, "path", None) or ()],
            "line": match.linenumber,
        }
        for match in matches
    ]


def _lint_path(job: tuple[str, str, list[str]]) -> dict[str, Any]:
    path, region, ignored = job
    try:
        return {"findings": lint_one(Path(path).read_text(), region, ignored)}
    except Exception as error:  # reported to the parent, which fails the gate
        return {"error": f"{type(error).__name__}: {error}"}


def lint_batch(templates: list[tuple[str, str]], ignored: list[str], jobs: int) -> list[dict[str, Any]]:
    """Each template's answer, linted by up to ``jobs`` forked processes, largest template first."""
    requests = [(path, region, ignored) for path, region in templates]
    for region in sorted({region for _, region in templates}):
        lint_one(_WARM_UP, region, ignored)  # rules for every region before forking: loaded once
    jobs = min(jobs, len(requests))
    if jobs <= 1 or not hasattr(os, "fork"):
        return [_lint_path(request) for request in requests]
    import multiprocessing

    # Largest first, one template at a time: the lint time of a template grows with its size, so
    # the last template to finish is a small one and no process idles while another has a queue.
    order = sorted(range(len(requests)), key=lambda i: -_size(requests[i][0]))
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        answers = pool.map(_lint_path, [requests[i] for i in order], chunksize=1)
    results: list[dict[str, Any]] = [{}] * len(requests)
    for i, answer in zip(order, answers, strict=True):
        results[i] = answer
    return results


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def main() -> int:
    # Warm up before the first request: the parent starts this process while the app builds its
    # constructs, so loading cfn-lint overlaps that instead of following the synth.
    region = sys.argv[1] if len(sys.argv) > 1 else "us-east-1"
    lint_one(_WARM_UP, region, sys.argv[2:])
    for line in sys.stdin:
        try:
            request = json.loads(line)
            templates = [(str(path), str(region)) for path, region in request["templates"]]
            answer: dict[str, Any] = {
                "results": lint_batch(templates, list(request["ignored"]), int(request.get("jobs", 1)))
            }
        except Exception as error:  # reported to the parent, which fails the gate
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
