"""A fault-injecting HTTP proxy between a client and OpenSearch, for faults the stand-in never produces.

It listens on 127.0.0.1, forwards every request to the upstream URL and records it. On demand it:

- answers chosen documents of a ``_bulk`` request with a per-item status (429, 503, ...) without forwarding
  them: the request is rewritten to carry only the other documents and the upstream's ``items`` are merged
  back in the original order (``fail_items``);
- fails whole requests: an HTTP status with an OpenSearch-style error body, a slow answer, or a dropped
  connection (``fail_requests``);
- does either at random with given rates and a seed, for fault storms (``storm``);
- cuts the upstream off (``outage``): requests in flight finish, new ones get a dropped connection, as
  while an OpenSearch node restarts.

It is strict where the stand-in is lenient (``strict=True``, the default): the production domain runs with
``rest.action.multi.allow_explicit_index=false`` (an Amazon OpenSearch Service advanced option, so that
index-scoped IAM policies cannot be bypassed, https://docs.aws.amazon.com/opensearch-service/latest/
developerguide/ac.html#ac-advanced), and OpenSearch then refuses a WHOLE ``_bulk``/``_mget`` request with 400
"explicit index in bulk is not allowed" when any body line names an ``_index``, even the URL's own. The
stand-in accepts them, so the proxy answers such requests as the domain would (``explicit_index_refusals``),
and it refuses a ``_bulk``/``_mget`` sent to the root path, which index-scoped IAM forbids. It also refuses,
item by item, a document with a keyword value over Lucene's 32,766-byte term limit that the index's mapping
does not cap with ``ignore_above`` (``support.immense_terms``; ``immense_term_refusals``), as OpenSearch does
and the stand-in does not.

Use it as a context manager::

    with FaultProxy(opensearch_url) as proxy:
        proxy.fail_items("doc-1", 429, 429)  # the next two appearances of doc-1 get 429
        ... point the client at proxy.url ...
        assert len(proxy.bulk_requests()) == 3
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

from support.immense_terms import MAX_TERM_BYTES, immense_terms, refusal

FaultKind = Literal["status", "slow", "drop"]
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",  # the proxy must read bulk answers, so it asks for plain bodies
}
ERROR_TYPES = {429: "es_rejected_execution_exception", 503: "unavailable_shards_exception"}


@dataclass(frozen=True)
class RequestFault:
    """What happens to one whole request: an error status, a slow answer (then forwarded), or a drop."""

    kind: FaultKind = "status"
    status: int = 503
    delay_seconds: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # what the client got; None when the connection was dropped
    fault: RequestFault | None = None
    injected_items: list[tuple[str, int]] = field(default_factory=list)  # (doc id, status)

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    @property
    def is_bulk(self) -> bool:
        return urlsplit(self.path).path.endswith("/_bulk")

    def bulk_actions(self) -> list[dict[str, Any]]:
        """The action lines of a _bulk body, e.g. ``{"index": {"_id": "a", ...}}``."""
        return [action for action, _ in _parse_bulk(self.body)]

    def bulk_ids(self) -> list[str]:
        return [next(iter(action.values())).get("_id") for action in self.bulk_actions()]


@dataclass
class _Storm:
    item_rate: float
    request_rate: float
    item_statuses: tuple[int, ...]
    request_faults: tuple[RequestFault, ...]
    rng: random.Random


class FaultProxy:
    def __init__(
        self, upstream: str, *, upstream_timeout: float = 60.0, strict: bool = True, record: bool = True
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be http://host:port, got {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.upstream_timeout = upstream_timeout
        self.strict = strict
        self.record = record
        self.explicit_index_refusals: list[Recorded] = []
        self.immense_term_refusals: list[tuple[str | None, str]] = []  # (doc id, field)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._item_faults: dict[str, deque[int]] = defaultdict(deque)
        self._always: dict[str, int] = {}
        self._request_faults: deque[RequestFault] = deque()
        self._any_faults: deque[RequestFault] = deque()
        self._storm: _Storm | None = None
        self._requests: list[Recorded] = []
        self._down = False
        self._in_flight = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # configuring faults ----------------------------------------------------------------------------------
    def fail_items(self, doc_id: str, *statuses: int) -> None:
        """The next appearances of doc_id in _bulk requests get these statuses, one per appearance."""
        with self._lock:
            self._item_faults[doc_id].extend(statuses)

    def fail_item_always(self, doc_id: str, status: int) -> None:
        with self._lock:
            self._always[doc_id] = status

    def fail_requests(self, *faults: RequestFault) -> None:
        """The next _bulk requests meet these faults, one per request, in order."""
        with self._lock:
            self._request_faults.extend(faults)

    def fail_next(self, *faults: RequestFault) -> None:
        """The next requests of any kind (searches, mgets, alias changes, ...) meet these faults, in order."""
        with self._lock:
            self._any_faults.extend(faults)

    def storm(
        self,
        *,
        item_rate: float = 0.0,
        request_rate: float = 0.0,
        item_statuses: tuple[int, ...] = (429, 503),
        request_faults: tuple[RequestFault, ...] = (RequestFault("status", 429), RequestFault("status", 503)),
        seed: int = 0,
    ) -> None:
        """From now on, fault each _bulk item / request at random with these rates (reproducible by seed)."""
        with self._lock:
            self._storm = _Storm(item_rate, request_rate, item_statuses, request_faults, random.Random(seed))

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The upstream is unreachable inside the block: requests already forwarded finish first (their
        answers are delivered), every other request gets a dropped connection until the block ends."""
        with self._lock:
            self._down = True
        try:
            wait_until(lambda: self._in_flight == 0, timeout=self.upstream_timeout + 5)
            yield
        finally:
            with self._lock:
                self._down = False

    def calm(self) -> None:
        """Remove every configured fault (recorded requests stay)."""
        with self._lock:
            self._item_faults.clear()
            self._always.clear()
            self._request_faults.clear()
            self._any_faults.clear()
            self._storm = None

    # observing -------------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def bulk_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.is_bulk]

    def clear_records(self) -> None:
        with self._lock:
            self._requests.clear()

    # used by the handler ---------------------------------------------------------------------------------
    def _record(self, recorded: Recorded) -> None:
        if self.record:
            with self._lock:
                self._requests.append(recorded)

    def _request_fault(self, recorded: Recorded) -> RequestFault | None:
        with self._lock:
            if self._any_faults:
                return self._any_faults.popleft()
        if not recorded.is_bulk:
            return None
        with self._lock:
            if self._request_faults:
                return self._request_faults.popleft()
            storm = self._storm
            if storm and storm.request_faults and storm.rng.random() < storm.request_rate:
                return storm.rng.choice(storm.request_faults)
        return None

    def _item_fault(self, doc_id: str | None) -> int | None:
        if doc_id is None:
            return None
        with self._lock:
            if doc_id in self._always:
                return self._always[doc_id]
            queue = self._item_faults.get(doc_id)
            if queue:
                return queue.popleft()
            storm = self._storm
            if storm and storm.item_statuses and storm.rng.random() < storm.item_rate:
                return storm.rng.choice(storm.item_statuses)
        return None

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        with self._lock:
            if self._down:
                raise ConnectionResetError("the upstream is down (outage)")
            self._in_flight += 1
        connection = http.client.HTTPConnection(
            self.upstream_host, self.upstream_port, timeout=self.upstream_timeout
        )
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(
                method, path, body=body if body or method in ("POST", "PUT") else None, headers=forwarded
            )
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type", "application/json"), response.read()
        finally:
            connection.close()
            with self._lock:
                self._in_flight -= 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _handle(self) -> None:
        proxy: FaultProxy = self.server.proxy  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
        proxy._record(recorded)
        try:
            if proxy.strict and (refusal := _strict_refusal(recorded)) is not None:
                with proxy._lock:
                    proxy.explicit_index_refusals.append(recorded)
                self._reply(refusal[0], "application/json", refusal[1], recorded)
                return
            fault = proxy._request_fault(recorded)
            recorded.fault = fault
            if fault is not None and fault.kind == "drop":
                self._drop()
                return
            if fault is not None and fault.kind == "slow":
                proxy._wait(fault.delay_seconds)
            if fault is not None and fault.kind == "status":
                self._reply(fault.status, "application/json", _error_body(fault.status), recorded)
                return
            if recorded.is_bulk and self.command in ("POST", "PUT"):
                status, content_type, answer = self._bulk(proxy, recorded)
            else:
                status, content_type, answer = proxy._forward(self.command, self.path, recorded.headers, body)
            self._reply(status, content_type, answer, recorded)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            # the client gave up (e.g. its timeout during a slow answer), or the upstream is down: drop
            self._drop()

    def _bulk(self, proxy: FaultProxy, recorded: Recorded) -> tuple[int, str, bytes]:
        entries = _parse_bulk(recorded.body)
        injected: dict[int, dict[str, Any]] = self._immense(proxy, recorded, entries) if proxy.strict else {}
        for index, (action, _) in enumerate(entries):
            meta = next(iter(action.values()))
            status = proxy._item_fault(meta.get("_id"))
            if status is not None and index not in injected:
                injected[index] = _item_error(meta, status)
                recorded.injected_items.append((meta.get("_id"), status))
        if not injected:
            return proxy._forward(self.command, self.path, recorded.headers, recorded.body)
        kept = [entry for i, entry in enumerate(entries) if i not in injected]
        upstream_items: Iterator[dict[str, Any]] = iter(())
        took = 0
        if kept:
            status, content_type, answer = proxy._forward(
                self.command,
                self.path,
                recorded.headers,
                b"".join(line for _, lines in kept for line in lines),
            )
            if status != 200:
                return status, content_type, answer
            parsed = json.loads(answer)
            upstream_items, took = iter(parsed["items"]), parsed.get("took", 0)
        items = []
        for index, (action, _) in enumerate(entries):
            if index in injected:
                op_type = next(iter(action))
                items.append({op_type: injected[index]})
            else:
                items.append(next(upstream_items))
        return 200, "application/json", json.dumps({"took": took, "errors": True, "items": items}).encode()

    def _immense(
        self, proxy: FaultProxy, recorded: Recorded, entries: list[tuple[dict[str, Any], list[bytes]]]
    ) -> dict[int, dict[str, Any]]:
        """The items OpenSearch would refuse for a keyword term over 32,766 bytes (``support.immense_terms``).
        Only a source line longer than that can hold one, so the mapping is read only then."""
        long_items = [
            i
            for i, (action, lines) in enumerate(entries)
            if next(iter(action)) in ("index", "create") and len(lines[-1]) > MAX_TERM_BYTES
        ]
        if not long_items:
            return {}
        index = urlsplit(recorded.path).path.split("/")[1]
        status, _, answer = proxy._forward("GET", f"/{index}/_mapping", {}, b"")
        if status != 200:
            return {}  # no index yet: dynamic mapping's default caps keyword sub-fields at 256 characters
        mappings = next(iter(json.loads(answer).values()), {}).get("mappings", {})
        refused: dict[int, dict[str, Any]] = {}
        for i in long_items:
            action, lines = entries[i]
            meta = next(iter(action.values()))
            found = immense_terms(mappings, json.loads(lines[-1]))
            if found:
                field, size = found[0]
                refused[i] = refusal(index, meta.get("_id"), field, size)
                with proxy._lock:
                    proxy.immense_term_refusals.append((meta.get("_id"), field))
        return refused

    def _reply(self, status: int, content_type: str, body: bytes, recorded: Recorded) -> None:
        recorded.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


