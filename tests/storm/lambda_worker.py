"""A Lambda container for the fault storm: one process that runs ``process_event`` per line it reads.

Protocol (one JSON object per line): the parent writes ``{"event": {...}, "remaining_ms": N}`` on stdin,
the worker answers ``{"response": {...}}`` or ``{"error": "..."}`` on the protocol pipe (the original stdout;
the indexer's own JSON logs are sent to stderr so they never mix with answers). Killing this process in the
middle of a batch is the storm's "the handler died": the parent then delivers the batch again, as Lambda
does after a crash or a timeout.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "local")]  # the tests' one Lambda context
    from support.stream_records import LambdaContext

    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the indexer logs JSON lines to stdout: send them to stderr instead
    sys.stdout = sys.stderr
    from indexer.batch import process_event

    if os.environ.get("STORM_PROCESSOR") == "naive":  # the write-up's scheme, to show the storm catches it
        import json as json_

        from support.naive_folding import NaiveFolder

        naive = NaiveFolder(
            os.environ["OPENSEARCH_ENDPOINT"],
            json_.loads(os.environ["ENTITY_CONFIG"]),
            os.environ["TABLE_PARTITION_KEY"],
            os.environ["TABLE_SORT_KEY"],
        )

        def process_event(event: dict[str, Any], context: Any) -> Any:
            return naive.process(event)

    protocol.write('{"ready": true}\n')
    for line in sys.stdin:
        request: dict[str, Any] = json.loads(line)
        try:
            context = LambdaContext(request["remaining_ms"] / 1000, function_name="books-indexer-storm")
            answer = {"response": process_event(request["event"], context)}
        except Exception as exc:  # a failed invocation: Lambda retries the whole batch
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        protocol.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
