"""A segment reads its next Scan page while the current page's bulk write is in flight (``scan.read_ahead``).

Events are counted, never timed: the bulk write of a segment's first page waits until the segment's second
Scan request has been made. Without the read-ahead that request would only be made after the write returned,
so the write would give up waiting and the test fails.
"""

from __future__ import annotations

import threading
from typing import Any

from ops.traffic import ClientWith, around_bulk_requests

from indexer.index_setup import ensure_index
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.ratelimit import CapacityLimiter
from indexer.ops.scan import read_ahead, scan_segment
from indexer.ops.target import Target
from support import index_oracle

GIVE_UP_SECONDS = 30.0  # only bounds a failing run; a passing one never waits this long


def test_the_next_page_is_scanned_while_the_current_page_is_written(target: Target, table: Any) -> None:
    table.seed(110)  # pages of 40, 40 and 30: the last page is not full, so it ends the scan everywhere
    ensure_index(target.search, target.settings)
    scans: list[dict[str, Any]] = []
    second_scan = threading.Event()
    overlapped: list[bool] = []
    scan = target.dynamodb.scan

    def recording_scan(**request: Any) -> Any:
        scans.append(request)
        if len(scans) == 2:
            second_scan.set()
        return scan(**request)

    def waiting_bulk(body: bytes) -> None:
        if not overlapped:  # the first page's write: is the second page being read meanwhile?
            overlapped.append(second_scan.wait(GIVE_UP_SECONDS))

    object.__setattr__(target, "dynamodb", ClientWith(target.dynamodb, scan=recording_scan))
    around_bulk_requests(target.search, before=waiting_bulk)

    result = backfill(target, BackfillOptions(segments=1, page_size=40))

    assert result.ok, result.reasons
    assert overlapped == [True]
    assert [s.get("ExclusiveStartKey") is None for s in scans] == [True, False, False]
    assert result.summary["scanned"] == 110
    assert index_oracle.judge_target(target).clean


def test_read_ahead_yields_every_page_once_in_order_and_stops_reading_when_the_caller_stops(
    target: Target, table: Any
) -> None:
    table.seed(105)  # ten full pages and a last one of five, which ends the scan
    reads: list[int] = []
    scan = target.dynamodb.scan

    def counting_scan(**request: Any) -> Any:
        reads.append(1)
        return scan(**request)

    client = ClientWith(target.dynamodb, scan=counting_scan)

    def pages() -> Any:
        return scan_segment(
            client, target.table, segment=0, total_segments=1, limiter=CapacityLimiter(None), page_size=10
        )

    direct = [item["id"]["S"] for page in pages() for item in page.items]
    assert len(direct) == 105
    assert len(reads) == 11
    reads.clear()
    ahead = [item["id"]["S"] for page in read_ahead(pages()) for item in page.items]
    assert ahead == direct
    assert len(reads) == 11
    reads.clear()
    for n, _page in enumerate(read_ahead(pages())):
        if n == 2:
            break  # the caller stops on its third page
    assert len(reads) == 4  # the three pages it took and the one read ahead, no more
