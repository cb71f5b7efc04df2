"""One slice of an index, as one child of the bulk-load state machine's slice Map.

- **reindex** (before the swap, and once more after it): the slice of the OLD index is compared with the new
  index, document by document. The stream writes into the old index until the swap, so every write made after
  the export's time is in the old index: a document (or tombstone) there that the new index does not hold the
  same way is a candidate. Each candidate is confirmed against the live table and the new index (the document
  first, then the item, consistently: ``confirm``) and repaired conditionally, so a stream write that reached
  the new index since the swap always wins. The passes and why they make the swap exact: docs/bulk-load.md.
- **audit**: every document of the slice of the audited index is checked against the table (a consistent
  read by key): what the export's files cannot show, documents whose item is gone (orphaned), is found here.

A slice is read a page at a time through a point in time (PIT) opened by the invocation, sliced with
``slice: {id, max}`` and sorted by ``_id`` with ``search_after`` (OpenSearch documents PIT with
``search_after`` and slicing for exactly this: https://docs.opensearch.org/latest/search-plugins/searching-data/point-in-time/).
The last ``_id`` read is the checkpoint: it does not depend on the PIT, so the next invocation (after a
timeout, a throttled wait or a redrive days later) opens a new PIT and goes on after that ``_id``; a slice of
any size finishes. ``_id`` rather than ``_shard_doc``: OpenSearch before 3.3 has no ``_shard_doc``
(opensearch-project/OpenSearch#17064, added by #18924), and the domain runs 2.x.

The checkpoint never passes a page with a repair (or tombstone copy) that failed: the child answers
``throttled`` and the state machine waits and runs it again from the same ``_id``; what was repaired then no
longer differs, and only what failed is tried again (the pass's repairs are counted; its differences are
not, so a page retried reports the differences of its last pass). After ``STUCK_PASSES`` such passes in a
row (``THROTTLED_PASSES`` when every failure was a 429, 5xx or timeout: a blue/green change can take an hour)
the child raises ``ItemsFailed``: the Lambda task fails, the run fails, and a redrive (which re-runs the Map's
unsuccessful child executions from their failed state, https://docs.aws.amazon.com/step-functions/latest/dg/
redrive-map-run.html) runs the task again from that page, with as many tries again.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, TransportError

from indexer.ops.bulk_load import Job, done
from indexer.ops.confirm import confirm_candidates
from indexer.ops.export_children import _record, failures, hold, work_deadline
from indexer.ops.repair import read_documents
from indexer.ops.run_store import ChildState
from indexer.ops.tombstones_copy import CopyResult, copy_hits
from indexer.tombstones import is_tombstone, without_reserved

BATCH = 1000
PIT_KEEP_ALIVE = "10m"  # longer than one page's work; every search extends it


def slice_kind(piece: dict[str, Any]) -> str:
    """The checkpoints' folder of a slice: ``slices`` for the first pass, ``slices-p<N>`` for later ones."""
    number = int(piece.get("pass", 1))
    return "slices" if number == 1 else f"slices-p{number}"


def check_slice(job: Job, context: Any) -> dict[str, Any]:
    from indexer.ops.audit import digest

    piece = job.event["slice"]
    number, total = int(piece["n"]), int(piece["max"])
    kind = slice_kind(piece)
    state = job.store.child(kind, number)
    if state.done and failures(state.counts):  # a checkpoint of the code before pages were held: again
        state = ChildState(invocations=state.invocations)
    if state.done:
        return _answer(state)
    state.invocations += 1
    job.store.save(kind, number, state)
    reconcile = job.mode == "reindex"
    source = piece["old"] if reconcile else piece["index"]
    index = piece["new"] if reconcile else piece["index"]
    repair = reconcile or bool(job.event.get("repair"))
    deadline = work_deadline(context)
    client = job.target.search
    pit = _open_pit(client, source)
    try:
        while batch := _page(client, pit, number, total, state.after):
            page = ChildState()
            if reconcile:
                theirs = read_documents(job.target, index, [hit["_id"] for hit in batch])
                ids = [hit["_id"] for hit in batch if _differs(hit, theirs.get(hit["_id"]), digest)]
                _copy_tombstones(
                    job, index, [hit for hit in batch if hit["_id"] in ids and is_tombstone(hit)], page
                )
            else:
                ids = [hit["_id"] for hit in batch if not is_tombstone(hit)]
            _check(job, index, ids, repair, page)
            if failures(page.counts):
                return hold(job, kind, number, state, page, f"slice {number} (after _id {state.after})")
            page.add({"scanned": len(batch)})
            state.merge(page)
            state.stuck = 0
            state.position += len(batch)
            state.after = list(batch[-1]["sort"])
            job.store.save(kind, number, state)
            if deadline.remaining() <= 0:
                return {"status": "partial", "wait_seconds": 0, "counts": state.counts}
    finally:
        with suppress(TransportError):  # expires by itself (keep_alive); never hides the page's outcome
            _close_pit(client, pit)
    state.done = True
    job.store.save(kind, number, state)
    return _answer(state)


