"""Audit: is the index the table? Missing, stale and orphaned documents, confirmed, optionally repaired.

Full mode reads every document id, version and source from the index (a scroll sorted by ``_doc`` with
``version: true``), then scans the table and projects every item with the stream path's own code
(``change_from_item`` + ``build_action``: include/exclude lists and the hook), comparing sources exactly
(canonical JSON digests, 16 bytes per document held in memory):

- missing: the table has the item (and the projection keeps it), the index has no document;
- stale: both exist, the document differs from the projected item;
- orphaned: the index has a document for an item the table no longer has (or the hook now drops).

The two reads are not one snapshot and the stream keeps writing, so every candidate is confirmed before it
is reported: after ``recheck_after`` seconds (time for in-flight stream batches to land) the item is read
again with a consistent GetItem and the document with a realtime mget, and only differences that persist
count. Sample mode (``sample_segments``) scans a random subset of scan segments (each a random slice of
the table by key hash) and checks those items by id, plus a random sample of index documents for orphans:
it bounds the cost on large tables and states what it covered.

Confirmation reads the document first and the item second; repair (``ops.repair``) writes conditionally on
the document read: an item's own counter version (a newer stream write wins), or the read version + 1 for
items without a counter and for orphans (a write in between makes the repair fail with 409), so it never rolls
back a newer write nor deletes a re-created item. Orphans become tombstones. Tombstones count as absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from opensearchpy import TransportError, helpers

from indexer.changes import change_from_item
from indexer.documents import build_action, is_tombstone_action
from indexer.errors import HookError, RecordError
from indexer.ops.backfill import DEFAULT_WORKERS
from indexer.ops.confirm import confirm as _confirm
from indexer.ops.confirm import repair_confirmed as _repair
from indexer.ops.doc_keys import KeyCodec
from indexer.ops.progress import Counts, Progress
from indexer.ops.ratelimit import CapacityLimiter
from indexer.ops.repair import read_documents
from indexer.ops.scan import scan_segment
from indexer.ops.target import Target
from indexer.tombstones import is_tombstone, without_reserved

Kind = Literal["missing", "stale", "orphaned"]
KINDS: tuple[Kind, ...] = ("missing", "stale", "orphaned")
BATCH = 100  # BatchGetItem's limit; also the mget size
_UNPROJECTABLE = object()


@dataclass(frozen=True)
class AuditOptions:
    segments: int = 4
    workers: int | None = None
    rate: float | None = None
    page_size: int | None = None
    consistent_read: bool = False
    index: str | None = None  # audit this concrete index instead of the alias
    sample_segments: int | None = None  # sample mode: scan only this many random segments of ``segments``
    sample_documents: int = 1000  # sample mode: random index documents checked for orphans
    seed: int | None = None
    recheck_after: float = 5.0
    repair: bool = False
    max_examples: int = 20


@dataclass(frozen=True)
class Difference:
    kind: Kind
    doc_id: str
    index_version: int | None


@dataclass
class AuditResult:
    mode: str
    table_items: int = 0
    index_documents: int = 0
    unprojectable: int = 0  # items the projection/hook fails on (the stream path fails them as well)
    candidates: int = 0
    differences: list[Difference] = field(default_factory=list)
    repair: Counts | None = None
    repair_failures: list[str] = field(default_factory=list)
    sample: dict[str, Any] | None = None
    seconds: float = 0.0
    interrupted: bool = False  # stopped before every segment was scanned: what it found is not all there is

    @property
    def clean(self) -> bool:
        return not self.differences and not self.interrupted

    def summary(self, max_examples: int = 20) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": "audit",
            "mode": self.mode,
            "table_items": self.table_items,
            "index_documents": self.index_documents,
            "unprojectable": self.unprojectable,
            "candidates": self.candidates,
            "seconds": round(self.seconds, 3),
            "clean": self.clean,
            "interrupted": self.interrupted,
        }
        for kind in KINDS:
            found = [d for d in self.differences if d.kind == kind]
            out[kind] = len(found)
            out[f"{kind}_examples"] = [d.doc_id for d in found[:max_examples]]
        if self.sample is not None:
            out["sample"] = self.sample
        if self.repair is not None:
            out["repaired"] = self.repair.indexed
            out["repair_superseded"] = self.repair.conflicts
            out["repair_failed"] = self.repair.failed
            out["repair_failures"] = self.repair_failures[:max_examples]
        return out


def digest(source: dict[str, Any]) -> bytes:
    # default=float: the table's exact Decimals compare with the index's parsed floats
    text = json.dumps(source, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=float)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def expected_source(item: dict[str, Any], target: Target) -> dict[str, Any] | None:
    """What the stream path would index for this DynamoDB-JSON item; None when it keeps it out. The change
    carries the item's own counter version, as the stream's record of that state did, so a hook that copies
    the version into the document projects the same value."""
    change = change_from_item(item, target.keys, target.settings.version_attribute)
    action = build_action(change, target.settings, target.hook)
    if action is None or is_tombstone_action(action):
        return None
    return without_reserved(action["_source"])


def audit(
    target: Target,
    options: AuditOptions,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> AuditResult:
    if target.settings.entity_config is not None and target.entity is None:
        raise ValueError("audit: with ENTITY_CONFIG, audit one entity at a time (ops.entity_targets)")
    if target.entity is not None and target.entity.folded:
        from indexer.ops.folded_audit import audit_folded

        return audit_folded(target, options, progress=progress, stop=stop)
    started = time.monotonic()
    index = options.index or target.alias
    progress = progress or Progress("audit", show=("scanned",))
    stop = stop or threading.Event()
    codec = KeyCodec.for_table(target.dynamodb, target.table, target.keys)
    run = _Run(target, options, index, progress, stop, CapacityLimiter(options.rate))
    result = run.sampled() if options.sample_segments else run.full()
    result.interrupted = stop.is_set()
    progress.finish()
    candidates = sorted(run.candidates)
    result.candidates = len(candidates)
    if candidates and options.recheck_after > 0:
        time.sleep(options.recheck_after)
    confirmed, items, documents = _confirm(target, codec, index, candidates, run.candidates)
    result.differences = confirmed
    if options.repair and confirmed:
        result.repair, result.repair_failures = _repair(target, index, confirmed, items, documents)
    result.seconds = time.monotonic() - started
    return result


@dataclass
class _Run:
    target: Target
    options: AuditOptions
    index: str
    progress: Progress
    stop: threading.Event
    limiter: CapacityLimiter
    # doc id -> the DynamoDB-JSON key the scan read it from; None for a candidate only the index showed
    candidates: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def full(self) -> AuditResult:
        result = AuditResult(mode="full")
        documents: dict[str, tuple[bytes, int]] = {}
        # Make the last second's writes visible to the scroll. Without permission to refresh, they show up
        # as candidates instead and are confirmed by realtime reads.
        with contextlib.suppress(TransportError):
            self.target.search.indices.refresh(index=self.index)
        for hit in helpers.scan(
            self.target.search,
            index=self.index,
            query={
                "version": True,
                "_source": True,
                "query": {"match_all": {}},
            },
            size=1000,
            scroll="5m",
        ):
            if is_tombstone(hit):  # a delete: absent (only a concrete index, never the alias, shows them)
                continue
            source = without_reserved(hit.get("_source") or {})  # e.g. a no-counter document's sequence
            documents[hit["_id"]] = (digest(source), int(hit.get("_version") or 0))
        result.index_documents = len(documents)

        def check(items: list[dict[str, Any]]) -> None:
            for doc_id, item in self._keyed(items, result):
                with self._lock:
                    seen = documents.pop(doc_id, None)
                source = self._project(item, result)
                if source is _UNPROJECTABLE:
                    continue
                if (source is None) != (seen is None) or (source is not None and digest(source) != seen[0]):
                    self._candidate(doc_id, item)

        self._scan(range(self.options.segments), check, result)
        if not self.stop.is_set():
            for doc_id in documents:  # no table item claimed them
                self._candidate(doc_id)
        return result

    def sampled(self) -> AuditResult:
        rng = random.Random(self.options.seed)
        count = min(self.options.sample_segments or 1, self.options.segments)
        chosen = sorted(rng.sample(range(self.options.segments), count))
        result = AuditResult(mode="sample")

        def check(items: list[dict[str, Any]]) -> None:
            keyed = dict(self._keyed(items, result))
            seen = _mget(self.target, self.index, list(keyed))
            for doc_id, item in keyed.items():
                found = seen.get(doc_id)
                source = self._project(item, result)
                if source is _UNPROJECTABLE:
                    continue
                if (source is None) != (found is None) or (
                    source is not None and found is not None and digest(source) != digest(found[1])
                ):
                    self._candidate(doc_id, item)

        self._scan(chosen, check, result)
        hits = self.target.search.search(
            index=self.index,
            body={
                "size": self.options.sample_documents,
                "track_total_hits": True,  # the default counts exactly only up to 10,000
                "_source": False,
                "query": {
                    "function_score": {
                        "query": {"match_all": {}},
                        "random_score": {"seed": rng.randrange(2**31), "field": "_seq_no"},
                        "boost_mode": "replace",
                    }
                },
            },
        )["hits"]
        sampled_ids = [hit["_id"] for hit in hits["hits"]]
        result.index_documents = len(sampled_ids)
        for doc_id in sampled_ids:  # confirmation checks them against the table
            self._candidate(doc_id)
        result.sample = {
            "segments": chosen,
            "total_segments": self.options.segments,
            "share_of_table": round(count / self.options.segments, 6),
            "index_documents_sampled": len(sampled_ids),
            "index_documents_total": hits["total"]["value"],
        }
        return result

    def _keyed(
        self, items: list[dict[str, Any]], result: AuditResult
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        for item in items:
            if not self.target.owns(item):  # another entity's row (ENTITY_CONFIG)
                continue
            try:
                yield change_from_item(item, self.target.keys).doc_id, item
            except RecordError:
                with self._lock:
                    result.unprojectable += 1

    def _project(self, item: dict[str, Any], result: AuditResult) -> Any:
        try:
            return expected_source(item, self.target)
        except (HookError, RecordError):
            with self._lock:
                result.unprojectable += 1
            return _UNPROJECTABLE

    def _scan(self, segments: Iterable[int], check: Any, result: AuditResult) -> None:
        def one(number: int) -> None:
            for page in scan_segment(
                self.target.dynamodb,
                self.target.table,
                segment=number,
                total_segments=self.options.segments,
                limiter=self.limiter,
                page_size=self.options.page_size,
                consistent_read=self.options.consistent_read,
                stop=self.stop,
            ):
                check(page.items)
                owned = sum(self.target.owns(item) for item in page.items)
                with self._lock:
                    result.table_items += owned
                self.progress.add(Counts(scanned=len(page.items)))

        segments = list(segments)
        workers = self.options.workers or min(len(segments), DEFAULT_WORKERS)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for future in [pool.submit(one, n) for n in segments]:
                future.result()

    def _candidate(self, doc_id: str, item: dict[str, Any] | None = None) -> None:
        """Record a candidate; one found in the table keeps its key, the only way back from a hashed id."""
        key = None if item is None else {name: item[name] for name in self.target.keys.names}
        with self._lock:
            if key is not None or doc_id not in self.candidates:
                self.candidates[doc_id] = key


def _mget(target: Target, index: str, ids: list[str]) -> dict[str, tuple[int, dict[str, Any]]]:
    """doc id -> (version, source) for the ids the index has, tombstones left out (realtime reads)."""
    documents = read_documents(target, index, ids)
    return {i: (d.version, d.source) for i, d in documents.items() if not d.tombstone}
