"""What the sync construct and its handlers agree on, read once from the shared contract file.

``lambda/_shared/python/genba_sync_contract.json`` names the environment variables, the
metrics and SQS's limits; ``lambda/_shared/python/genba_sync.py`` reads the same file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genba_constructs.handler_code import handler_code_path

CONTRACT: dict[str, Any] = json.loads(
    (Path(handler_code_path("_shared")) / "python" / "genba_sync_contract.json").read_text()
)
ENV: dict[str, str] = CONTRACT["environment"]
SYNC_METRICS_NAMESPACE: str = CONTRACT["metrics_namespace"]
SYNC_METRICS: dict[str, str] = CONTRACT["metrics"]
MAX_VISIBILITY_SECONDS: int = CONTRACT["max_visibility_timeout_seconds"]
MAX_DELAY_SECONDS: int = CONTRACT["max_delay_seconds"]
CANARY_PARTITION_VALUE = "genba-sync-canary"
CANARY_SCHEDULED_TIME_ATTRIBUTE = "genba_canary_scheduled_time"
NAME = "SyncVerification"
