"""Audit of a folded entity: every document against its rebuild from the table, confirmed, then repaired by
rebuilding it.

A folded document is a function of its whole partition, and a scan cannot hand a partition over whole (its
rows may straddle pages and segments' threads), so the audit takes the partitions from the scan and reads
each one again with the rebuild's own consistent Query:

1. every document of the index (a scroll, tombstones skipped) by id, as a digest;
2. the table scanned for the entity's rows: the set of partitions that have any;
3. each partition folded from a consistent Query (``folding``, the stream's code) and compared with its
   document; documents that no partition claimed are candidates too (their entity may be gone);
4. after ``recheck_after`` every candidate is read again, the document first and the partition second, and
   only what still differs is reported: missing (the table has the entity, the index has no document),
   stale (both, different), orphaned (a document, but no root row: deleted, or never a parent);
5. ``--repair`` rebuilds the confirmed ones with ``rebuild`` (write only if nothing was written since the
   read), which never rolls a document back: a stream rebuild that lands meanwhile either wins or makes the
   repair read again.

Children without their root row are no document, as on the stream path (``folding``); the audit does not
list them as differences. The cost is one consistent Query per partition of the entity (its rows' size in
read capacity, twice for candidates), on top of the scan.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opensearchpy import TransportError, helpers

from indexer.errors import HookError, RecordError
from indexer.folding import Projection, fold
from indexer.keys import RAW_ID_FIELD, is_hashed
from indexer.ops.entity_targets import fold_routes, folder, rebuild_routes
from indexer.ops.progress import Counts, Progress
from indexer.ops.ratelimit import CapacityLimiter
from indexer.ops.repair import read_documents
from indexer.ops.scan import scan_segment
from indexer.ops.target import Target
from indexer.routing import FoldRoute
from indexer.tombstones import is_tombstone, without_reserved

if TYPE_CHECKING:
    from indexer.ops.audit import AuditOptions, AuditResult

_UNFOLDABLE = object()


def audit_folded(
    target: Target,
    options: AuditOptions,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> AuditResult:
    from indexer.ops.audit import AuditResult, Difference, digest

    assert target.entity is not None
    assert target.entity.folded
    started = time.monotonic()
    index = options.index or target.alias
    progress = progress or Progress(f"audit {target.entity.name}", show=("scanned",))
    stop = stop or threading.Event()
    result = AuditResult(mode="full")
    documents = _documents(target, index, digest)
    result.index_documents = len(documents)

    routes: dict[str, FoldRoute] = {}
    lock = threading.Lock()

    def scan(number: int) -> None:
        for page in scan_segment(
            target.dynamodb,
            target.table,
            segment=number,
            total_segments=options.segments,
            limiter=limiter,
            page_size=options.page_size,
            consistent_read=options.consistent_read,
            stop=stop,
        ):
            found, unusable = fold_routes(target, page.items)
            with lock:
                routes.update({route.doc_id: route for route in found})
                result.table_items += sum(target.owns(item) for item in page.items)
                result.unprojectable += len(unusable)
            progress.add(Counts(scanned=len(page.items)))

    limiter = CapacityLimiter(options.rate)
    workers = max(1, options.workers or min(options.segments, 4))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(scan, n) for n in range(options.segments)]:
            future.result()
    result.interrupted = stop.is_set()
    progress.finish()

    candidates: dict[str, FoldRoute | None] = {}

    def expected_digest(route: FoldRoute) -> Any:  # in the worker: only a digest is kept per partition
        source = _expected(target, route)
        return source if source is None or source is _UNFOLDABLE else digest(source)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        expected = dict(zip(routes, pool.map(expected_digest, routes.values()), strict=True))
    for doc_id, wanted in expected.items():
        if wanted is _UNFOLDABLE:
            result.unprojectable += 1
            continue
        seen = documents.pop(doc_id, None)
        if (wanted is None) != (seen is None) or (wanted is not None and wanted != seen):
            candidates[doc_id] = routes[doc_id]
    if not result.interrupted:
        candidates.update({doc_id: None for doc_id in documents})  # no partition claimed them
    result.candidates = len(candidates)
    if candidates and options.recheck_after > 0:
        time.sleep(options.recheck_after)

    confirmed = _confirm(target, index, candidates, digest)
    result.differences = [Difference(kind, route.doc_id, None) for kind, route in confirmed]
    if options.repair and confirmed:
        index_of = (lambda alias: index) if options.index else (lambda alias: alias)
        counts, failed = rebuild_routes(target, {route: None for _, route in confirmed}, index_of)
        counts.indexed, counts.skipped = counts.indexed + counts.skipped, 0  # an orphan's tombstone: repaired
        result.repair = counts
        result.repair_failures = [f"{r.route.doc_id}: {r.reason}" for r in failed]
    result.seconds = time.monotonic() - started
    return result


def _documents(target: Target, index: str, digest: Any) -> dict[str, bytes]:
    documents: dict[str, bytes] = {}
    with contextlib.suppress(TransportError):
        target.search.indices.refresh(index=index)
    query = {"_source": True, "query": {"match_all": {}}}
    for hit in helpers.scan(target.search, index=index, query=query, size=1000, scroll="5m"):
        if not is_tombstone(hit):
            documents[hit["_id"]] = digest(without_reserved(hit.get("_source") or {}))
    return documents


def _expected(target: Target, route: FoldRoute) -> Any:
    """The document the partition folds into now (None: the entity is absent), or _UNFOLDABLE."""
    config = target.settings.entity_config
    assert config is not None
    collection = folder(target).reader.read(route.attribute)
    projection = Projection(target.settings.include_attributes, target.settings.exclude_attributes)
    try:
        return fold(
            route.entity, route.partition, collection.rows, config, target.keys, projection, target.hook
        )
    except (RecordError, HookError):
        return _UNFOLDABLE


def _confirm(
    target: Target, index: str, candidates: dict[str, FoldRoute | None], digest: Any
) -> list[tuple[Any, FoldRoute]]:
    """(kind, route) of each candidate that still differs, the document read before the partition."""
    read = read_documents(target, index, list(candidates))
    confirmed: list[tuple[Any, FoldRoute]] = []
    kind: str | None = None
    for doc_id, route in candidates.items():
        seen = read.get(doc_id)
        document = None if seen is None or seen.tombstone else seen
        if route is None:
            kind = kind or _partition_key_type(target)
            route = _route_of(target, kind, doc_id, document.source if document else None)
        if route is None:
            continue  # an id no partition key can have: nothing to rebuild it from
        expected = _expected(target, route)
        if expected is _UNFOLDABLE:
            continue
        if expected is None and document is not None:
            confirmed.append(("orphaned", route))
        elif expected is not None and document is None:
            confirmed.append(("missing", route))
        elif expected is not None and document is not None and digest(expected) != digest(document.source):
            confirmed.append(("stale", route))
    return confirmed


def _partition_key_type(target: Target) -> str:
    """S, N or B: the partition key's type as the table declares it (``AttributeDefinitions``)."""
    name = target.keys.partition_key
    definitions = target.dynamodb.describe_table(TableName=target.table)["Table"]["AttributeDefinitions"]
    return next((d["AttributeType"] for d in definitions if d["AttributeName"] == name), "S")


