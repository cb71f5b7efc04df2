"""An OpenSearch stand-in that answers at once: every ``_bulk`` action succeeds, every other call is a 200.

``GET .../_alias...`` answers that the alias exists on ``<alias>-v1`` with the indexer's tombstone filter,
so a runtime built with CREATE_INDEX=false (which checks the alias and changes nothing) starts against it.

Run as ``python -m bench.instant_responder PORT``. It parses just enough of the NDJSON body to answer one
item per action in order, as OpenSearch does, so the client sees a realistic response of the right size.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT_INFO = {
    "name": "instant",
    "cluster_name": "bench",
    "version": {"distribution": "opensearch", "number": "2.19.1", "lucene_version": "9.12.1"},
    "tagline": "The OpenSearch Project: https://opensearch.org/",
}
ACKNOWLEDGED = {"acknowledged": True, "shards_acknowledged": True}
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "artifacts" / "update_indices" / "lambda"))
from indexer.tombstones import ALIAS_FILTER  # noqa: E402  (the filter ensure_index checks for)


def alias_answer(path: str) -> dict[str, Any]:
    """``GET /<alias>/_alias`` or ``GET /<index>/_alias/<alias>``: the alias on ``<alias>-v1``, filtered."""
    segments = [s for s in path.split("?")[0].split("/") if s]
    position = segments.index("_alias")
    alias = segments[position + 1] if len(segments) > position + 1 else segments[0]
    definition = {"is_write_index": True, "filter": ALIAS_FILTER}
    return {f"{alias}-v1": {"aliases": {alias: definition}}}


def bulk_items(body: bytes) -> list[dict[str, Any]]:
    lines = [line for line in body.split(b"\n") if line.strip()]
    items: list[dict[str, Any]] = []
    position = 0
    while position < len(lines):
        action = json.loads(lines[position])
        ((op, meta),) = action.items()
        result, status = ("deleted", 200) if op == "delete" else ("created", 201)
        items.append(
            {
                op: {
                    "_index": meta.get("_index", "books"),
                    "_id": meta.get("_id"),
                    "_version": meta.get("version", 1),
                    "result": result,
                    "_shards": {"total": 1, "successful": 1, "failed": 0},
                    "status": status,
                }
            }
        )
        position += 1 if op == "delete" else 2
    return items


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as OpenSearch's HTTP server sets it (network.tcp.no_delay, true by default): without it
    # the body waits for the client's delayed ACK of the headers, 40 ms a request, and inflates its CPU figure
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
        return

    def _answer(self, payload: object, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._body()
        if "/_alias" in self.path:
            self._answer(alias_answer(self.path))
        else:
            self._answer(ROOT_INFO if self.path in ("/", "") else {})

    def do_HEAD(self) -> None:
        self._answer({})

    def do_PUT(self) -> None:
        self._body()
        self._answer(ACKNOWLEDGED)

    def do_DELETE(self) -> None:
        self._answer(ACKNOWLEDGED)

    def do_POST(self) -> None:
        body = self._body()
        if self.path.split("?")[0].endswith("/_bulk"):
            self._answer({"took": 0, "errors": False, "items": bulk_items(body)})
        else:
            self._answer(ACKNOWLEDGED)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
