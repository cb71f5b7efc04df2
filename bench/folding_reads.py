"""What the folding benchmark counts of the table reads: the indexer's tally, checked against the wire.

The indexer logs one ``batch`` line per invocation with its tally: ``rebuilt`` (folded documents written),
``table_reads`` (Query pages) and ``read_units`` (the sum of the pages' ``ConsumedCapacity``, which moto
fills with 1.0 per Query). ``MeteredQueries`` sits between the indexer's reader and its DynamoDB client and
keeps every page's items, so ``read_figures`` can check the tally against what was really read, check that
each batch rebuilt exactly the orders it touched, and compute the units DynamoDB would charge
(``bench.read_units``).
"""

from __future__ import annotations

import contextlib
import json
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench import read_units
from support.single_table import PARTITION_KEY


@dataclass(frozen=True)
class QueryPage:
    item_sizes: list[int]  # bytes of each item returned, by AWS's item size rules
    reported_units: float  # ConsumedCapacity.CapacityUnits as the server answered
    consistent: bool


@dataclass
class MeteredQueries:
    """A DynamoDB client that passes every Query on and keeps what each page returned."""

    client: Any
    pages: list[QueryPage] = field(default_factory=list)

    def query(self, **request: Any) -> dict[str, Any]:
        answer = self.client.query(**request)
        sizes = [read_units.item_size(item) for item in answer.get("Items", [])]
        reported = float((answer.get("ConsumedCapacity") or {}).get("CapacityUnits", 0.0))
        self.pages.append(QueryPage(sizes, reported, bool(request.get("ConsistentRead"))))
        return answer


def touched_orders(event: Mapping[str, Any]) -> int:
    """The folded documents a batch must rebuild: the distinct order partitions among its records."""
    partitions = {r["dynamodb"]["Keys"][PARTITION_KEY]["S"] for r in event["Records"]}
    return sum(1 for partition in partitions if partition.startswith("ORDER#"))


def batch_lines(stdout: str) -> list[dict[str, Any]]:
    """The indexer's ``batch`` log lines (its tally per invocation) among the lines it printed."""
    lines = []
    for line in stdout.splitlines():
        with contextlib.suppress(ValueError):
            parsed = json.loads(line)
            if isinstance(parsed, dict) and parsed.get("message") == "batch":
                lines.append(parsed)
    return lines


@dataclass(frozen=True)
class ReadFigures:
    records: int
    rebuilt: int
    pages: int
    reported_units: float  # the tally's read_units: moto's figures
    dynamodb_units: float  # by AWS's documented rules, from the pages' items
    query_bytes: list[int]  # per page
    pages_disagreeing: int  # pages where moto's figure is not what DynamoDB would charge

    def figures(self) -> dict[str, Any]:
        per_record = 1 / self.records
        big = sum(1 for size in self.query_bytes if size > read_units.READ_UNIT_BYTES)
        return {
            "rebuilt": self.rebuilt,
            "query_pages": self.pages,
            "rebuilt_per_record": round(self.rebuilt * per_record, 4),
            "query_pages_per_record": round(self.pages * per_record, 4),
            "query_pages_per_rebuild": round(self.pages / self.rebuilt, 4) if self.rebuilt else 0.0,
            "read_units_moto_per_record": round(self.reported_units * per_record, 4),
            "read_units_dynamodb_per_record": round(self.dynamodb_units * per_record, 4),
            "read_units_dynamodb_per_query": round(self.dynamodb_units / self.pages, 3)
            if self.pages
            else 0.0,
            "query_bytes_median": round(statistics.median(self.query_bytes)) if self.query_bytes else 0,
            "query_bytes_max": max(self.query_bytes, default=0),
            "queries_over_4kb": big,
            "moto_pages_disagreeing_with_dynamodb": self.pages_disagreeing,
        }


def read_figures(
    lines: list[dict[str, Any]], pages: list[QueryPage], expected_rebuilds: list[int]
) -> ReadFigures:
    """Sum the tally's batch lines; fail unless each batch rebuilt exactly the orders it touched (no
    conflicts: nothing else writes), the tally's pages and units are the pages the client saw, and every
    read was strongly consistent."""
    if len(lines) != len(expected_rebuilds):
        raise AssertionError(f"{len(lines)} batch log lines for {len(expected_rebuilds)} batches")
    rebuilt = [int(line["rebuilt"]) for line in lines]
    if rebuilt != expected_rebuilds:
        raise AssertionError(f"rebuilds per batch {rebuilt}, orders touched per batch {expected_rebuilds}")
    conflicts = sum(int(line["conflicts"]) for line in lines)
    if conflicts:
        raise AssertionError(f"{conflicts} conflicts with no other writer: the rebuild wrote twice")
    tally_pages = sum(int(line["table_reads"]) for line in lines)
    tally_units = sum(float(line["read_units"]) for line in lines)
    seen_units = sum(page.reported_units for page in pages)
    if tally_pages != len(pages) or abs(tally_units - seen_units) > 1e-6:
        raise AssertionError(
            f"the tally counted {tally_pages} pages and {tally_units} units, "
            f"the client saw {len(pages)} pages and {seen_units} units"
        )
    if not all(page.consistent for page in pages):
        raise AssertionError("a rebuild read its partition without ConsistentRead")
    charged = [read_units.query_read_units(page.item_sizes) for page in pages]
    return ReadFigures(
        records=sum(int(line["records"]) for line in lines),
        rebuilt=sum(rebuilt),
        pages=tally_pages,
        reported_units=tally_units,
        dynamodb_units=sum(charged),
        query_bytes=[sum(page.item_sizes) for page in pages],
        pages_disagreeing=sum(
            1 for page, units in zip(pages, charged, strict=True) if page.reported_units != units
        ),
    )
