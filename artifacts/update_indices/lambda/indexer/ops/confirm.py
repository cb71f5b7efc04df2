"""Confirmation: a candidate difference is re-read, the document first and the item second, and only what
still differs is a difference; repairs are conditional on the document read (``ops.repair``), so they never
roll back a newer write. Used by the audit (its scan's candidates), and by the export path's file and slice
children (candidates from an export's data file or from a slice of an index)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from indexer.errors import HookError, RecordError
from indexer.keys import RAW_ID_FIELD, is_hashed
from indexer.ops.doc_keys import KeyCodec, NotAKey
from indexer.ops.progress import Counts
from indexer.ops.reads import get_items
from indexer.ops.repair import Document, read_documents, repair
from indexer.ops.target import Target

if TYPE_CHECKING:
    from indexer.ops.audit import Difference


def confirm(
    target: Target,
    codec: KeyCodec,
    index: str,
    candidates: list[str],
    scanned_keys: Mapping[str, dict[str, Any] | None],
) -> tuple[list[Difference], dict[str, dict[str, Any]], dict[str, Document]]:
    """Re-read each candidate, the index FIRST, then the table (so the item read is at least as new as the
    document read); the differences that persist, with the items and documents read.

    A candidate the scan found is read back by the key the scan saw (``scanned_keys``): a hashed ``_id`` (a
    key over 512 bytes) cannot be reversed, and a missing document keeps no full id to read it from."""
    from indexer.ops.audit import Difference, digest, expected_source  # audit imports this module

    read = read_documents(target, index, candidates)
    keys: dict[str, dict[str, Any]] = {}
    unkeyed: list[str] = []
    for doc_id in candidates:
        scanned = scanned_keys.get(doc_id)
        if scanned is not None:
            keys[doc_id] = scanned
            continue
        seen = read.get(doc_id)
        # A hashed _id (key over 512 bytes) cannot be reversed: its document keeps the full id.
        raw = seen.source.get(RAW_ID_FIELD) if seen is not None and is_hashed(doc_id) else doc_id
        try:
            if not isinstance(raw, str):
                raise NotAKey(f"{doc_id!r} is hashed and its document keeps no {RAW_ID_FIELD}")
            keys[doc_id] = codec.key(raw)
        except NotAKey:
            unkeyed.append(doc_id)
    items = {i: item for i, item in get_items(target, keys).items() if target.owns(item)}  # others': absent
    confirmed: list[Difference] = []
    for doc_id in candidates:
        seen = read.get(doc_id)
        document = None if seen is None or seen.tombstone else seen
        version = document.version if document else None
        item = items.get(doc_id)
        expected = None
        if item is not None:
            try:
                expected = expected_source(item, target)
            except (HookError, RecordError):
                continue  # cannot be indexed at all; counted as unprojectable by the scan
        if expected is None and document is not None:
            confirmed.append(Difference("orphaned", doc_id, version))
        elif expected is not None and document is None:
            confirmed.append(Difference("missing", doc_id, None))
        elif expected is not None and document is not None and digest(expected) != digest(document.source):
            confirmed.append(Difference("stale", doc_id, version))
    return confirmed, items, read


def repair_confirmed(
    target: Target,
    index: str,
    differences: list[Difference],
    items: dict[str, dict[str, Any]],
    documents: dict[str, Document],
) -> tuple[Counts, list[str]]:
    """Repair through ``ops.repair``: conditional on the documents read before the items."""
    return repair(target, index, {d.doc_id: documents.get(d.doc_id) for d in differences}, items)


def confirm_candidates(
    target: Target, index: str, candidates: Mapping[str, dict[str, Any] | None]
) -> tuple[list[Difference], Callable[[], tuple[Counts, list[str]]]]:
    """The audit's confirmation for candidates found elsewhere (an export's file, an index slice): doc id ->
    the DynamoDB-JSON key when known. Returns the differences that persist and a function that repairs them
    (conditional on the documents read before the items, as ``--repair`` does)."""
    codec = KeyCodec.for_table(target.dynamodb, target.table, target.keys)
    confirmed, items, documents = confirm(target, codec, index, sorted(candidates), candidates)

    def repair_them() -> tuple[Counts, list[str]]:
        if not confirmed:
            return Counts(), []
        return repair_confirmed(target, index, confirmed, items, documents)

    return confirmed, repair_them
