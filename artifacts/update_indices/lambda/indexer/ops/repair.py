"""Repairs that never roll back: the document is read first, the item second, and the write is conditional.

Used by ``audit --repair`` (and so by the reindex catch-up) and by ``replay-dlq --source table``. For each id:

1. the document is read (realtime mget, tombstones and stored sequence numbers included), THEN
2. the item is read from the table (consistent), so the item is at least as new as the document;
3. the write is conditional on what step 1 saw:
   - an item with a write counter is indexed at its own version (``2 * counter``, ``external_gte``): a stream
     write that landed meanwhile carries a higher counter and wins; an equal one is the same content;
   - an item without a counter is indexed at the read version + 1 with ``version_type=external`` and keeps the
     document's stored sequence number: any write between the reads changes the version and makes the repair
     fail with 409 (newer data is there), and every later stream record still beats it;
   - a missing item (an orphan) becomes a tombstone at the read version + 1, ``external``: an item re-created
     and indexed meanwhile has moved the version on, so the repair is refused instead of deleting it.

No clock is read anywhere, so an operator's clock that runs fast or slow cannot let an older read win.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from indexer.changes import Change, change_from_item
from indexer.documents import BulkAction, build_action, delete_action
from indexer.errors import HookError, RecordError
from indexer.mget_docs import docs_of
from indexer.ops.progress import Counts
from indexer.ops.target import Target
from indexer.ops.writer import send_actions
from indexer.tombstones import (
    SEQUENCE_FIELD,
    is_tombstone,
    sequence_text,
    stored_sequence,
    without_reserved,
)

BATCH = 100


@dataclass(frozen=True)
class Document:
    """One document as a realtime mget saw it (``source`` without the reserved fields)."""

    version: int
    source: dict[str, Any]
    tombstone: bool
    sequence: int | None


def read_documents(target: Target, index: str, ids: list[str]) -> dict[str, Document]:
    """id -> the document (tombstones included, flagged), for the ids the index has (realtime reads)."""
    found: dict[str, Document] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        answer = target.search.mget(
            index=index,
            body={"ids": chunk},
            params={
                "realtime": "true",
                "_source": "true",
                "request_timeout": target.settings.request_timeout_seconds,
            },
        )
        for doc in docs_of(answer):
            if doc.get("found"):
                found[doc["_id"]] = Document(
                    int(doc["_version"]),
                    without_reserved(doc.get("_source") or {}),
                    is_tombstone(doc),
                    stored_sequence(doc),
                )
    return found


def repair(
    target: Target,
    index: str,
    documents: Mapping[str, Document | None],
    items: Mapping[str, dict[str, Any]],
) -> tuple[Counts, list[str]]:
    """Write each id's item (or a tombstone when ``items`` lacks it), conditional on ``documents``, which must
    have been read BEFORE ``items``."""
    counts, reasons = Counts(), []
    planned: list[tuple[str, BulkAction]] = []
    for doc_id, document in documents.items():
        try:
            action = _action(target, doc_id, document, items.get(doc_id))
        except (HookError, RecordError) as exc:
            counts.failed += 1
            reasons.append(f"{doc_id}: {exc}")
            continue
        if action is None:
            counts.skipped += 1
            continue
        planned.append((doc_id, action))
    sent = send_actions(target, [a for _, a in planned], index)
    for (doc_id, _), result in zip(planned, sent, strict=True):
        if result.outcome == "failed":
            counts.failed += 1
            counts.retryable += result.retryable
            reasons.append(f"{doc_id}: {result.reason}")
        else:
            counts.indexed += 1
            counts.conflicts += result.outcome == "conflict"
    return counts, reasons


def _action(
    target: Target, doc_id: str, document: Document | None, item: dict[str, Any] | None
) -> BulkAction | None:
    settings = target.settings
    if item is None:
        if document is None or document.tombstone:
            return None  # absent on both sides
        gone = Change(doc_id, {}, "delete", None, None, None, None)  # deleted now (purge age only)
        return _after(delete_action(gone, settings), document)
    change = change_from_item(item, target.keys, settings.version_attribute)
    action = build_action(change, settings, target.hook)
    if action is None:
        return None
    if change.version is not None:
        return action  # the item's own counter version, external_gte
    if document is None:
        return {**action, "_op_type": "create"}  # type: ignore[typeddict-item]
    return _after(action, document)


def _after(action: BulkAction, document: Document | None) -> BulkAction:
    """The action, accepted only if the document is still the one read (external version read + 1)."""
    if document is None:
        return {**action, "_op_type": "create"}  # type: ignore[typeddict-item]
    source = dict(action.get("_source", {}))
    if document.sequence is not None:
        source[SEQUENCE_FIELD] = sequence_text(str(document.sequence))
    conditioned: dict[str, Any] = {
        **action,
        "version": document.version + 1,
        "version_type": "external",
        "_source": source,
    }
    return conditioned  # type: ignore[return-value]
