"""cfn-lint as a CDK policy-validation plugin, so every synth path runs the same gates.

``make synth``, ``cdk synth``, ``cdk deploy`` and a team's own app all synthesize through
``App.synth()``; a validation plugin runs there, after the templates are written, next to
cdk-nag's packs (`add_nag_packs` adds both). A finding makes synth fail with
``ValidationFailed`` and lands in ``validation-report.json`` like a cdk-nag finding.

Speed: each template is linted once per content. Results are cached by a digest of the
template, the region, the cfn-lint version and the ignored rules (``GENBA_CFN_LINT_CACHE``,
default ``.cache/cfn-lint`` under the working directory), and cache misses are linted in
parallel over the cores by one worker (genba_constructs/_lint_worker.py) that loads cfn-lint's
rules once and forks a lint process per core. Unless the last lint found everything cached, the
worker starts when the plugin is made, so that loading cfn-lint overlaps building the
constructs; a synth whose templates are all cached stops it unused, or never starts it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Token,
)

PLUGIN_NAME = "cfn-lint"

# rule id -> why genba ignores it. Keep this list short; every entry is a decision.
IGNORED_RULES: dict[str, str] = {}

# A stack without a region (environment-agnostic) is linted against this one.
DEFAULT_REGION = "us-east-1"

_WORKER = Path(__file__).with_name("_lint_worker.py")

# In the cache directory: how many templates the last lint had to lint (see misses_expected).
_LAST_RUN = "last-run.json"


@functools.cache
def _cfn_lint_version() -> str:
    # From the installed distribution's metadata: importing cfnlint.version imports all of
    # cfn-lint (1.7 s of CPU in a synth whose templates are all cached).
    try:
        return importlib.metadata.version("cfn-lint")
    except importlib.metadata.PackageNotFoundError:
        from cfnlint.version import __version__

        return str(__version__)


def _cache_dir() -> Path:
    return Path(os.environ.get("GENBA_CFN_LINT_CACHE") or Path.cwd() / ".cache" / "cfn-lint")


def _digest(template_text: str, region: str, ignored: Iterable[str]) -> str:
    material = json.dumps([_cfn_lint_version(), region, sorted(ignored)]).encode() + b"\0" + template_text.encode()
    return hashlib.sha256(material).hexdigest()


def template_regions(template_paths: Sequence[str]) -> dict[str, str]:
    """The region of each template, from the cloud assembly manifest beside it."""
    regions: dict[str, str] = {}
    for directory in {Path(path).parent for path in template_paths}:
        manifest = directory / "manifest.json"
        if not manifest.exists():
            continue
        for artifact in json.loads(manifest.read_text()).get("artifacts", {}).values():
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            template_file = artifact.get("properties", {}).get("templateFile")
            region = str(artifact.get("environment", "")).rsplit("/", 1)[-1]
            if template_file:
                regions[str((directory / template_file).resolve())] = (
                    region if region and region != "unknown-region" else DEFAULT_REGION
                )
    return regions


class TemplateLinter:
    """Lints templates with cfn-lint: cached per content, cache misses linted in parallel by one worker.

    The worker process (genba_constructs/_lint_worker.py) loads cfn-lint's rules once and forks
    one lint process per core for a batch; when every template is in the cache none is started.

    :param workers: lint processes for a batch. Default: one per core.
    """

    def __init__(self, *, workers: int | None = None, ignored_rules: Iterable[str] = tuple(IGNORED_RULES)) -> None:
        self.ignored = sorted(ignored_rules)
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._process: subprocess.Popen[str] | None = None
        self.linted = self.cached = 0

    def start(self) -> None:
        """Start the worker now (it loads cfn-lint's rules), so that it is ready when synth ends."""
        # Not niced: a niced worker on a busy machine gets a tenth of a core's share against
        # every other process and the synth waits for it (measured: 145 s instead of 9 s).
        # Before the lint it is one process next to a synth that keeps about one core busy
        # (Python and jsii's node take turns).
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, str(_WORKER), DEFAULT_REGION, *self.ignored],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )

    def close(self, *, used: bool = True) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if not used:
            process.kill()
        elif process.stdin:
            process.stdin.close()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream and not stream.closed:
                stream.close()

    def _ask(self, templates: Sequence[tuple[Path, str]]) -> list[list[dict[str, Any]]]:
        self.start()
        assert self._process is not None and self._process.stdin is not None and self._process.stdout is not None
        request = {
            "templates": [[str(path), region] for path, region in templates],
            "ignored": self.ignored,
            "jobs": self.workers,
        }
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer = json.loads(self._process.stdout.readline() or '{"error": "the cfn-lint worker stopped"}')
        if "error" in answer:
            raise RuntimeError(f"cfn-lint failed: {answer['error']}")
        findings: list[list[dict[str, Any]]] = []
        for (path, _), result in zip(templates, answer["results"], strict=True):
            if "error" in result:
                raise RuntimeError(f"cfn-lint failed on {path}: {result['error']}")
            findings.append(result["findings"])
        return findings

    def lint(self, templates: Sequence[tuple[Path, str]]) -> dict[Path, list[dict[str, Any]]]:
        """Findings per template path (an empty list: clean), for (template, region) pairs."""
        results: dict[Path, list[dict[str, Any]]] = {}
        misses: list[tuple[Path, str, str]] = []
        cache = _cache_dir()
        for path, region in templates:
            digest = _digest(path.read_text(), region, self.ignored)
            cached = cache / f"{digest}.json"
            if cached.exists():
                results[path] = json.loads(cached.read_text())
                self.cached += 1
            else:
                misses.append((path, region, digest))
        try:
            if misses:
                found = self._ask([(path, region) for path, region, _ in misses])
                cache.mkdir(parents=True, exist_ok=True)
                for (path, _, digest), findings in zip(misses, found, strict=True):
                    results[path] = findings
                    self.linted += 1
                    _write_whole(cache / f"{digest}.json", json.dumps(findings))
        finally:
            self.close(used=bool(misses))
        _write_whole(cache / _LAST_RUN, json.dumps({"linted": len(misses)}), missing_ok=True)
        return {path: results[path] for path, _ in templates}


