"""One data file of a DynamoDB export, as one child of the bulk-load state machine's file Map.

Backfill and reindex write the file's items exactly as a scan backfill writes a page (``page_writes``: the
item's own version, create-only without a counter, folded partitions rebuilt and written conditionally), so
the handover to the stream is exact: an exported item and a later stream write of it are ordered by the
item's version whichever reaches OpenSearch first, and a folded document is always rebuilt from the table.
An audit compares the file's items with the index and confirms each candidate as the audit does (the
document first, then the item, consistently: ``confirm``), repairing when asked.

The file is read from the checkpointed position (items done), a page at a time; after each page the
checkpoint moves on. The child stops by itself well inside the function's time (``BULK_LOAD_WORK_SECONDS``,
default 300: an invocation stays far below Lambda's 15 minutes) and answers ``partial``; pages OpenSearch
kept refusing with 429/5xx are not passed: the child answers ``throttled`` and the state machine waits before
it tries again from there. Items that cannot be indexed (a mapping conflict, a hook error) are kept in the
checkpoint and tried once more (re-read consistently) when the file is done; if they still fail the child
raises ``ItemsFailed``: the Lambda task itself fails (not a Fail state after it), so a redrive
(``RedriveExecution`` "continues the failed execution from the unsuccessful step") runs this task again, and
a child whose checkpoint is done but holds failed keys retries them (after the fix) instead of answering from
the checkpoint.

Before it writes, the child checks the export's age against the run's (``export_age``): an export older than
``MAX_EXPORT_AGE_SECONDS`` is refused unless the run allows it, so a long run, a late redrive or an old
``export_arn`` cannot write item states whose deletes' tombstones may have been purged.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from itertools import islice
from typing import Any

from indexer.deadline import Deadline
from indexer.errors import HookError, IndexerError, RecordError
from indexer.ops.bulk_load import Job, done
from indexer.ops.confirm import confirm_candidates
from indexer.ops.entity_targets import fold_routes
from indexer.ops.export_age import OVERRIDE, check_export_age
from indexer.ops.export_files import DataFile, read_items
from indexer.ops.page_writes import write_items
from indexer.ops.repair import read_documents
from indexer.ops.run_store import ChildState
from indexer.ops.target import Target

PAGE = 1000
THROTTLED_WAIT_SECONDS = 30
STUCK_PASSES = 5  # passes over a page whose repairs keep failing, before the task fails (ItemsFailed)
THROTTLED_PASSES = 120  # the same when every failure is retryable: about an hour of 30-second waits
APPLIED = ("repaired", "repair_superseded", "tombstones_copied")  # what a held pass did, and keeps
DEFAULT_WORK_SECONDS = 300.0
KINDS = ("missing", "stale", "orphaned")


def work_deadline(context: Any) -> Deadline:
    """When a child stops and answers ``partial``: BULK_LOAD_WORK_SECONDS from now, and never closer to the
    function's own timeout than a quarter of the time it had (or a minute)."""
    budget = float(os.environ.get("BULK_LOAD_WORK_SECONDS", DEFAULT_WORK_SECONDS))
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is not None:
        left = remaining() / 1000.0
        budget = min(budget, left - max(60.0, left / 4) if left > 120 else left / 2)
    return Deadline.after(max(0.0, budget))  # at least one page is written per invocation


