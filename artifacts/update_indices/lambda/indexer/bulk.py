"""Write: bulk actions to OpenSearch, with per-item results and retries inside the invocation's time.

``opensearchpy.helpers.streaming_bulk`` does the chunking (by count and by bytes) and turns per-item errors
and whole-request transport errors into per-item results (``raise_on_error=False``,
``raise_on_exception=False``). It only retries 429, only with blocking sleeps up to ``max_backoff`` that know
nothing of Lambda's timeout, and never retries 5xx or timeouts, so its own retries are off
(``max_retries=0``) and this module adds them: items that failed with 429, 5xx, a timeout or a dropped
connection are sent again after an exponential backoff with full jitter, as long as the deadline leaves time
for the wait plus a request. A 409 on an ``external_gte`` write means newer data is already indexed and counts
as success ("conflict"); a 404 on a delete means the document is already gone and counts as success.

One bad item fails alone: OpenSearch validates every action of a ``_bulk`` request before running any, so one
invalid action (an ``_id`` over 512 bytes, https://docs.opensearch.org/latest/mappings/metadata-fields/id/)
fails the whole request with 400, and a body over ``http.max_content_length`` fails it with 413. Items of a
request that failed as a whole with 400 or 413 are split in halves and sent again (bisection) until only the
guilty items fail; the others succeed. A lone item that still gets 400/413 fails permanently.

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

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import TransportError

from indexer.deadline import Deadline
from indexer.documents import BulkAction
from indexer.settings import Settings

Outcome = Literal["indexed", "deleted", "conflict", "not_found", "failed"]
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
SPLIT_STATUSES = frozenset({400, 413})  # whole-request answers caused by some items: bisect to find them
NOT_SENT_REASON = "deadline: no time left to send"
CONNECTION_FAILURE = "N/A"  # opensearch-py's status for connection errors and timeouts
MIN_REQUEST_SECONDS = 0.5  # no request is started with less time than this left


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
    URL (``POST /<index>/_bulk``); one ItemResult per action, in the same order."""
    index = index or settings.opensearch_index
    stats = stats if stats is not None else WriteStats()
    rng = rng or random.Random()
    results: list[ItemResult | None] = [None] * len(actions)
    pending = list(range(len(actions)))
    attempt = 0
    while pending:
        attempt += 1
        if deadline.remaining() < MIN_REQUEST_SECONDS:
            for i in pending:
                results[i] = _not_sent(actions[i], attempt - 1)
            break
        sent = _send([actions[i] for i in pending], client, settings, deadline, stats, index)
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
    actions: list[BulkAction],
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
    actions: list[BulkAction],
    client: OpenSearch,
    settings: Settings,
    deadline: Deadline,
    stats: WriteStats,
    index: str,
) -> list[ItemResult]:
    """One streaming_bulk over the actions; per-item results in input order."""
    guarded = _GuardedClient(client, settings, deadline, stats)
    outcomes: list[ItemResult] = []
    for action, (ok, item) in zip(
        actions,
        helpers.streaming_bulk(
            guarded,
            actions,
            chunk_size=settings.bulk_max_actions,
            max_chunk_bytes=settings.bulk_max_bytes,
            raise_on_error=False,  # per-item results, never BulkIndexError
            raise_on_exception=False,  # a failed request marks its chunk's items failed instead of raising
            max_retries=0,  # retries happen in write_actions, deadline-aware and for 5xx too
            initial_backoff=settings.retry_initial_backoff_seconds,  # unused with max_retries=0
            max_backoff=settings.retry_max_backoff_seconds,
            yield_ok=True,  # one result per action, so results zip with actions
            ignore_status=(),
            index=index,  # POST /<index>/_bulk, actions without _index: see BulkAction
        ),
        strict=True,
    ):
        outcomes.append(_result(action, ok, item))
    return outcomes


def _result(action: BulkAction, ok: bool, item: dict[str, Any]) -> ItemResult:
    op_type, info = next(iter(item.items()))
    doc_id = action["_id"]
    if info.get("_id") not in (None, doc_id):
        raise RuntimeError(f"bulk response out of order: expected id {doc_id!r}, got {info.get('_id')!r}")
    status = info.get("status")
    status = status if isinstance(status, int) else None
    if ok:
        return ItemResult(doc_id, op_type, "deleted" if op_type == "delete" else "indexed", status)
    if isinstance(info.get("exception"), DeadlineReached):
        return ItemResult(doc_id, op_type, "failed", None, NOT_SENT_REASON, True, whole_request=True)
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
    )


def _not_sent(action: BulkAction, attempts: int) -> ItemResult:
    op_type = action.get("_op_type", "index")
    return ItemResult(action["_id"], op_type, "failed", None, NOT_SENT_REASON, True, attempts, True)


class DeadlineReached(TransportError):
    """A chunk was not sent: less than MIN_REQUEST_SECONDS remained (streaming_bulk fails its items)."""

    def __init__(self) -> None:
        super().__init__(CONNECTION_FAILURE, NOT_SENT_REASON)


class _GuardedClient:
    """The client as streaming_bulk sees it (one ``bulk`` call per chunk): each request is counted, gets the
    remaining time as its timeout, and is not sent at all when too little time remains."""

    def __init__(self, client: OpenSearch, settings: Settings, deadline: Deadline, stats: WriteStats) -> None:
        self._client = client
        self._settings = settings
        self._deadline = deadline
        self._stats = stats
        self.transport = client.transport

    def bulk(self, *args: Any, **kwargs: Any) -> Any:
        remaining = self._deadline.remaining()
        if remaining < MIN_REQUEST_SECONDS:
            raise DeadlineReached()
        self._stats.requests += 1
        kwargs["request_timeout"] = min(self._settings.request_timeout_seconds, remaining)
        return self._client.bulk(*args, **kwargs)
