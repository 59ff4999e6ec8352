"""The simulator's names under their former home (``from tools.sim.sync_sim import ...`` keeps working).

The parts now live in named modules: ``lambda_standin`` (the handlers called in-process as Lambda
would, the events it builds), ``moto_fixes`` (moto server and where moto 5 differs from AWS),
``sync_resources`` (the tables and queues), ``pipeline`` (the pipeline playing Lambda's event
source mappings) and ``sync_worker`` (the lossy sync under test).
"""

from tools.sim.lambda_standin import (
    LAMBDA,
    REGION,
    CountingClient,
    Emitted,
    FakeContext,
    client_error,
    handler_module,
    invoke,
    sqs_event,
    stream_event_record,
)
from tools.sim.moto_fixes import SimulatedTimeStreams, fix_moto_binary_keys, moto_server
from tools.sim.pipeline import SERVICE, Pipeline, percentile
from tools.sim.sync_resources import CANARY_SORT_KEY, SyncResources
from tools.sim.sync_worker import VERSION, LossySyncWorker, write_batch

__all__ = [
    "CANARY_SORT_KEY",
    "LAMBDA",
    "REGION",
    "SERVICE",
    "VERSION",
    "CountingClient",
    "Emitted",
    "FakeContext",
    "LossySyncWorker",
    "Pipeline",
    "SimulatedTimeStreams",
    "SyncResources",
    "client_error",
    "fix_moto_binary_keys",
    "handler_module",
    "invoke",
    "moto_server",
    "percentile",
    "sqs_event",
    "stream_event_record",
    "write_batch",
]