def load_file(job: Job, context: Any) -> dict[str, Any]:
    data_file = DataFile.from_json(job.event["file"])
    number = int(job.event["file"]["n"])
    bucket = job.event["file"].get("bucket") or job.store.bucket
    state = job.store.child("files", number)
    if state.done and job.mode == "audit" and failures(state.counts):  # a checkpoint from before held pages
        state = ChildState(invocations=state.invocations)
    retrying = state.done and bool(state.failed_keys) and job.mode != "audit"
    if state.done and not retrying:
        return _answer(state)
    run = job.store.get("run.json") or {}
    check_export_age(
        run.get("export_epoch"), job.now(), allowed=bool(run.get(OVERRIDE)), what=f"file {number}"
    )
    state.invocations += 1
    index = job.event.get("index") if job.mode == "reindex" else None
    if retrying:  # a redrive or resume after a failure: the failed items again, read from the table
        state.failed_keys = _retry(job, state, index)
        job.store.save("files", number, state)
        return _answer(state)
    deadline = work_deadline(context)
    for page in _pages(read_items(job.s3, bucket, data_file, state.position)):
        items = [item for _, item in page]
        if job.mode == "audit":
            audited = ChildState()
            _audit_page(job, items, audited)
            if failures(audited.counts):  # repairs failed: this page again, later (as a slice does)
                return hold(
                    job, "files", number, state, audited, f"file {number} (after item {state.position})"
                )
            state.merge(audited)
            state.stuck = 0
        else:
            result = write_items(job.target, [_boto_item(i) for i in items], index)
            if result.retryable:
                job.store.save("files", number, state)  # not passed: the same page again, later
                return {"status": "throttled", "wait_seconds": THROTTLED_WAIT_SECONDS, "counts": state.counts}
            state.add(_counts(result.counts))
            state.failed_keys.extend(result.failed_keys)
            state.note(result.reasons)
        state.position = page[-1][0] + 1
        job.store.save("files", number, state)
        if deadline.remaining() <= 0:
            return {"status": "partial", "wait_seconds": 0, "counts": state.counts}
    if state.failed_keys and job.mode != "audit":
        state.failed_keys = _retry(job, state, index)
    state.done = True
    job.store.save("files", number, state)
    return _answer(state)


