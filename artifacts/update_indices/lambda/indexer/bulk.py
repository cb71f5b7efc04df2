"""Write: bulk actions to OpenSearch, with per-item results and retries inside the invocation's time.

Each action is serialised once (``exact_json.dumps_bytes``: orjson, Decimals and big integers exact) into its
NDJSON lines, and each request sends one pre-built body: ``POST /<index>/_bulk`` on the client's connection
(``transport.get_connection().perform_request``: the same HTTP client, auth and error classes, without the
transport's per-request serializer pass and json.loads; the answer is parsed once with orjson).

This replaces ``opensearchpy.helpers.streaming_bulk``, which serialised every action through the json module
again on every retry and bisection pass and, with the client's transport, cost more CPU than decoding and
projecting the records (bench/cpu.py against the instant responder, compared in turns on one machine when this
module replaced it; docs/benchmarks.md has the current figure).
The behaviour is streaming_bulk's with ``raise_on_error=False, raise_on_exception=False,
max_retries=0, yield_ok=True``: requests are chunked by count (BULK_MAX_ACTIONS) and by bytes
(BULK_MAX_BYTES, each line counted with its newline, a chunk closed before the action that would overflow it),
the action line carries the same metadata (``expand_action``'s keys), every action gets one result in input
order, and a request that fails as a whole (HTTP error, timeout, dropped connection) fails each of its items.

Retries: items that failed with 429, 5xx, a timeout or a dropped connection are sent again after an
exponential backoff with full jitter, as long as the deadline leaves time for the wait plus a request. A 409
on an ``external_gte`` write means newer data is already indexed and counts as success ("conflict"); a 404 on
a delete means the document is already gone and counts as success.

One bad item fails alone: OpenSearch validates every action of a ``_bulk`` request before running any, so one
invalid action (an ``_id`` over 512 bytes, https://docs.opensearch.org/latest/mappings/metadata-fields/id/)
fails the whole request with 400, and a body over ``http.max_content_length`` fails it with 413. Items of a
request that failed as a whole with 400 or 413 are split in halves and sent again (bisection) until only the
guilty items fail; the others succeed. A lone item that still gets 400/413 fails permanently.

Writes through the alias carry ``require_alias=true``: if the alias is lost (deleted with its index, or
removed by hand), OpenSearch refuses each item with 404 instead of auto-creating a plain index of that name,
which would have no tombstone filter, would take every later write and would fail every later cold start
(Bulk API, https://docs.opensearch.org/latest/api-reference/document-apis/bulk/: "require_alias: Set to
true to require that all actions target an index alias rather than an index"). The items fail (not
retryable), so the batch reports them. Writes into a concrete index by name (the operations tool's reindex
and ``--into``) do not carry it.

The deadline holds within a pass: every request's timeout is the time that remains (at most
REQUEST_TIMEOUT_SECONDS), and a request that would start with less than ``MIN_REQUEST_SECONDS`` left is
not sent; its items are reported as failures (retryable), so the earliest failed sequence number covers them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from opensearchpy import OpenSearch, helpers
from opensearchpy.client.utils import _make_path
from opensearchpy.exceptions import TransportError

from indexer.deadline import Deadline
from indexer.documents import BulkAction
from indexer.exact_json import dumps_bytes
from indexer.settings import Settings

Outcome = Literal["indexed", "deleted", "conflict", "not_found", "failed"]
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
SPLIT_STATUSES = frozenset({400, 413})  # whole-request answers caused by some items: bisect to find them
NOT_SENT_REASON = "deadline: no time left to send"
MIN_REQUEST_SECONDS = 0.5  # no request is started with less time than this left
REQUIRE_ALIAS = "?require_alias=true"  # on writes through the alias: a lost alias fails, never auto-creates


@dataclass(frozen=True)
class ItemResult:
    doc_id: str
    op_type: Literal["index", "create", "delete"]
    outcome: Outcome
    status: int | None  # None: no HTTP answer (connection error, timeout, or not sent before the deadline)
    reason: str | None = None  # error type and reason for failures; never the document
    retryable: bool = False
    attempts: int = 1
    whole_request: bool = False  # the failure was the whole request's (HTTP error, timeout, not sent)
    index: str | None = None  # the concrete index that wrote it (an alias resolves to its write index)

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


@dataclass
class WriteStats:
    requests: int = 0
    retried: int = 0  # item re-sends


def write_actions(
    client: OpenSearch,
    actions: Sequence[BulkAction],
    settings: Settings,
    deadline: Deadline,
    *,
    stats: WriteStats | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    index: str | None = None,
) -> list[ItemResult]:
    """Write the actions into ``index`` (default: the alias OPENSEARCH_INDEX), the index named only in the
    URL (``POST /<index>/_bulk``, with ``require_alias=true`` when it is the alias); one ItemResult per
    action, in the same order."""
    index = index or settings.opensearch_index
    stats = stats if stats is not None else WriteStats()
    rng = rng or random.Random()
    encoded = [_Encoded.of(action) for action in actions]  # serialised once, whatever the passes
    results: list[ItemResult | None] = [None] * len(actions)
    pending = list(range(len(actions)))
    attempt = 0
    while pending:
        attempt += 1
        if deadline.remaining() < MIN_REQUEST_SECONDS:
            for i in pending:
                results[i] = _not_sent(encoded[i], attempt - 1)
            break
        sent = _send([encoded[i] for i in pending], client, settings, deadline, stats, index)
        for i, result in zip(pending, sent, strict=True):
            results[i] = _with_attempts(result, attempt)
        pending = [i for i in pending if results[i].retryable]  # type: ignore[union-attr]
        if not pending or attempt >= settings.retry_max_attempts:
            break
        delay = rng.uniform(
            0,
            min(
                settings.retry_max_backoff_seconds,
                settings.retry_initial_backoff_seconds * 2 ** (attempt - 1),
            ),
        )
        if deadline.remaining() < delay + MIN_REQUEST_SECONDS:
            break
        sleep(delay)
        stats.retried += len(pending)
    return [r for r in results if r is not None]


def _send(
    actions: list[_Encoded],
    client: OpenSearch,
    settings: Settings,
    deadline: Deadline,
    stats: WriteStats,
    index: str,
) -> list[ItemResult]:
    """One pass over the actions, bisecting requests that failed as a whole with 400/413."""
    results = _stream(actions, client, settings, deadline, stats, index)
    suspects = [i for i, r in enumerate(results) if r.whole_request and r.status in SPLIT_STATUSES]
    if len(suspects) > 1:
        half = len(suspects) // 2
        for part in (suspects[:half], suspects[half:]):
            retried = _send([actions[i] for i in part], client, settings, deadline, stats, index)
            for i, result in zip(part, retried, strict=True):
                results[i] = result
    return results


def _stream(
    actions: list[_Encoded],
    client: OpenSearch,
    settings: Settings,
    deadline: Deadline,
    stats: WriteStats,
    index: str,
) -> list[ItemResult]:
    """The actions in chunks, one request each; per-item results in input order."""
    path = _make_path(index, "_bulk")
    if index == settings.opensearch_index:
        path += REQUIRE_ALIAS
    outcomes: list[ItemResult] = []
    for chunk in _chunks(actions, settings.bulk_max_actions, settings.bulk_max_bytes):
        outcomes.extend(_request(chunk, client, path, settings, deadline, stats))
    return outcomes


def _chunks(actions: list[_Encoded], max_actions: int, max_bytes: int) -> list[list[_Encoded]]:
    """streaming_bulk's chunking: a chunk is closed when it holds ``max_actions`` actions or when the next
    action would take it over ``max_bytes`` (a single larger action still goes alone)."""
    chunks: list[list[_Encoded]] = []
    chunk: list[_Encoded] = []
    size = 0
    for action in actions:
        length = len(action.lines)
        if chunk and (size + length > max_bytes or len(chunk) == max_actions):
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(action)
        size += length
    if chunk:
        chunks.append(chunk)
    return chunks


def _request(
    chunk: list[_Encoded],
    client: OpenSearch,
    path: str,
    settings: Settings,
    deadline: Deadline,
    stats: WriteStats,
) -> list[ItemResult]:
    """One ``_bulk`` request for the chunk, with the remaining time as its timeout; not sent when too little
    time remains. A whole-request failure becomes each item's failure."""
    remaining = deadline.remaining()
    if remaining < MIN_REQUEST_SECONDS:
        return [_not_sent(action, 1) for action in chunk]
    stats.requests += 1
    try:
        _, _, raw = client.transport.get_connection().perform_request(
            "POST",
            path,
            params=None,
            body=b"".join([action.lines for action in chunk]),
            timeout=min(settings.request_timeout_seconds, remaining),
        )
    except TransportError as exc:  # connection errors and timeouts too (opensearch-py's ConnectionError)
        info = {"error": str(exc), "status": exc.status_code, "exception": exc}
        return [_result(action, False, {action.op_type: info}) for action in chunk]
    items = orjson.loads(raw)["items"]
    if len(items) != len(chunk):
        raise RuntimeError(f"bulk response has {len(items)} items for {len(chunk)} actions")
    outcomes = []
    for action, item in zip(chunk, items, strict=True):
        status = next(iter(item.values())).get("status", 500)
        outcomes.append(_result(action, 200 <= status < 300, item))
    return outcomes


