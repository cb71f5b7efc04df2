"""Exact order for documents without a write counter: the stored sequence number, checked by one mget per
batch.

A table whose writers keep no counter (``VERSION_ATTRIBUTE=none``, or an image without the attribute) has
nothing in the item that orders its states. The stream does: DynamoDB Streams delivers each item's
modifications exactly once and in order, with sequence numbers that increase within a shard. A sequence number
(up to 40 digits) does not fit OpenSearch's 64-bit version, so it is stored with the document (the reserved
field ``indexer_sequence`` of ``_source``, zero-padded) and compared here, as integers, with the record's:

- the batch reads every such document once (``_mget``, realtime, only the reserved fields of ``_source``);
- a record whose sequence number is not above the stored one is superseded (a replay or a late record);
- otherwise the write is conditional on the document not having changed since the read: ``version_type=
  external`` with the read version + 1 (or ``create`` when there was no document). A concurrent writer makes
  it fail with 409, and ``batch`` reads and decides again.

A scanned item (backfill, replay from the table) has no sequence number: it only creates documents the index
lacks, since any document there was written by the stream, which is at least as new as the scan's read or will
be overwritten by the stream's later records in order. Its document stores no sequence number, so every stream
record beats it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionTimeout

from indexer.bulk import MIN_REQUEST_SECONDS
from indexer.changes import Change
from indexer.deadline import Deadline
from indexer.documents import BulkAction
from indexer.mget_docs import docs_of
from indexer.tombstones import RESERVED_SOURCE, stored_sequence

MGET_BATCH = 1000


class NoTimeLeft(ConnectionTimeout):
    """The deadline left less than ``MIN_REQUEST_SECONDS`` for the next ``_mget``: it was not sent. A
    ``ConnectionTimeout``, so callers treat it as the timeout it would have become."""


@dataclass(frozen=True)
class Current:
    """What the index holds for one id: its version and the sequence number it was written from."""

    version: int
    sequence: int | None


def read_current(
    client: OpenSearch, index: str, ids: Sequence[str], *, deadline: Deadline, request_timeout: float
) -> dict[str, Current]:
    """id -> the document's version and stored sequence number (tombstones included), for the ids found.

    Each request (``MGET_BATCH`` ids) is bounded by what is left of ``deadline`` when it starts and by
    ``request_timeout`` (REQUEST_TIMEOUT_SECONDS); none starts with less than ``MIN_REQUEST_SECONDS`` left
    (``NoTimeLeft``). A failure raises (``batch`` then fails the records that needed the read)."""
    found: dict[str, Current] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), MGET_BATCH):
        left = deadline.remaining()
        if left < MIN_REQUEST_SECONDS:
            raise NoTimeLeft("N/A", f"deadline: {left:.2f} s left, no sequence guard mget started", None)
        params: dict[str, Any] = {
            "realtime": "true",
            "_source": RESERVED_SOURCE,  # reserved fields only
            "request_timeout": min(request_timeout, left),
        }
        answer = client.mget(index=index, body={"ids": unique[start : start + MGET_BATCH]}, params=params)
        for doc in docs_of(answer):
            if doc.get("found"):
                found[doc["_id"]] = Current(int(doc["_version"]), stored_sequence(doc))
    return found


def needs_guard(action: BulkAction) -> bool:
    return "version" not in action and action.get("_op_type") != "create"


def guard(
    client: OpenSearch,
    index: str,
    planned: Sequence[tuple[Change, BulkAction]],
    *,
    deadline: Deadline,
    request_timeout: float,
) -> tuple[list[tuple[Change, BulkAction]], list[Change]]:
    """(the actions to send, with their conditions; the changes superseded by what the index holds).

    Actions that carry a counter version pass unchanged; only unversioned ones cost the mget, whose every
    request is bounded by ``deadline`` and ``request_timeout`` (``read_current``).
    """
    unversioned = [change.doc_id for change, action in planned if needs_guard(action)]
    current = (
        read_current(client, index, unversioned, deadline=deadline, request_timeout=request_timeout)
        if unversioned
        else {}
    )
    send: list[tuple[Change, BulkAction]] = []
    superseded: list[Change] = []
    for change, action in planned:
        if not needs_guard(action):
            send.append((change, action))
            continue
        conditioned = condition(change, action, current.get(change.doc_id))
        if conditioned is None:
            superseded.append(change)
        else:
            send.append((change, conditioned))
    return send, superseded


def condition(change: Change, action: BulkAction, current: Current | None) -> BulkAction | None:
    """The action made conditional on ``current``; None when ``current`` is at least as new as the change."""
    if current is None:
        return {**action, "_op_type": "create"}  # type: ignore[typeddict-item]
    if change.sequence_number is None:
        return None  # a scanned item never overwrites a document
    if current.sequence is not None and current.sequence >= int(change.sequence_number):
        return None
    conditioned: dict[str, Any] = {**action, "version": current.version + 1, "version_type": "external"}
    return conditioned  # type: ignore[return-value]
