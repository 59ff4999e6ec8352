"""genba's own tooling, sorted by what each tool is for.

- ``tools.gates``: what must pass before a change lands (the main job's synth with every gate,
  cfn-lint, template snapshots, mypy, ``make detect``).
- ``tools.reports``: what prints or writes figures and reference pages (generated docs, cost,
  benchmarks, the policy audit, the nag and PR-diff reports).
- ``tools.sim``: the sync-verification pipeline on moto server (the simulator the tests, the
  demo, the soak and the sync benchmark share).
- ``tools.assembly``: reading a synthesized cloud assembly, for all of them.
- ``tools.cdk_cli``: running the pinned AWS CDK CLI (``node_modules/.bin/cdk``).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository's root folder."""
