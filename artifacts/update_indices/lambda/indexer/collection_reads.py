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

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from indexer.changes import plain_item


@dataclass
class Collection:
    rows: list[dict[str, Any]]  # plain (decoded) rows
    read_units: float  # ConsumedCapacity of every page
    pages: int


class CollectionReader(Protocol):
    def read(self, partition_attribute: Mapping[str, Any]) -> Collection: ...


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

    def read(self, partition_attribute: Mapping[str, Any]) -> Collection:
        client = self._dynamodb()
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": self.partition_key},
            "ExpressionAttributeValues": {":pk": dict(partition_attribute)},
            "ConsistentRead": True,
            "ReturnConsumedCapacity": "TOTAL",
        }
        rows: list[dict[str, Any]] = []
        units = 0.0
        pages = 0
        while True:
            answer = client.query(**request)
            pages += 1
            units += float((answer.get("ConsumedCapacity") or {}).get("CapacityUnits", 0.0))
            rows.extend(plain_item(item) for item in answer.get("Items", []))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return Collection(rows, units, pages)
            request["ExclusiveStartKey"] = last
