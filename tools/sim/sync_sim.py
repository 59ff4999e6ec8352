"""The simulator's former single module: the names the tree imported from it still work.

The parts now live in named modules: ``lambda_standin`` (the handlers called in-process as Lambda
would, the events it builds), ``moto_fixes`` (moto server and where moto 5 differs from AWS),
``sync_resources`` (the tables and queues), ``pipeline`` (the pipeline playing Lambda's event
source mappings) and ``sync_worker`` (the lossy sync under test). New code imports from
``tools.sim`` or those modules.
"""

from tools.sim.lambda_standin import LAMBDA, CountingClient, client_error, handler_module, invoke
from tools.sim.pipeline import Pipeline, percentile
from tools.sim.sync_worker import LossySyncWorker

__all__ = ["LAMBDA", "CountingClient", "client_error", "handler_module", "invoke"]
__all__ += ["LossySyncWorker", "Pipeline", "percentile"]
