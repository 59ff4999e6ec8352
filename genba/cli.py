"""Command line: `genba check`, `genba drill`, `genba synth`. Bad input: one line, exit 2."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from genba.assembly import DEFAULT_ASSEMBLY, InputError, load_environment, synth_environment
from genba.aws import Clients
from genba.check import run_check
from genba.drill import run_drill
from genba.key_digest import digest_of
from genba.report import Report

_SINCE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str) -> timedelta:
    """``30m``, ``24h``, ``7d`` (at most 14 days: CloudWatch keeps alarm history for two weeks)."""
    match = _SINCE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InputError(f"bad --since {text!r}: give minutes, hours or days, e.g. 30m, 24h, 7d")
    since = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if since > timedelta(days=14):
        raise InputError(f"bad --since {text!r}: CloudWatch keeps alarm history for 14 days")
    return since


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2 (argparse would print the usage too)
        raise InputError(message)


def parser() -> argparse.ArgumentParser:
    main = _Parser(
        prog="genba",
        description="Compare a deployed genba environment with its templates; find a sync key's log digest.",
    )
    commands = main.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, text in (
        ("check", "read-only: does the account match the templates, and is it working?"),
        ("drill", "put alarms into ALARM and prove that their notifications arrive"),
        ("synth", "synthesize one environment offline into the assembly directory"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--env", required=True, help="environment name from cdk.json (dev, stg, prod)")
        command.add_argument("--assembly", type=Path, default=DEFAULT_ASSEMBLY, help="cloud assembly (cdk.out)")
        if name != "synth":
            command.add_argument("--endpoint-url", help="one endpoint for every service (tests; AWS_ENDPOINT_URL)")
            command.add_argument("--region", help="default: AWS_REGION / AWS_DEFAULT_REGION, else the stacks' region")
    commands.choices["check"].add_argument("--since", help="also list genba's alarm state changes, e.g. 24h")
    drill = commands.choices["drill"]
    drill.add_argument("--alarm", help="drill only this alarm (its AlarmName); default: every alarm")
    drill.add_argument(
        "--i-know-this-is-production",
        dest="production",
        action="store_true",
        help="allow a drill in a production environment (it pages the on-call)",
    )
    drill.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for notifications")
    digest_text = "the digest the sync functions log (request_id) for a DynamoDB key, from its typed JSON"
    digest = commands.add_parser("key-digest", help=digest_text, description=digest_text)
    digest.add_argument("key", help='typed key JSON, e.g. \'{"id": {"S": "a@b.c"}}\'')
    return main


def main(argv: Sequence[str] | None = None, *, overrides: Mapping[str, Any] | None = None) -> int:
    """Exit code: 0 all passed, 1 a failure found, 2 bad input or no access to the account."""
    try:
        args = parser().parse_args(argv)
        if args.command == "key-digest":
            try:
                print(digest_of(args.key))
            except ValueError as error:
                raise InputError(str(error)) from None
            return 0
        if args.command == "synth":
            synth_environment(args.env, args.assembly)
            print(f"genba synth: {args.env} -> {args.assembly}")
            return 0
        since = parse_since(args.since) if getattr(args, "since", None) else None
        env = load_environment(args.env, args.assembly)
        import os

        region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        clients = Clients(region=region or env.stacks[0].region, endpoint_url=args.endpoint_url, overrides=overrides)
        report = Report()
        if args.command == "check":
            return run_check(env, clients, report, since=since)
        return run_drill(
            env, clients, report, alarm=args.alarm, allow_production=args.production, timeout_seconds=args.timeout
        )
    except InputError as error:
        print(f"genba: {error}", file=sys.stderr)
        return 2
    except (NoCredentialsError, NoRegionError) as error:
        print(f"genba: no AWS access: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"genba: AWS call failed: {error}", file=sys.stderr)
        return 2
