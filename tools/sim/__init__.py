"""The sync-verification pipeline on moto server: what the tests, the demo, the soak and the benchmark share.

Import from here (``from tools.sim import Pipeline, moto_server``): the parts live in
``lambda_standin`` (the handlers called as Lambda would, the events it builds), ``moto_fixes``
(moto server and where moto differs from AWS), ``sync_resources`` and ``pipeline`` (the tables,
queues and Lambda's event source mappings), ``sync_worker`` (the lossy sync under test) and
``sync_faults`` (the fault scenario); ``demo_sync``, ``soak_sync`` are commands on top of them.
"""

from tools.sim.lambda_standin import (
    REGION,
    CountingClient,
    Emitted,
    FakeContext,
    client_error,
    handler_module,
    sqs_event,
)
from tools.sim.moto_fixes import moto_server
from tools.sim.pipeline import Pipeline, percentile
from tools.sim.sync_faults import Faults, run_fault_scenario
from tools.sim.sync_worker import LossySyncWorker

__all__ = [
    "REGION",
    "CountingClient",
    "Emitted",
    "FakeContext",
    "Faults",
    "LossySyncWorker",
    "Pipeline",
    "client_error",
    "handler_module",
    "moto_server",
    "percentile",
    "run_fault_scenario",
    "sqs_event",
]
