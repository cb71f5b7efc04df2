"""Backfill: index the items that already exist, with a parallel scan, without ever beating the stream.

Every document carries the scanned item's own version (``2 * counter``, ``versions``): when the backfill and
the stream Lambda race on one item, the newer state wins whichever request reaches OpenSearch last, and an
equal one is the same content. No clock is read. An item without a counter only creates a document the index
lacks (``sequence_guard``): whatever the stream wrote is at least as new, or is followed by the stream's later
records in order.

Segments (``Segment``/``TotalSegments``) are scanned by a pool of threads; each page is written with the
stream path's ``documents``/``bulk`` modules while the segment's next page is being read (``read_ahead``),
then recorded in the checkpoint, so an interrupted backfill resumes where it stopped and never rescans a
finished segment. ``--rate`` bounds the read capacity the scan consumes per second, measured from
``ReturnConsumedCapacity``.

Sizing (``bench.backfill --sweep`` measures it, docs/operations.md records the choice): a backfill's bulk
requests carry ``--bulk-actions`` actions (default ``DEFAULT_BULK_ACTIONS``), not the stream's
``BULK_MAX_ACTIONS``, which is sized for a stream batch of a few hundred records; ``BULK_MAX_BYTES`` still
caps every request's body. The segments' threads share the OpenSearch client's connection pool.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.ops.checkpoint import Checkpoint
from indexer.ops.page_writes import write_items
from indexer.ops.progress import Counts, Progress
from indexer.ops.ratelimit import CapacityLimiter
from indexer.ops.scan import read_ahead, scan_segment
from indexer.ops.target import Target

# indexer.client.make_client keeps 4 pooled connections; more threads would open and drop extra ones.
DEFAULT_WORKERS = 4
DEFAULT_SEGMENTS = 4
# Actions per _bulk request, chosen by `python -m bench.backfill --sweep` (docs/operations.md, "Sizing").
DEFAULT_BULK_ACTIONS = 2000
MAX_BULK_ACTIONS = 10_000  # the same bound as BULK_MAX_ACTIONS


@dataclass(frozen=True)
class BackfillOptions:
    segments: int = DEFAULT_SEGMENTS
    bulk_actions: int = DEFAULT_BULK_ACTIONS  # actions per _bulk request; BULK_MAX_BYTES still caps bytes
    workers: int | None = None  # threads; default min(segments, 4)
    rate: float | None = None  # read capacity units per second for the whole scan; None: unbounded
    page_size: int | None = None  # Scan Limit (items per page); None: DynamoDB's 1 MB pages
    checkpoint: Path | None = None
    index: str | None = None  # write into this concrete index instead of the alias (reindex)
    consistent_read: bool = False


@dataclass
class BackfillResult:
    summary: dict[str, float | int]
    started_at: float
    interrupted: bool = False
    reasons: list[str] = field(default_factory=list)  # a few failure reasons, for the report

    @property
    def ok(self) -> bool:
        return not self.interrupted and self.summary["failed"] == 0


PageHook = Callable[[int, Counts], None]


def backfill(
    target: Target,
    options: BackfillOptions,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    on_page: PageHook | None = None,
) -> BackfillResult:
    """Scan the table and index every item; ``stop`` ends it cleanly after the pages in flight."""
    if options.segments < 1:
        raise ValueError(f"--segments must be at least 1, got {options.segments}")
    if not 1 <= options.bulk_actions <= MAX_BULK_ACTIONS:
        raise ValueError(f"--bulk-actions must be 1 to {MAX_BULK_ACTIONS}, got {options.bulk_actions}")
    target = with_bulk_actions(target, options.bulk_actions)
    started_at = time.time()
    config = target.settings.entity_config
    if config is not None and options.index is not None and target.entity is None:
        raise ValueError("--into: with ENTITY_CONFIG, name the entity whose index it is (--entity)")
    index = options.index or (
        target.alias if config is None or target.entity is not None else ",".join(config.indices)
    )
    checkpoint = Checkpoint.open(
        options.checkpoint, table=target.table, index=index, total_segments=options.segments
    )
    progress = progress or Progress("backfill")
    stop = stop or threading.Event()
    limiter = CapacityLimiter(options.rate)
    reasons: list[str] = []
    run = _SegmentRun(target, options, checkpoint, limiter, progress, stop, index, reasons, on_page)
    pending = checkpoint.pending_segments()
    workers = options.workers or min(options.segments, DEFAULT_WORKERS)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(pending) or 1))) as pool:
        futures: list[Future[None]] = [pool.submit(run.segment, n) for n in pending]
        try:
            while True:
                done, not_done = wait(futures, timeout=0.5, return_when=FIRST_EXCEPTION)
                errors = [f.exception() for f in done if f.exception() is not None]
                if errors:
                    stop.set()
                    wait(not_done)
                    raise errors[0]  # type: ignore[misc]
                if not not_done:
                    break
        except KeyboardInterrupt:
            stop.set()
            wait(futures)
    progress.finish()
    return BackfillResult(
        summary=progress.summary(),
        started_at=started_at,
        interrupted=bool(checkpoint.pending_segments()) and stop.is_set(),
        reasons=reasons[:20],
    )


def with_bulk_actions(target: Target, bulk_actions: int) -> Target:
    """The target whose bulk writer puts ``bulk_actions`` actions in a request (bytes still capped)."""
    if target.settings.bulk_max_actions == bulk_actions:
        return target
    settings = dataclasses.replace(target.settings, bulk_max_actions=bulk_actions)
    return dataclasses.replace(target, settings=settings)


@dataclass
class _SegmentRun:
    target: Target
    options: BackfillOptions
    checkpoint: Checkpoint
    limiter: CapacityLimiter
    progress: Progress
    stop: threading.Event
    index: str
    reasons: list[str]
    on_page: PageHook | None

    def segment(self, number: int) -> None:
        state = self.checkpoint.segment(number)
        failed_keys = self._retry_failed(number, list(state.failed_keys))
        if state.done:
            self.checkpoint.record_page(number, last_key=None, scanned=0, failed_keys=failed_keys)
            return
        pages = scan_segment(
            self.target.dynamodb,
            self.target.table,
            segment=number,
            total_segments=self.options.segments,
            limiter=self.limiter,
            start_key=state.last_key,
            page_size=self.options.page_size,
            consistent_read=self.options.consistent_read,
            stop=self.stop,
        )
        for page in read_ahead(pages):
            if self.stop.is_set():
                break  # the page read ahead is not written: the checkpoint resumes before it
            counts, failed = self._write(page.items)
            failed_keys.extend(failed)
            self.checkpoint.record_page(
                number, last_key=page.last_key, scanned=len(page.items), failed_keys=failed_keys
            )
            self.progress.add(counts)
            if self.on_page is not None:
                self.on_page(number, counts)

    def _write(self, items: list[dict[str, Any]]) -> tuple[Counts, list[dict[str, Any]]]:
        result = write_items(self.target, items, self.options.index)
        self.reasons.extend(result.reasons[: max(0, 20 - len(self.reasons))])
        return result.counts, result.failed_keys

    def _retry_failed(self, number: int, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Re-read (consistently) and re-index the items that failed in an earlier run."""
        still_failed: list[dict[str, Any]] = []
        for key in keys:
            answer = self.target.dynamodb.get_item(TableName=self.target.table, Key=key, ConsistentRead=True)
            if "Item" not in answer:
                continue  # deleted since: the stream's delete covers it
            counts, failed = self._write([answer["Item"]])
            counts.scanned = 0
            self.progress.add(counts)
            still_failed.extend(failed)
        return still_failed
