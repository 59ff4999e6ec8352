"""A cfn-lint worker process: reads one JSON request a line, answers one JSON line of findings.

Run by path (``python .../_lint_worker.py``), never as ``-m genba_constructs...``: importing the
package would import aws-cdk-lib and start a jsii node process in every worker. It is a plain
subprocess rather than multiprocessing, whose spawn and forkserver modes re-import the parent's
``__main__`` - a team's app.py that synthesizes at module level would run again in each worker.

Request: ``{"template": "<path>", "region": "<region>", "ignored": ["W1234", ...]}``.
Answer: ``{"findings": [{"rule", "message", "path", "line"}, ...]}`` or ``{"error": "..."}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# cfn-lint's rules per (region, ignored rules), loaded once per process: building them costs
# more than linting a small template.
_RULES: dict[tuple[str, ...], Any] = {}


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


def main() -> int:
    # Warm up before the first request: the parent starts workers before synth, so this
    # overlaps the synth instead of following it.
    region = sys.argv[1] if len(sys.argv) > 1 else "us-east-1"
    lint_one('{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}', region, sys.argv[2:])
    for line in sys.stdin:
        try:
            request = json.loads(line)
            text = Path(request["template"]).read_text()
            answer: dict[str, Any] = {"findings": lint_one(text, request["region"], request["ignored"])}
        except Exception as error:  # reported to the parent, which fails the gate
            answer = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
