"""Folding over real stream records: moto's table and stream, the OpenSearch stand-in behind the strict proxy.

Each test writes to a streamed single-table design (``support.single_table``), delivers the stream's records
to ``process_batch`` with ENTITY_CONFIG, and reads the documents back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from opensearchpy import OpenSearch

from indexer.batch import Runtime, process_batch
from indexer.collection_reads import Collection, TableCollections
from indexer.index_setup import index_body
from indexer.ops.reindex import swap_alias
from support.single_table import PARTITION_KEY, SORT_KEY, entity_config
from support.stream_records import lambda_event
from support.streams import StreamReader, create_streamed_table


@dataclass
class CountingReader:
    """The indexer's reader, counting the partitions it reads and the Query pages they took."""

    inner: TableCollections
    reads: list[str] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    before_return: Callable[[], None] | None = None

    def read(self, partition_attribute: Mapping[str, Any], deadline: Any = None) -> Collection:
        collection = self.inner.read(partition_attribute, deadline)
        rows = list(collection.rows)
        collection = Collection(iter(rows), collection.read_units, collection.pages)
        self.reads.append(partition_attribute["S"])
        self.pages.append(collection.pages)
        if self.before_return is not None:
            action, self.before_return = self.before_return, None
            action()
        return collection


@dataclass
class Stack:
    dynamodb: Any
    table: str
    reader: CountingReader
    runtime: Runtime
    stream: StreamReader
    search: OpenSearch

    def put(self, pk: str, sk: str, **attributes: Any) -> None:
        item = {PARTITION_KEY: pk, SORT_KEY: sk, **attributes}
        self.dynamodb.put_item(TableName=self.table, Item={k: _typed(v) for k, v in item.items()})

    def delete(self, pk: str, sk: str) -> None:
        self.dynamodb.delete_item(TableName=self.table, Key={PARTITION_KEY: {"S": pk}, SORT_KEY: {"S": sk}})

    def deliver(self) -> dict[str, Any]:
        return dict(process_batch(lambda_event(self.stream.read()), None, self.runtime))

    def document(self, doc_id: str, entity: str = "orders") -> dict[str, Any] | None:
        """The document as a search through the alias serves it (tombstones filtered), or None."""
        index = f"{self.table}-{entity}"
        self.search.indices.refresh(index=index)
        hits = self.search.search(index=index, body={"query": {"ids": {"values": [doc_id]}}})["hits"]["hits"]
        return hits[0]["_source"] if hits else None


def _typed(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": value}


@pytest.fixture
def stack(dynamo: tuple[Any, Any], env: dict[str, str], search: OpenSearch) -> Stack:
    dynamodb, streams = dynamo
    table = f"st-{uuid.uuid4().hex[:10]}"
    arn = create_streamed_table(dynamodb, table, (PARTITION_KEY, "S"), (SORT_KEY, "S"))
    runtime = Runtime.from_env(
        {
            **env,
            "TABLE_PARTITION_KEY": PARTITION_KEY,
            "TABLE_SORT_KEY": SORT_KEY,
            "TABLE_NAME": table,
            "ENTITY_CONFIG": json.dumps(entity_config(table)),
        }
    )
    reader = CountingReader(TableCollections(table, PARTITION_KEY, client=dynamodb))
    runtime.reader = reader
    return Stack(dynamodb, table, reader, runtime, StreamReader(streams, arn), search)


def test_the_cold_start_creates_every_configured_index_behind_its_alias(stack: Stack) -> None:
    for entity in ("orders", "customers"):
        aliases = stack.search.indices.get_alias(name=f"{stack.table}-{entity}")
        assert list(aliases) == [f"{stack.table}-{entity}-v1"]


def test_many_children_of_one_order_in_one_batch_cost_one_rebuild(stack: Stack) -> None:
    stack.put("ORDER#1", "ORDER#1", status="new")
    for n in range(12):
        stack.put("ORDER#1", f"ITEM#{n:02d}", sku=f"S{n}", line=n)
    stack.put("ORDER#2", "ITEM#01", sku="early", line=1)  # a child before its parent
    assert stack.deliver() == {"batchItemFailures": []}
    assert sorted(stack.reader.reads) == ["ORDER#1", "ORDER#2"]  # 14 records, two partitions, two reads
    order = stack.document("ORDER#1")
    assert order is not None
    assert [item["sku"] for item in order["orderItems"]] == [f"S{n}" for n in range(12)]
    assert stack.document("ORDER#2") is None  # children without their order are not searchable

    stack.put("ORDER#2", "ORDER#2", status="late parent")
    assert stack.deliver() == {"batchItemFailures": []}
    assert stack.document("ORDER#2") == {
        "status": "late parent",
        "orderItems": [{"SK": "ITEM#01", "sku": "early", "line": 1}],
        "shipmentInfo": [],
    }


def test_a_deleted_order_is_gone_from_search_though_its_children_remain(stack: Stack) -> None:
    stack.put("ORDER#1", "ORDER#1", status="new")
    stack.put("ORDER#1", "ITEM#1", sku="A", line=1)
    stack.deliver()
    stack.delete("ORDER#1", "ORDER#1")
    assert stack.deliver() == {"batchItemFailures": []}
    assert stack.document("ORDER#1") is None
    stored = stack.search.get(index=f"{stack.table}-orders", id="ORDER#1")  # by id: the tombstone
    assert stored["_source"]["indexer_tombstone"] is True
    stack.delete("ORDER#1", "ITEM#1")  # a child deleted after its parent: still nothing searchable
    stack.put("ORDER#1", "ITEM#2", sku="B", line=2)
    assert stack.deliver() == {"batchItemFailures": []}
    assert stack.document("ORDER#1") is None


def test_a_collection_beyond_one_query_page_and_a_parent_near_the_item_limit_fold_whole(stack: Stack) -> None:
    # DynamoDB items are at most 400 KB ("Quotas", https://docs.aws.amazon.com/amazondynamodb/latest/
    # developerguide/ServiceQuotas.html) and a Query page at most 1 MB ("Paginating table query results",
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html): this partition
    # is about 1.9 MB, so the rebuild must follow LastEvaluatedKey across pages.
    stack.put("ORDER#1", "ORDER#1", status="big", notes="n" * 390_000)
    for n in range(5):
        stack.put("ORDER#1", f"ITEM#{n}", sku=f"S{n}", line=n, blob="b" * 300_000)
    assert stack.deliver() == {"batchItemFailures": []}
    assert stack.reader.pages[-1] >= 2
    order = stack.document("ORDER#1")
    assert order is not None
    assert len(order["notes"]) == 390_000
    assert [item["sku"] for item in order["orderItems"]] == [f"S{n}" for n in range(5)]