def _answer(state: ChildState) -> dict[str, Any]:
    return done(counts={**state.counts, **{f"differences_{k}": v for k, v in state.differences.items()}})


def _open_pit(client: OpenSearch, index: str) -> str:
    """A PIT on the concrete index (``POST /<index>/_search/point_in_time?keep_alive=...``)."""
    answer = client.transport.perform_request(
        "POST", f"/{index}/_search/point_in_time", params={"keep_alive": PIT_KEEP_ALIVE}
    )
    return str(answer["pit_id"])


def _close_pit(client: OpenSearch, pit: str) -> None:
    with suppress(NotFoundError):  # expired already: nothing held
        client.transport.perform_request("DELETE", "/_search/point_in_time", body={"pit_id": [pit]})


def _page(
    client: OpenSearch, pit: str, number: int, total: int, after: list[Any] | None
) -> list[dict[str, Any]]:
    """The next page of the slice after ``after`` (the last ``_id`` read), in ``_id`` order."""
    body: dict[str, Any] = {
        "size": BATCH,
        "version": True,
        "_source": True,
        "query": {"match_all": {}},
        "pit": {"id": pit, "keep_alive": PIT_KEEP_ALIVE},
        "sort": [{"_id": "asc"}],
    }
    if total > 1:
        body["slice"] = {"id": number, "max": total}
    if after:
        body["search_after"] = after
    answer = client.transport.perform_request("POST", "/_search", body=body)
    return list(answer["hits"]["hits"])


def _copy_tombstones(job: Job, index: str, hits: list[dict[str, Any]], state: ChildState) -> None:
    """The old index's tombstones the new one lacks (deletes the stream wrote there after ``swap``'s copy
    and before the alias moved), copied with their versions: no late record can bring those items back."""
    if not hits or (job.target.entity is not None and job.target.entity.folded):
        return
    copied = CopyResult(hits[0]["_index"], index)
    copy_hits(job.target, index, hits, copied)
    state.add(
        {
            "tombstones_copied": copied.copied,
            "tombstones_failed": copied.failed,
            "tombstones_retryable": copied.retryable,
        }
    )
    state.note(copied.reasons)


def _differs(hit: dict[str, Any], theirs: Any, digest: Any) -> bool:
    """Whether the old index's document is held differently by the new index (absent, deleted or not,
    another source)."""
    if theirs is None:
        return True
    if is_tombstone(hit) != theirs.tombstone:
        return True
    return not theirs.tombstone and digest(without_reserved(hit.get("_source") or {})) != digest(
        theirs.source
    )


def _check(job: Job, index: str, ids: list[str], repair: bool, state: ChildState) -> None:
    if not ids:
        return
    target = job.target
    if target.entity is not None and target.entity.folded:
        from indexer.ops.folded_audit import audit_routes

        _record(state, audit_routes(target, index, [], doc_ids=tuple(ids), repair=repair))
        return
    differences, repair_them = confirm_candidates(target, index, dict.fromkeys(ids))
    _record(state, ([(d.kind, d.doc_id) for d in differences], repair_them() if repair else None))
