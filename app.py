#!/usr/bin/env python3
"""The genba CDK app: one Stage per configured environment, every stack checked by cdk-nag.

`cdk synth` runs this file (see cdk.json); `make synth` runs tools/gates/synth_all.py, which
builds the same app and lints and summarises what it wrote.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App

from genba_constructs import GenbaPropsError, add_nag_packs
from stacks.config import ConfigError, load_environments
from stacks.environment_stage import EnvironmentStage

CDK_JSON = Path(__file__).resolve().parent / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context, for building the app outside the CDK CLI (which passes it itself)."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def _read_json(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except RecursionError:
        raise ConfigError(f"{where}: nested too deep to read") from None
    except ValueError as error:
        raise ConfigError(f"{where}: not JSON ({error})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def raw_context(given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The context as the app will see it, read here with its nulls kept.

    jsii drops keys whose value is null before ``node.try_get_context`` sees them, and a context
    nested thousands deep exhausts node's heap before the loader runs: so genba reads what the
    CDK CLI passes (``CDK_CONTEXT_JSON`` and the overflow file, which win over the app's own
    context, as in aws-cdk-lib's ``App.loadContext``) itself, and checks it before jsii.
    """
    merged = dict(given) if given is not None else {}
    if given is None and "CDK_CONTEXT_JSON" not in os.environ:
        merged = cdk_json_context()
    if "CDK_CONTEXT_JSON" in os.environ:
        merged.update(_read_json(os.environ["CDK_CONTEXT_JSON"], "CDK_CONTEXT_JSON"))
    overflow = os.environ.get("CONTEXT_OVERFLOW_LOCATION_ENV")
    if overflow:
        merged.update(_read_json(Path(overflow).read_text(), overflow))
    return merged


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """Build the app. ``context`` overrides cdk.json (tests pass cdk.json's own context)."""
    raw = raw_context(context)
    environments = load_environments({key: raw[key] for key in ("genba", "env") if key in raw})
    # cfn-lint checks every template after synth (tools/gates/synth_all.py, tests/test_app.py); CDK's
    # built-in CloudFormation validation repeats that class of checks in a WebAssembly engine
    # that took half of the whole synth (4.7 of 9.5 s, measured with `make bench`).
    app = App(
        context=dict(context) if context is not None else None,
        outdir=outdir,
        builtin_cloud_formation_validation=False,
    )
    # The gates first: they run at synth, whatever the order, and adding them now starts the
    # cfn-lint worker (it loads cfn-lint's rules, ~2 s of CPU) while the constructs are built on
    # the other core, not after.
    add_nag_packs(app)
    for config in environments:
        EnvironmentStage(app, config)
    return app


def _say_findings() -> None:
    print(
        "genba: cdk-nag found unacknowledged findings (listed above; report in validation-report.json)",
        file=sys.stderr,
    )


def synth_with_gates(
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    *,
    on_findings: Callable[[], None] = _say_findings,
) -> int:
    """Build and synthesize the app with its gates; the exit code (0 clean, 1 gate findings, 2 bad configuration).

    A configuration error is one line on stderr; findings of the gates (cdk-nag, cfn-lint make
    synth raise ValidationFailed after the assembly is written) are told by ``on_findings``.
    Default: a line pointing at validation-report.json.
    """
    try:
        app = build_app(context, outdir=outdir)
    except (ConfigError, GenbaPropsError) as error:
        print(f"genba: configuration error: {error}", file=sys.stderr)
        return 2
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        on_findings()
        return 1
    return 0


def main() -> int:
    return synth_with_gates()


if __name__ == "__main__":
    sys.exit(main())