def test_a_bound_exceeded_fails_that_orders_records_and_keeps_its_last_good_document(stack: Stack) -> None:
    stack.put("ORDER#1", "ORDER#1", status="new")
    stack.put("ORDER#1", "PAYMENT", amount=5, method="card")
    stack.deliver()
    stack.put("ORDER#2", "ORDER#2", status="fine")
    stack.put("ORDER#1", "PAYMENTS", amount=6, method="cash")  # a second row for the section
    records = stack.stream.read()
    answer = process_batch(lambda_event(records), None, stack.runtime)
    order_one = [r for r in records if r["dynamodb"]["Keys"][PARTITION_KEY]["S"] == "ORDER#1"]
    assert answer == {"batchItemFailures": [{"itemIdentifier": order_one[0]["dynamodb"]["SequenceNumber"]}]}
    assert stack.document("ORDER#1") == {
        "status": "new",
        "orderItems": [],
        "shipmentInfo": [],
        "payment": {"amount": 5, "method": "card"},
    }
    assert stack.document("ORDER#2") is not None  # the other document of the batch is written


def test_a_rebuild_that_another_write_overtook_reads_again_and_ends_current(stack: Stack) -> None:
    stack.put("ORDER#1", "ORDER#1", status="new")
    stack.deliver()

    def overtake() -> None:  # between this rebuild's read and its write: a write, and its own rebuild
        stack.put("ORDER#1", "ORDER#1", status="paid")
        assert stack.deliver() == {"batchItemFailures": []}

    stack.put("ORDER#1", "ITEM#1", sku="A", line=1)
    stack.reader.before_return = overtake
    assert stack.deliver() == {"batchItemFailures": []}
    assert stack.document("ORDER#1") == {
        "status": "paid",
        "orderItems": [{"SK": "ITEM#1", "sku": "A", "line": 1}],
        "shipmentInfo": [],
    }
    # the overtaken rebuild read the partition twice: once before the overtaking write, once after its 409
    assert stack.reader.reads[-3:] == ["ORDER#1", "ORDER#1", "ORDER#1"]


def test_a_table_read_that_fails_reports_the_records_for_a_retry(
    stack: Stack, dynamo: tuple[Any, Any]
) -> None:
    stack.put("ORDER#1", "ORDER#1", status="new")
    records = stack.stream.read()
    stack.runtime.reader = CountingReader(TableCollections("no-such-table", PARTITION_KEY, client=dynamo[0]))
    answer = process_batch(lambda_event(records), None, stack.runtime)
    assert answer == {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}


def test_flat_customers_keep_their_versions_in_their_own_index(stack: Stack) -> None:
    stack.put("CUSTOMER#7", "PROFILE", name="Ann", version=2)
    records = stack.stream.read()
    stack.put("CUSTOMER#7", "PROFILE", name="Ann B.", version=3)
    newer = stack.stream.read()
    assert process_batch(lambda_event(newer), None, stack.runtime) == {"batchItemFailures": []}
    assert process_batch(lambda_event(records), None, stack.runtime) == {"batchItemFailures": []}  # late
    assert stack.document('["CUSTOMER#7","PROFILE"]', "customers") == {
        "PK": "CUSTOMER#7",
        "SK": "PROFILE",
        "name": "Ann B.",
        "version": 3,
    }
    assert stack.reader.reads == []  # flat entities never read the table


def test_a_rebuild_whose_alias_moved_between_its_read_and_its_write_reads_again(stack: Stack) -> None:
    """A sequence number means something only within one index: a rebuild that read the old index and wrote
    into the new one (a reindex swapped the alias in between) is not trusted, but done again there."""
    alias = f"{stack.table}-orders"

    def swap() -> None:
        stack.search.indices.create(index=f"{alias}-v2", body=index_body())
        swap_alias(stack.search, alias, f"{alias}-v1", f"{alias}-v2")

    stack.put("ORDER#1", "ORDER#1", status="new")
    stack.reader.before_return = swap  # the document does not exist yet: its write is a create
    assert stack.deliver() == {"batchItemFailures": []}
    assert stack.reader.reads == ["ORDER#1", "ORDER#1"]  # read, written into v2 by the create, read again
    assert stack.search.get(index=f"{alias}-v2", id="ORDER#1")["_source"]["status"] == "new"