def _write_whole(target: Path, text: str, *, missing_ok: bool = False) -> None:
    # Written whole, then renamed: a concurrent synth never reads half a file.
    if missing_ok and not target.parent.is_dir():
        return
    partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    partial.write_text(text)
    partial.replace(target)


def misses_expected() -> bool:
    """Whether this synth will likely find templates not in the cache (then the worker starts early).

    A guess from the last lint with this cache: after a run that found every template cached,
    the next is likely a re-run with nothing changed, which starts no worker at all. A wrong
    guess costs time only (the worker starts when the first miss is known), never a lint.
    """
    try:
        return int(json.loads((_cache_dir() / _LAST_RUN).read_text())["linted"]) > 0
    except (OSError, ValueError, KeyError, TypeError):
        return True


def finding_line(template: Path, finding: dict[str, Any]) -> str:
    where = "/".join(finding["path"]) if finding["path"] else f"line {finding['line']}"
    return f"{template.name}: {finding['rule']} {finding['message']} ({where})"


@jsii.implements(IPolicyValidationPlugin)
class CfnLintChecks:
    """cfn-lint over every template of the synth, as a CDK validation plugin.

    :param workers: worker processes for templates not in the cache. Default: one per core.
    :param prestart: start the worker when the plugin is made, so that loading cfn-lint
        overlaps building the constructs. Default: when the last lint with this cache had to
        lint anything (``misses_expected``); a re-run with nothing changed starts no worker.
    """

    #: one entry per validation in this process: templates, linted, cached, findings (for summaries).
    runs: ClassVar[list[dict[str, int]]] = []

    def __init__(self, *, workers: int | None = None, prestart: bool | None = None) -> None:
        self.linter = TemplateLinter(workers=workers)
        if misses_expected() if prestart is None else prestart:
            self.linter.start()

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str | None:
        return _cfn_lint_version()

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        # Each stack's own region (an environment-agnostic stack has none: DEFAULT_REGION).
        regions = {
            str(Path(stack.template_path).resolve()): stack.region
            if stack.region and not Token.is_unresolved(stack.region) and stack.region != "unknown-region"
            else DEFAULT_REGION
            for stack in context.stack_templates
        }
        paths = [str(Path(p).resolve()) for p in context.template_paths]
        for path, region in template_regions(paths).items():
            regions.setdefault(path, region)
        linted, cached = self.linter.linted, self.linter.cached
        results = self.linter.lint([(Path(p), regions.get(p, DEFAULT_REGION)) for p in paths])
        CfnLintChecks.runs.append(
            {
                "templates": len(paths),
                "linted": self.linter.linted - linted,
                "cached": self.linter.cached - cached,
                "findings": sum(len(found) for found in results.values()),
            }
        )
        violations: dict[str, list[PolicyViolatingResource]] = {}
        descriptions: dict[str, str] = {}
        for template, findings in results.items():
            for finding in findings:
                path = finding["path"]
                logical_id = path[1] if len(path) > 1 and path[0] == "Resources" else "-"
                violations.setdefault(finding["rule"], []).append(
                    PolicyViolatingResource(
                        resource_logical_id=logical_id,
                        template_path=str(template),
                        locations=["/".join(path) or f"line {finding['line']}"],
                    )
                )
                descriptions.setdefault(finding["rule"], finding["message"])
        return PolicyValidationPluginReport(
            success=not violations,
            plugin_version=_cfn_lint_version(),
            violations=[
                PolicyViolation(rule_name=rule, description=descriptions[rule], violating_resources=resources)
                for rule, resources in violations.items()
            ],
            metadata={"linted": str(self.linter.linted), "cached": str(self.linter.cached)},
        )
