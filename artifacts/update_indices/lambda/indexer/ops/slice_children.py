"""One slice of an index, as one child of the bulk-load state machine's slice Map.

- **reindex** (after the swap): the slice of the OLD index is compared with the new index, document by
  document. The stream wrote into the old index until the swap, so every write made after the export's time
  and before the swap is in the old index: a document (or tombstone) there that the new index does not hold
  the same way is a candidate. Each candidate is confirmed against the live table and the new index (the
  document first, then the item, consistently: ``confirm``) and repaired conditionally, so a stream write
  that reached the new index since the swap always wins. With the tombstones ``swap`` copied before moving
  the alias, nothing the old index knew is lost, and nothing deleted comes back.
- **audit**: every document of the slice of the audited index is checked against the table (a consistent
  read by key): what the export's files cannot show, documents whose item is gone (orphaned), is found here.

A slice is small enough for one invocation (``bulk_load.SLICE_DOCUMENTS``); a scroll cannot resume in another
invocation, so a slice that runs out of time is checked again from its start (repairs are conditional, so
that is harmless) and, after ``MAX_INVOCATIONS``, fails naming the cause.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from opensearchpy import helpers

from indexer.ops.bulk_load import Job, done
from indexer.ops.confirm import confirm_candidates
from indexer.ops.export_children import _record, work_deadline
from indexer.ops.repair import read_documents
from indexer.ops.tombstones_copy import CopyResult, copy_hits
from indexer.tombstones import is_tombstone, without_reserved

BATCH = 1000
MAX_INVOCATIONS = 5


def check_slice(job: Job, context: Any) -> dict[str, Any]:
    from indexer.ops.audit import digest

    piece = job.event["slice"]
    number, total = int(piece["n"]), int(piece["max"])
    state = job.store.child("slices", number)
    if state.done:
        return done(counts=state.counts)
    state.invocations += 1
    if state.invocations > MAX_INVOCATIONS:
        state.note(
            [f"slice {number} of {total} did not finish in {MAX_INVOCATIONS} invocations: use more slices"]
        )
        job.store.save("slices", number, state)
        return {"status": "failed", "wait_seconds": 0, "counts": state.counts, "reasons": state.reasons[:5]}
    job.store.save("slices", number, state)
    reconcile = job.mode == "reindex"
    source = piece["old"] if reconcile else piece["index"]
    index = piece["new"] if reconcile else piece["index"]
    repair = reconcile or bool(job.event.get("repair"))
    deadline = work_deadline(context)
    query: dict[str, Any] = {"version": True, "_source": True, "query": {"match_all": {}}}
    if total > 1:
        query["slice"] = {"id": number, "max": total}
    hits = helpers.scan(job.target.search, index=source, query=query, size=BATCH, scroll="5m")
    fresh = {"scanned": 0}
    while batch := list(islice(hits, BATCH)):
        fresh["scanned"] += len(batch)
        if reconcile:
            theirs = read_documents(job.target, index, [hit["_id"] for hit in batch])
            ids = [hit["_id"] for hit in batch if _differs(hit, theirs.get(hit["_id"]), digest)]
            _copy_tombstones(
                job, index, [hit for hit in batch if hit["_id"] in ids and is_tombstone(hit)], state
            )
        else:
            ids = [hit["_id"] for hit in batch if not is_tombstone(hit)]
        _check(job, index, ids, repair, state)
        if deadline.remaining() <= 0:
            return {"status": "partial", "wait_seconds": 0, "counts": state.counts}
    state.add(fresh)
    state.done = True
    job.store.save("slices", number, state)
    failed = state.counts.get("repair_failed", 0) + state.counts.get("tombstones_failed", 0)
    if failed:
        return {"status": "failed", "wait_seconds": 0, "counts": state.counts, "reasons": state.reasons[:5]}
    return done(counts={**state.counts, **{f"differences_{k}": v for k, v in state.differences.items()}})


def _copy_tombstones(job: Job, index: str, hits: list[dict[str, Any]], state: Any) -> None:
    """The old index's tombstones the new one lacks (deletes the stream wrote there after ``swap``'s copy
    and before the alias moved), copied with their versions: no late record can bring those items back."""
    if not hits or (job.target.entity is not None and job.target.entity.folded):
        return
    copied = CopyResult(hits[0]["_index"], index)
    copy_hits(job.target, index, hits, copied)
    state.add({"tombstones_copied": copied.copied, "tombstones_failed": copied.failed})
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


def _check(job: Job, index: str, ids: list[str], repair: bool, state: Any) -> None:
    if not ids:
        return
    target = job.target
    if target.entity is not None and target.entity.folded:
        from indexer.ops.folded_audit import audit_routes

        _record(state, audit_routes(target, index, [], doc_ids=tuple(ids), repair=repair))
        return
    differences, repair_them = confirm_candidates(target, index, dict.fromkeys(ids))
    _record(state, ([(d.kind, d.doc_id) for d in differences], repair_them() if repair else None))