def _route_of(target: Target, kind: str, doc_id: str, source: dict[str, Any] | None) -> FoldRoute | None:
    """The partition a document id names, typed as the table declares its partition key."""
    assert target.entity is not None
    raw = source.get(RAW_ID_FIELD) if source is not None and is_hashed(doc_id) else doc_id
    if not isinstance(raw, str):
        return None
    attribute: dict[str, Any]
    if kind == "N":
        attribute = {"N": raw}
    elif kind == "B":
        try:
            attribute = {"B": base64.b64decode(raw, validate=True)}
        except ValueError:
            return None
    else:
        attribute = {"S": raw}
    plain: Any = raw
    if kind == "N":
        number = Decimal(raw)
        plain = int(number) if number == number.to_integral_value() else number
    return FoldRoute(target.entity, plain, attribute)


def audit_routes(
    target: Target,
    index: str,
    routes: list[FoldRoute],
    *,
    doc_ids: tuple[str, ...] = (),
    repair: bool = False,
) -> tuple[list[tuple[str, str]], tuple[Counts, list[str]] | None]:
    """The export path's folded audit: the partitions ``routes`` name (from an export's file) and the
    documents ``doc_ids`` name (from an index slice), each confirmed (document first, partition second) and,
    with ``repair``, rebuilt. Returns ((kind, doc id) of each difference, the repair's (counts, failures))."""
    from indexer.ops.audit import digest

    candidates: dict[str, FoldRoute | None] = {route.doc_id: route for route in routes}
    candidates.update({doc_id: None for doc_id in doc_ids if doc_id not in candidates})
    confirmed = _confirm(target, index, candidates, digest)
    differences = [(kind, route.doc_id) for kind, route in confirmed]
    if not repair or not confirmed:
        return differences, None
    index_of = (lambda alias: index) if index != target.alias else (lambda alias: alias)
    counts, failed = rebuild_routes(target, {route: None for _, route in confirmed}, index_of)
    counts.indexed, counts.skipped = counts.indexed + counts.skipped, 0
    return differences, (counts, [f"{r.route.doc_id}: {r.reason}" for r in failed])
