"""Copy the tombstones of one index into another, so deletes keep refusing older writes there (reindex).

A reindex fills the new index from a table scan, which cannot see deleted items. Their tombstones
(``indexer.tombstones``) live only in the old index, and without them a late or replayed older record (a
dead-lettered MODIFY replayed after the reindex) would bring a deleted item back in the new one. Each
tombstone is copied with what orders it:

- one that stores a sequence number (the no-counter scheme, ``sequence_guard``) is written as the stream
  record with that number would be: created where the new index has nothing, written over a document from
  an older record or from a table read (read version + 1, ``external``; a 409 means a writer came in between,
  so it is read and decided again, up to ``GUARD_ROUNDS`` times), never over a document from the same or a
  newer record;
- one without (the counter scheme, ``versions``) is written at its own version with ``external_gte``: a
  delete's version is 2 x counter + 1, so it replaces exactly the states older than the delete, and a newer
  document (a re-created item continues the counter) refuses it with 409;
- with ``VERSION_ATTRIBUTE=none`` a tombstone without a sequence number (built from a table read) only
  creates a document the new index lacks: its version belongs to the old index's numbering, not to the item.

Each keeps its deletion time (``indexer_deleted_at``), so purge-tombstones ages it from the delete, not from
the copy. A copy never touches anything newer; the reindex catch-up that follows it (``audit --repair``, which
reads the table) decides what the documents must be.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import TransportError, helpers

from indexer.batch import GUARD_ROUNDS
from indexer.changes import Change
from indexer.deadline import Deadline
from indexer.documents import BulkAction, delete_action
from indexer.ops.target import Target
from indexer.ops.writer import send_actions
from indexer.sequence_guard import guard
from indexer.tombstones import DELETED_AT_FIELD, TOMBSTONE_FIELD, reserved, stored_sequence

PAGE = 1000


@dataclass
class CopyResult:
    source: str
    into: str
    found: int = 0
    copied: int = 0
    superseded: int = 0  # the new index holds something at least as new: left alone
    failed: int = 0
    retryable: int = 0  # part of failed: 429, 5xx, a timeout or a dropped connection
    interrupted: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.interrupted and not self.failed

    def summary(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "into": self.into,
            "found": self.found,
            "copied": self.copied,
            "superseded": self.superseded,
            "failed": self.failed,
            "interrupted": self.interrupted,
            "failures": self.reasons[:20],
        }


def copy_tombstones(
    target: Target, source: str, into: str, *, stop: threading.Event | None = None
) -> CopyResult:
    """Copy every tombstone of the concrete index ``source`` into the concrete index ``into``; ``stop``
    ends it between pages (``interrupted``)."""
    result = CopyResult(source, into)
    if target.entity is not None and target.entity.folded:
        # A folded document is rebuilt from the table by every writer (``rebuild``), never from a record's
        # image, so no late record can bring one back: its tombstones only keep _seq_no moving in the index
        # they are in, and the new index gets its own from the backfill and the catch-up.
        return result
    with contextlib.suppress(TransportError):  # the last second's tombstones too (realtime needs no refresh)
        target.search.indices.refresh(index=source)
    query = {"version": True, "_source": True, "query": {"term": {TOMBSTONE_FIELD: True}}}
    page: list[dict[str, Any]] = []
    for hit in helpers.scan(target.search, index=source, query=query, size=PAGE, scroll="5m"):
        page.append(hit)
        if len(page) == PAGE:
            copy_hits(target, into, page, result)
            page = []
            if stop is not None and stop.is_set():
                result.interrupted = True
                return result
    if page:
        copy_hits(target, into, page, result)
    return result


def copy_hits(target: Target, into: str, hits: list[dict[str, Any]], result: CopyResult) -> None:
    """Copy these tombstone hits (a search's, with ``version``) into ``into``, as ``copy_tombstones`` does."""
    result.found += len(hits)
    settings = target.settings
    versioned: list[BulkAction] = []
    guarded: list[tuple[Change, BulkAction]] = []
    for hit in hits:
        sequence = stored_sequence(hit)
        deleted_at = reserved(hit, DELETED_AT_FIELD)
        counter = sequence is None and settings.version_attribute is not None
        change = Change(
            doc_id=hit["_id"],
            key={},
            kind="delete",
            image=None,
            version=int(hit["_version"]) if counter else None,
            sequence_number=None if sequence is None else str(sequence),
            created_at=float(deleted_at) if isinstance(deleted_at, int | float) else None,
        )
        action = delete_action(change, settings)
        if counter:
            versioned.append(action)
        else:
            guarded.append((change, action))
    for outcome in send_actions(target, versioned, into):
        _count(result, outcome.doc_id, outcome.outcome, outcome.reason, outcome.retryable)
    _copy_guarded(target, into, guarded, result)


def _copy_guarded(
    target: Target, into: str, planned: list[tuple[Change, BulkAction]], result: CopyResult
) -> None:
    """The sequence guard's decision for each, re-read and re-decided when a writer came in between."""
    for _ in range(GUARD_ROUNDS):
        if not planned:
            return
        send, superseded = guard(
            target.search,
            into,
            planned,
            deadline=Deadline.unbounded(),
            request_timeout=target.settings.request_timeout_seconds,
        )
        result.superseded += len(superseded)
        originals = dict((change.doc_id, (change, action)) for change, action in planned)
        planned = []
        for (change, _), outcome in zip(send, send_actions(target, [a for _, a in send], into), strict=True):
            if outcome.outcome == "conflict":  # the document changed since the read: decide again
                planned.append(originals[change.doc_id])
            else:
                _count(result, change.doc_id, outcome.outcome, outcome.reason, outcome.retryable)
    for change, _ in planned:
        _count(result, change.doc_id, "failed", "concurrent writes kept winning")


def _count(
    result: CopyResult, doc_id: str, outcome: str, reason: str | None, retryable: bool = False
) -> None:
    if outcome == "conflict":
        result.superseded += 1
    elif outcome == "failed":
        result.failed += 1
        result.retryable += retryable
        result.reasons.append(f"{doc_id}: {reason}")
    else:
        result.copied += 1