def _pages(items: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    while page := list(islice(items, PAGE)):
        yield page


class ItemsFailed(IndexerError):
    """Items of a file could not be indexed (or repaired); the Lambda task fails with this error type."""


def _answer(state: ChildState) -> dict[str, Any]:
    if state.failed_keys or state.counts.get("repair_failed"):
        raise ItemsFailed(
            f"{len(state.failed_keys) or state.counts.get('repair_failed')} items failed (keys in the file's "
            f"checkpoint): {'; '.join(state.reasons[:5])}. Fix the cause, then redrive the run"
        )
    return done(counts={**state.counts, **{f"differences_{k}": v for k, v in state.differences.items()}})


def failures(counts: dict[str, int]) -> int:
    """Repairs and tombstone copies of a page (or a checkpoint) that failed."""
    return counts.get("repair_failed", 0) + counts.get("tombstones_failed", 0)


def hold(job: Job, kind: str, number: int, state: ChildState, page: ChildState, where: str) -> dict[str, Any]:
    """A page whose repairs failed is not passed: the checkpoint stays before it, what the pass applied is
    counted (its differences are not: the last pass over the page reports them), and the child answers
    ``throttled`` so the state machine waits and reads the page again; after ``STUCK_PASSES`` such passes in
    a row (``THROTTLED_PASSES`` when every failure was a 429, 5xx or timeout: a blue/green change can take an
    hour) it raises ``ItemsFailed``, the task fails, and a redrive runs it again from the same page."""
    state.stuck += 1
    state.add({name: page.counts[name] for name in APPLIED if name in page.counts})
    state.reasons = page.reasons[:20]  # the latest pass's reasons
    failing = failures(page.counts)
    retryable = page.counts.get("repair_retryable", 0) + page.counts.get("tombstones_retryable", 0) == failing
    passes = THROTTLED_PASSES if retryable else STUCK_PASSES
    if state.stuck < passes:
        job.store.save(kind, number, state)
        return {"status": "throttled", "wait_seconds": THROTTLED_WAIT_SECONDS, "counts": state.counts}
    state.stuck = 0  # a redrive gets as many tries of its own
    job.store.save(kind, number, state)
    raise ItemsFailed(
        f"{failing} documents of {where} could not be repaired in {passes} passes: "
        f"{'; '.join(page.reasons[:5])}. Fix the cause, then redrive the run"
    )


def _counts(counts: Any) -> dict[str, int]:
    return {
        "scanned": counts.scanned,
        "indexed": counts.indexed,
        "skipped": counts.skipped,
        "failed": counts.failed,
        "conflicts": counts.conflicts,
    }


def _retry(job: Job, state: ChildState, index: str | None) -> list[dict[str, Any]]:
    """The file's failed items, read again (consistently) and written once more; the keys still failing."""
    items = []
    for key in state.failed_keys:
        answer = job.target.dynamodb.get_item(TableName=job.target.table, Key=key, ConsistentRead=True)
        if "Item" in answer:  # gone since: the stream's delete covers it
            items.append(answer["Item"])
    if not items:
        return []
    result = write_items(job.target, items, index)
    state.note(result.reasons)
    return result.failed_keys


def _boto_item(item: dict[str, Any]) -> dict[str, Any]:
    """An exported item as boto3 returns items: binary values as bytes (the export writes base64 text), so
    keys taken from it address the item (GetItem, BatchGetItem) exactly."""
    return {name: _boto_value(value) for name, value in item.items()}


def _boto_value(value: dict[str, Any]) -> dict[str, Any]:
    if "B" in value and isinstance(value["B"], str):
        return {"B": base64.b64decode(value["B"])}
    if "BS" in value:
        return {"BS": [base64.b64decode(v) if isinstance(v, str) else v for v in value["BS"]]}
    if "M" in value:
        return {"M": {k: _boto_value(v) for k, v in value["M"].items()}}
    if "L" in value:
        return {"L": [_boto_value(v) for v in value["L"]]}
    return value


def _audit_page(job: Job, items: list[dict[str, Any]], state: ChildState) -> None:
    """Candidates where the index differs from what the export's items make, confirmed against the live
    table and index (so a write since the export is no difference), repaired when the run repairs."""
    from indexer.ops.audit import digest, expected_source

    target = job.target
    items = [_boto_item(item) for item in items if target.owns(item)]
    state.add({"scanned": len(items)})
    if target.entity is not None and target.entity.folded:
        from indexer.ops.folded_audit import audit_routes

        routes, _ = fold_routes(target, items)
        found = audit_routes(target, target.alias, list(routes), repair=bool(job.event.get("repair")))
        _record(state, found)
        return
    expected: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {}
    for item in items:
        try:
            doc_id = target.keys.doc_id(target.keys.key_of(_plain_key(item, target)))
            expected[doc_id] = (expected_source(item, target), {n: item[n] for n in target.keys.names})
        except (HookError, RecordError):
            state.add({"unprojectable": 1})
    documents = read_documents(target, target.alias, list(expected))
    candidates = {}
    for doc_id, (source, key) in expected.items():
        seen = documents.get(doc_id)
        present = seen is not None and not seen.tombstone
        if (source is None) == present or (
            source is not None and seen is not None and digest(source) != digest(seen.source)
        ):
            candidates[doc_id] = key
    differences, repair = confirm_candidates(target, target.alias, candidates)
    repaired = repair() if job.event.get("repair") else None
    _record(state, ([(d.kind, d.doc_id) for d in differences], repaired))


def _plain_key(item: dict[str, Any], target: Target) -> dict[str, Any]:
    from indexer.changes import plain_item

    return plain_item({name: item[name] for name in target.keys.names})


def _record(state: ChildState, found: tuple[list[tuple[str, str]], Any]) -> None:
    differences, repaired = found
    for kind, doc_id in differences:
        state.differences[kind] = state.differences.get(kind, 0) + 1
        examples = state.examples.setdefault(kind, [])
        if len(examples) < 20:
            examples.append(doc_id)
    if repaired is not None:
        counts, reasons = repaired
        state.add(
            {
                "repaired": counts.indexed,
                "repair_superseded": counts.conflicts,
                "repair_failed": counts.failed,
                "repair_retryable": counts.retryable,
            }
        )
        state.note(reasons)
