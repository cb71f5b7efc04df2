"""Scan paging as DynamoDB does it, where moto is more lenient: a page that ``Limit`` ends exactly at the end
of a segment still carries a ``LastEvaluatedKey``, and only the next, empty page ends the segment.

Amazon DynamoDB API Reference, Scan (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html):
"If LastEvaluatedKey is not empty, it does not necessarily mean that there is more data in the result set. The
only way to know when you have reached the end of the result set is when LastEvaluatedKey is empty." moto
omits the key on such a page, so these tests read from ``bench.scan_responder``, which follows the rule.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ops.traffic import ClientWith

from indexer.index_setup import ensure_index
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.target import Target, open_target, settings_from

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import servers  # noqa: E402  (the repository root, for the benchmark's scan source)

ITEMS = 120  # two segments of 60 items, pages of 20: every segment's last item ends a full page


@pytest.fixture
def strict_scan() -> Iterator[str]:
    with servers.scan_responder("books", ITEMS) as url:
        yield url


@pytest.fixture
def books(env: dict[str, str], strict_scan: str) -> Target:
    return open_target(settings_from(env), "books", dynamodb_endpoint=strict_scan)


def test_a_full_last_page_carries_a_key_and_the_empty_page_after_it_ends_the_segment(books: Target) -> None:
    first = {"TableName": "books", "Segment": 0, "TotalSegments": 2, "Limit": 20}
    pages = []
    request = dict(first)
    while True:
        answer = books.dynamodb.scan(**request)
        pages.append((answer["Count"], "LastEvaluatedKey" in answer))
        if "LastEvaluatedKey" not in answer:
            break
        request = {**first, "ExclusiveStartKey": answer["LastEvaluatedKey"]}
    assert pages == [(20, True), (20, True), (20, True), (0, False)]


def test_backfill_indexes_every_item_and_finishes_segments_that_end_with_an_empty_page(
    books: Target, tmp_path: Path
) -> None:
    ensure_index(books.search, books.settings)
    scans: list[int] = []
    scan = books.dynamodb.scan

    def counting(**request: Any) -> Any:
        answer = scan(**request)
        scans.append(answer["Count"])
        return answer

    object.__setattr__(books, "dynamodb", ClientWith(books.dynamodb, scan=counting))
    checkpoint = tmp_path / "ckpt.json"

    result = backfill(books, BackfillOptions(segments=2, page_size=20, checkpoint=checkpoint))

    assert result.ok, result.reasons
    assert sorted(scans) == [0, 0] + [20] * 6  # each segment: three full pages, then the empty one
    assert result.summary["scanned"] == result.summary["indexed"] == ITEMS
    books.search.indices.refresh(index=books.alias)
    assert books.search.count(index=books.alias)["count"] == ITEMS
    saved = json.loads(checkpoint.read_text())["segments"]
    assert all(s["done"] and s["last_key"] is None and s["scanned"] == ITEMS // 2 for s in saved.values())