def _result(action: _Encoded, ok: bool, item: dict[str, Any]) -> ItemResult:
    op_type, info = next(iter(item.items()))
    doc_id = action.doc_id
    if info.get("_id") not in (None, doc_id):
        raise RuntimeError(f"bulk response out of order: expected id {doc_id!r}, got {info.get('_id')!r}")
    status = info.get("status")
    status = status if isinstance(status, int) else None
    if ok:
        outcome: Outcome = "deleted" if op_type == "delete" else "indexed"
        return ItemResult(doc_id, op_type, outcome, status, None, False, 1, False, info.get("_index"))
    if "exception" in info:  # the whole request failed (HTTP error, timeout, dropped connection)
        retryable = status is None or status in RETRYABLE_STATUSES
        return ItemResult(
            doc_id, op_type, "failed", status, error_reason(info), retryable, whole_request=True
        )
    if status == 409:
        return ItemResult(doc_id, op_type, "conflict", status)
    if status == 404 and op_type == "delete":
        return ItemResult(doc_id, op_type, "not_found", status)
    retryable = status is None or status in RETRYABLE_STATUSES
    return ItemResult(doc_id, op_type, "failed", status, error_reason(info), retryable)


def error_reason(info: dict[str, Any]) -> str:
    """A short reason for a failed item, without field values (OpenSearch quotes a field's value)."""
    error = info.get("error")
    if isinstance(error, dict):
        reason = str(error.get("reason", "")).split(". Preview of field's value")[0]
        text = f"{error.get('type', 'error')}: {reason}"
        caused_by = error.get("caused_by")
        if isinstance(caused_by, dict) and caused_by.get("type"):
            text += f" (caused by {caused_by['type']})"
    elif "exception" in info:
        exception = info["exception"]
        error_type = getattr(exception, "error", None)  # OpenSearch's error type, e.g. "..._exception"
        kind = f" {error_type}" if isinstance(error_type, str) and error_type.endswith("exception") else ""
        text = f"request failed: {type(exception).__name__}{kind} (status {info.get('status')})"
    else:
        text = str(error or info.get("result") or "unknown error")
    return text[:300]


