"""Print every cdk-nag acknowledgement of the last `make synth`, with its reason."""

from __future__ import annotations

import sys
from pathlib import Path

from tools import ROOT
from tools.assembly import nag_report


def main(outdir: Path = ROOT / "cdk.out") -> int:
    report = nag_report(outdir)
    for plugin in report["pluginReports"]:
        for violation in plugin.get("violations", []):
            for construct in violation["violatingConstructs"]:
                print(f"UNACKNOWLEDGED {violation['ruleName']}: {construct['constructPath']}")
        for suppressed in plugin.get("suppressedViolations", []):
            for construct in suppressed["violatingConstructs"]:
                print(f"{suppressed['ruleName']:<44} {construct['constructPath']}\n    {suppressed['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
