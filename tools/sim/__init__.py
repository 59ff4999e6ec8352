"""The sync-verification pipeline on moto server: what the tests, the demo, the soak and the benchmark share.

Import from here (``from tools.sim import Pipeline, moto_server``): the parts live in
``sync_sim`` (moto server, the Lambda stand-in, the lossy sync worker) and ``sync_faults``
(the fault scenario); ``demo_sync``, ``soak_sync`` are commands on top of them.
"""

from tools.sim.sync_faults import Faults, run_fault_scenario
from tools.sim.sync_sim import (
    REGION,
    CountingClient,
    Emitted,
    FakeContext,
    LossySyncWorker,
    Pipeline,
    client_error,
    handler_module,
    moto_server,
    percentile,
)

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
]
