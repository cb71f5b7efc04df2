"""One segment of a parallel DynamoDB scan, page by page, paced by the shared capacity limiter."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from indexer.ops.ratelimit import CapacityLimiter


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None  # None: the segment is finished
    consumed: float  # read capacity units


def scan_segment(
    dynamodb: Any,
    table: str,
    *,
    segment: int,
    total_segments: int,
    limiter: CapacityLimiter,
    start_key: dict[str, Any] | None = None,
    page_size: int | None = None,
    consistent_read: bool = False,
    stop: threading.Event | None = None,
) -> Iterator[Page]:
    """Yields the segment's pages from ``start_key``; stops early (between pages) when ``stop`` is set."""
    while stop is None or not stop.is_set():
        limiter.wait()
        request: dict[str, Any] = {
            "TableName": table,
            "Segment": segment,
            "TotalSegments": total_segments,
            "ReturnConsumedCapacity": "TOTAL",
            "ConsistentRead": consistent_read,
        }
        if page_size:
            request["Limit"] = page_size
        if start_key:
            request["ExclusiveStartKey"] = start_key
        answer = dynamodb.scan(**request)
        consumed = float(answer.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
        limiter.charge(consumed)
        start_key = answer.get("LastEvaluatedKey")
        yield Page(answer.get("Items", []), start_key, consumed)
        if start_key is None:
            return


def read_ahead(pages: Iterator[Page]) -> Iterator[Page]:
    """``pages``, with the next page read in a helper thread while the caller works on the current one.

    A backfill's segment otherwise waits for each Scan answer and then for each bulk write in turn; this
    overlaps the two. At most one page is read ahead; a caller that stops early drops it (it was never
    written, so a checkpoint never records it), and the helper finishes that one read before this returns.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-ahead") as reader:
        upcoming = reader.submit(next, pages, None)
        while (page := upcoming.result()) is not None:
            upcoming = reader.submit(next, pages, None)
            yield page
