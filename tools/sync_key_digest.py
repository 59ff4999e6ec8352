"""The log digest of a DynamoDB key: what the sync functions' request ids carry instead of the key.

The sync handlers log ``<digest>@<sequence number>`` (never a key value in clear). To find the
log lines of one key, compute its digest from the key in DynamoDB's typed form::

    python -m tools.sync_key_digest '{"id": {"S": "a@b.c"}}'
    python -m tools.sync_key_digest '{"pk": {"S": "u-1"}, "sk": {"N": "7"}}'
    python -m tools.sync_key_digest '{"blob": {"B": "AAEC"}}'     # binary: base64, as the stream shows it

and search the log group (Logs Insights) for ``request_id like /^<digest>@/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambda" / "_shared" / "python"))

from genba_sync import MalformedRecord, key_digest, typed_key


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        key = typed_key(json.loads(argv[0]))
    except (ValueError, MalformedRecord) as error:
        print(f"not a typed DynamoDB key: {error}", file=sys.stderr)
        return 2
    print(key_digest(key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