def _with_attempts(result: ItemResult, attempts: int) -> ItemResult:
    if result.attempts == attempts:
        return result
    return ItemResult(  # not dataclasses.replace: this runs once per item, and replace costs microseconds
        result.doc_id,
        result.op_type,
        result.outcome,
        result.status,
        result.reason,
        result.retryable,
        attempts,
        result.whole_request,
        result.index,
    )


def _not_sent(action: _Encoded, attempts: int) -> ItemResult:
    return ItemResult(action.doc_id, action.op_type, "failed", None, NOT_SENT_REASON, True, attempts, True)


_PLAIN_KEYS = frozenset({"_op_type", "_id", "version", "version_type", "_source"})


@dataclass(frozen=True, slots=True)
class _Encoded:
    """An action as it goes on the wire: its NDJSON lines (action line, source line unless a delete)."""

    doc_id: str
    op_type: Literal["index", "create", "delete"]
    lines: bytes

    @classmethod
    def of(cls, action: BulkAction) -> _Encoded:
        op_type = action.get("_op_type", "index")
        if action.keys() <= _PLAIN_KEYS:  # what documents.py builds: the metadata needs no key scan
            meta: dict[str, Any] = {"_id": action["_id"]}
            if "version" in action:
                meta["version"] = action["version"]
            if "version_type" in action:
                meta["version_type"] = action["version_type"]
            header: dict[str, Any] = {op_type: meta}
            source: Any = action.get("_source", {})
        else:  # any other action as streaming_bulk would send it
            header, source = helpers.expand_action(action)
        lines = dumps_bytes(header) + b"\n"
        if op_type != "delete":
            lines += dumps_bytes(source) + b"\n"
        return cls(action["_id"], op_type, lines)
