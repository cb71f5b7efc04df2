"""Read one item collection (every row with one partition key value) with a strongly consistent Query.

A folded document is rebuilt from the whole partition, so every read is ``ConsistentRead`` (an eventually
consistent read may miss a write acknowledged a moment ago: "Read consistency",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html) and follows
``LastEvaluatedKey`` until the Query has no more pages (one page holds at most 1 MB:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html). The consumed read
capacity is summed from ``ReturnConsumedCapacity`` for the batch's log line and the benchmark.

boto3 is imported on first use, not at cold start: a flat configuration never reads the table, and the flat
indexer's cold start imports no AWS SDK (``client``).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from indexer.bulk import MIN_REQUEST_SECONDS
from indexer.changes import plain_item
from indexer.deadline import Deadline


@dataclass
class Collection:
    """A partition's rows, read page by page as they are consumed (a bound exceeded stops the reading, and no
    more than a page of rows that belong to no rule is held); ``pages`` and ``read_units`` count what was
    read so far."""

    rows: Iterator[dict[str, Any]] = field(default_factory=lambda: iter(()))  # plain (decoded) rows
    read_units: float = 0.0  # ConsumedCapacity of the pages read
    pages: int = 0


class TableReadTimeout(Exception):
    """Too little of the invocation's time is left to read another page."""


class CollectionReader(Protocol):
    def read(
        self, partition_attribute: Mapping[str, Any], deadline: Deadline | None = None
    ) -> Collection: ...


@dataclass
class TableCollections:
    """Queries ``table`` through a DynamoDB client made on first use (``client`` injects one)."""

    table: str
    partition_key: str
    region: str | None = None
    endpoint_url: str | None = None
    timeout_seconds: float = 10.0
    client: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _dynamodb(self) -> Any:
        with self._lock:
            if self.client is None:
                import boto3  # only where the configuration folds
                from botocore.config import Config

                config = Config(
                    connect_timeout=self.timeout_seconds,
                    read_timeout=self.timeout_seconds,
                    retries={"mode": "standard", "max_attempts": 3},
                )
                self.client = boto3.session.Session().client(
                    "dynamodb", region_name=self.region, endpoint_url=self.endpoint_url, config=config
                )
            return self.client

    def read(self, partition_attribute: Mapping[str, Any], deadline: Deadline | None = None) -> Collection:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": self.partition_key},
            "ExpressionAttributeValues": {":pk": query_value(partition_attribute)},
            "ConsistentRead": True,
            "ReturnConsumedCapacity": "TOTAL",
        }
        collection = Collection()
        collection.rows = self._pages(request, collection, deadline)
        return collection

    def _pages(
        self, request: dict[str, Any], collection: Collection, deadline: Deadline | None
    ) -> Iterator[dict[str, Any]]:
        client = self._dynamodb()
        while True:
            if deadline is not None and deadline.remaining() < MIN_REQUEST_SECONDS:
                raise TableReadTimeout(f"{deadline.remaining():.2f} s left: no Query page started")
            answer = client.query(**request)
            collection.pages += 1
            collection.read_units += float((answer.get("ConsumedCapacity") or {}).get("CapacityUnits", 0.0))
            for item in answer.get("Items", []):
                yield plain_item(item)
            last = answer.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last


def query_value(attribute: Mapping[str, Any]) -> dict[str, Any]:
    """A key attribute as boto3 sends it: a stream record carries binary as base64 text (Lambda's event
    shape), which boto3 would base64-encode again; it takes the bytes."""
    if "B" in attribute and isinstance(attribute["B"], str):
        return {"B": base64.b64decode(attribute["B"], validate=True)}
    return dict(attribute)