EXPLICIT_INDEX_REFUSAL = {
    "error": {"type": "illegal_argument_exception", "reason": "explicit index in bulk is not allowed"},
    "status": 400,
}
ROOT_PATH_REFUSAL = {
    "error": {
        "type": "security_exception",
        "reason": "a _bulk/_mget on the root path is outside an index-scoped IAM policy",
    },
    "status": 403,
}


def _strict_refusal(recorded: Recorded) -> tuple[int, bytes] | None:
    """The domain's answer to a _bulk/_mget that names an index in its body or has none in its URL."""
    path = urlsplit(recorded.path).path
    if not (path.endswith("/_bulk") or path.endswith("/_mget")):
        return None
    if path in ("/_bulk", "/_mget"):
        return 403, json.dumps(ROOT_PATH_REFUSAL).encode()
    if path.endswith("/_bulk"):
        explicit = any(
            "_index" in meta for action, _ in _parse_bulk(recorded.body) for meta in action.values()
        )
    else:
        body = json.loads(recorded.body or b"{}")
        docs = body.get("docs") or []
        explicit = set(body) - {"ids", "docs"} != set() or any("_index" in doc for doc in docs)
    return (400, json.dumps(EXPLICIT_INDEX_REFUSAL).encode()) if explicit else None


def _parse_bulk(body: bytes) -> list[tuple[dict[str, Any], list[bytes]]]:
    """(action, its raw lines) per bulk entry; index/create/update entries carry a source line."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    entries: list[tuple[dict[str, Any], list[bytes]]] = []
    i = 0
    while i < len(lines):
        action = json.loads(lines[i])
        op_type = next(iter(action))
        width = 1 if op_type == "delete" else 2
        entries.append((action, [line + b"\n" for line in lines[i : i + width]]))
        i += width
    return entries


def _item_error(meta: dict[str, Any], status: int) -> dict[str, Any]:
    return {
        "_index": meta.get("_index"),
        "_id": meta.get("_id"),
        "status": status,
        "error": {
            "type": ERROR_TYPES.get(status, "injected_exception"),
            "reason": "injected by the fault proxy",
        },
    }


def _error_body(status: int) -> bytes:
    error = {"type": ERROR_TYPES.get(status, "injected_exception"), "reason": "injected by the fault proxy"}
    return json.dumps({"error": {"root_cause": [error], **error}, "status": status}).encode()


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    """Poll until predicate() is true (for asserting on requests the proxy records in other threads)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.01)
