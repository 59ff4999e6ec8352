"""`genba key-digest`: the log digest of a DynamoDB key, which the sync functions' request ids carry.

The sync handlers log ``<digest>@<sequence number>`` (never a key value in clear). To find the
log lines of one key, compute its digest from the key in DynamoDB's typed form::

    python -m genba key-digest '{"id": {"S": "a@b.c"}}'
    python -m genba key-digest '{"pk": {"S": "u-1"}, "sk": {"N": "7"}}'
    python -m genba key-digest '{"blob": {"B": "AAEC"}}'     # binary: base64, as the stream shows it

and search the log group (Logs Insights) for ``request_id like /^<digest>@/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The digest is computed by the handlers' own shared module (the one deployed in their layer),
# so the CLI and the logs cannot disagree.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambda" / "_shared" / "python"))

from genba_sync import MalformedRecord, key_digest, typed_key


def digest_of(text: str) -> str:
    """The digest of a key given as typed DynamoDB JSON; ValueError naming what is wrong."""
    try:
        return str(key_digest(typed_key(json.loads(text))))
    except (ValueError, MalformedRecord) as error:
        raise ValueError(f"not a typed DynamoDB key: {error}; given {text!r}") from None
