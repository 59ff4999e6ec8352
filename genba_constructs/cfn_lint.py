"""cfn-lint as a CDK policy-validation plugin, so every synth path runs the same gates.

``make synth``, ``cdk synth``, ``cdk deploy`` and a team's own app all synthesize through
``App.synth()``; a validation plugin runs there, after the templates are written, next to
cdk-nag's packs (`add_nag_packs` adds both). A finding makes synth fail with
``ValidationFailed`` and lands in ``validation-report.json`` like a cdk-nag finding.

Speed: each template is linted once per content. Results are cached by a digest of the
template, the region, the cfn-lint version and the ignored rules (``GENBA_CFN_LINT_CACHE``,
default ``.cache/cfn-lint`` under the working directory), and cache misses are linted in
parallel over the cores by worker processes (genba_constructs/_lint_worker.py) that load
cfn-lint's rules once each. The workers start when the plugin is made (before synth), so their
start-up overlaps the synth; a synth whose templates are all cached leaves them unused.
"""

from __future__ import annotations

import hashlib
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


def _cfn_lint_version() -> str:
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


def _lower_priority() -> None:
    os.nice(10)


class TemplateLinter:
    """Lints templates with cfn-lint: cached per content, cache misses spread over worker processes.

    :param workers: worker processes. Default: one per core.
    """

    def __init__(self, *, workers: int | None = None, ignored_rules: Iterable[str] = tuple(IGNORED_RULES)) -> None:
        self.ignored = sorted(ignored_rules)
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._processes: list[subprocess.Popen[str]] = []
        self.linted = self.cached = 0

    def start(self) -> None:
        """Start the workers now (each loads cfn-lint's rules), so that they are ready when synth ends."""
        if not self._processes:
            # Niced: while synth runs, loading cfn-lint must not slow it down; a synth whose
            # templates are all cached stops the workers unused (close(used=False)).
            self._processes = [
                subprocess.Popen(
                    [sys.executable, str(_WORKER), DEFAULT_REGION, *self.ignored],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    preexec_fn=_lower_priority if os.name == "posix" else None,
                )
                for _ in range(self.workers)
            ]

    def close(self, *, used: bool = True) -> None:
        for process in self._processes:
            if not used:
                process.kill()
            elif process.stdin:
                process.stdin.close()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream and not stream.closed:
                    stream.close()
        self._processes = []

    def _ask(self, process: subprocess.Popen[str], template: Path, region: str) -> list[dict[str, Any]]:
        assert process.stdin is not None and process.stdout is not None
        request = {"template": str(template), "region": region, "ignored": self.ignored}
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        answer = json.loads(process.stdout.readline() or '{"error": "the cfn-lint worker stopped"}')
        if "error" in answer:
            raise RuntimeError(f"cfn-lint failed on {template}: {answer['error']}")
        findings: list[dict[str, Any]] = answer["findings"]
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
                self.start()
                # One thread per worker, each taking the next template: the workers lint in parallel.
                queue = list(misses)
                lock = threading.Lock()
                failures: list[BaseException] = []

                def feed(process: subprocess.Popen[str]) -> None:
                    while True:
                        with lock:
                            if not queue or failures:
                                return
                            path, region, digest = queue.pop(0)
                        try:
                            found = self._ask(process, path, region)
                        except BaseException as error:  # re-raised below, after the other workers stop
                            with lock:
                                failures.append(error)
                            return
                        with lock:
                            results[path] = found
                            self.linted += 1
                        cache.mkdir(parents=True, exist_ok=True)
                        # Written whole, then renamed: a concurrent synth never reads half a result.
                        partial = cache / f"{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
                        partial.write_text(json.dumps(found))
                        partial.replace(cache / f"{digest}.json")

                threads = [threading.Thread(target=feed, args=(p,)) for p in self._processes[: len(misses)]]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                if failures:
                    raise failures[0]
        finally:
            self.close(used=bool(misses))
        return {path: results[path] for path, _ in templates}


def finding_line(template: Path, finding: dict[str, Any]) -> str:
    where = "/".join(finding["path"]) if finding["path"] else f"line {finding['line']}"
    return f"{template.name}: {finding['rule']} {finding['message']} ({where})"


@jsii.implements(IPolicyValidationPlugin)
class CfnLintChecks:
    """cfn-lint over every template of the synth, as a CDK validation plugin.

    :param workers: worker processes for templates not in the cache. Default: one per core.
    :param prestart: start the workers when the plugin is made, so that loading cfn-lint
        overlaps the synth. Default: true.
    """

    #: one entry per validation in this process: templates, linted, cached, findings (for summaries).
    runs: ClassVar[list[dict[str, int]]] = []

    def __init__(self, *, workers: int | None = None, prestart: bool = True) -> None:
        self.linter = TemplateLinter(workers=workers)
        if prestart:
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
