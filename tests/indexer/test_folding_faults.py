"""Folding where it can go wrong: binary partition keys as Lambda delivers them, a lost alias, a read that is
an error, no time left, a bound exceeded mid-read, records of another table, an entity's own mapping."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from opensearchpy import OpenSearch

from indexer.batch import Runtime, process_batch
from indexer.collection_reads import TableCollections
from indexer.deadline import Deadline
from indexer.errors import SettingsError
from indexer.mget_docs import MgetItemError, docs_of
from support.single_table import PARTITION_KEY, SORT_KEY, entity_config
from support.stream_records import lambda_event, record
from support.streams import create_streamed_table

ORDER_ROW = {"status": {"S": "new"}}


def runtime_for(
    env: dict[str, str], table: str, dynamodb: Any, config: dict[str, Any] | None = None
) -> Runtime:
    runtime = Runtime.from_env(
        {
            **env,
            "TABLE_PARTITION_KEY": PARTITION_KEY,
            "TABLE_SORT_KEY": SORT_KEY,
            "TABLE_NAME": table,
            "ENTITY_CONFIG": json.dumps(config or entity_config(table)),
        }
    )
    runtime.reader = TableCollections(table, PARTITION_KEY, client=dynamodb)
    return runtime


def binary_config(table: str) -> dict[str, Any]:
    return {
        "entities": [
            {
                "name": "order",
                "match": {"sort_key_prefix": "ORDER"},
                "index": f"{table}-orders",
                "document_id": "partition_key",
                "exclude": ["PK", "SK"],
                "children": [{"name": "item", "match": {"sort_key_prefix": "ITEM#"}, "field": "items"}],
            }
        ]
    }


def test_a_binary_partition_key_delivered_as_base64_text_finds_its_rows(
    dynamo: tuple[Any, Any], env: dict[str, str], search: OpenSearch
) -> None:
    """Lambda delivers binary attributes as base64 text ("Using AWS Lambda with Amazon DynamoDB", event
    example; the stream's JSON form); the Query must send the bytes, not that text encoded once more."""
    dynamodb, _ = dynamo
    table = f"bin-{uuid.uuid4().hex[:10]}"
    create_streamed_table(dynamodb, table, (PARTITION_KEY, "B"), (SORT_KEY, "S"))
    raw = b"\x00order\xff"
    dynamodb.put_item(
        TableName=table, Item={PARTITION_KEY: {"B": raw}, SORT_KEY: {"S": "ORDER"}, **ORDER_ROW}
    )
    dynamodb.put_item(
        TableName=table, Item={PARTITION_KEY: {"B": raw}, SORT_KEY: {"S": "ITEM#1"}, "sku": {"S": "A"}}
    )
    text = base64.b64encode(raw).decode()
    keys = {PARTITION_KEY: {"B": text}, SORT_KEY: {"S": "ITEM#1"}}
    event = lambda_event([record("INSERT", keys, 0, {**keys, "sku": {"S": "A"}}, table=table)])
    runtime = runtime_for(env, table, dynamodb, binary_config(table))
    assert process_batch(event, None, runtime) == {"batchItemFailures": []}
    document = search.get(index=f"{table}-orders", id=text)["_source"]
    assert document == {"status": "new", "items": [{PARTITION_KEY: text, "SK": "ITEM#1", "sku": "A"}]}


def test_a_lost_alias_fails_the_records_and_never_becomes_a_concrete_index(
    dynamo: tuple[Any, Any], env: dict[str, str], search: OpenSearch
) -> None:
    """The multi-get of a missing index answers 200 with an error per document, and a bulk write through a
    missing alias would create an index of that name: both must fail instead (Bulk API ``require_alias``,
    https://docs.opensearch.org/latest/api-reference/document-apis/bulk/)."""
    dynamodb, _ = dynamo
    table = f"lost-{uuid.uuid4().hex[:10]}"
    create_streamed_table(dynamodb, table, (PARTITION_KEY, "S"), (SORT_KEY, "S"))
    runtime = runtime_for(env, table, dynamodb)
    search.indices.delete(index=f"{table}-orders-v1")  # the alias goes with its index
    keys = {PARTITION_KEY: {"S": "ORDER#1"}, SORT_KEY: {"S": "ORDER#1"}}
    event = lambda_event([record("INSERT", keys, 0, {**keys, **ORDER_ROW}, table=table)])
    answer = process_batch(event, None, runtime)
    assert answer["batchItemFailures"] == [
        {"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}
    ]
    assert not search.indices.exists(index=f"{table}-orders")


def test_an_mget_document_that_is_an_error_is_never_read_as_absent() -> None:
    answer = {
        "docs": [
            {"_index": "x", "_id": "a", "found": False},
            {"_index": "y", "_id": "b", "error": {"type": "index_not_found_exception"}},
        ]
    }
    with pytest.raises(MgetItemError, match="index_not_found_exception"):
        docs_of(answer)
    assert docs_of({"docs": answer["docs"][:1]}) == answer["docs"][:1]


def test_no_query_page_starts_without_time_left_and_a_bound_stops_the_reading(
    dynamo: tuple[Any, Any], env: dict[str, str]
) -> None:
    dynamodb, _ = dynamo
    table = f"bound-{uuid.uuid4().hex[:10]}"
    create_streamed_table(dynamodb, table, (PARTITION_KEY, "S"), (SORT_KEY, "S"))
    for n in range(8):  # about 2.4 MB: three Query pages of at most 1 MB
        dynamodb.put_item(
            TableName=table,
            Item={
                PARTITION_KEY: {"S": "ORDER#1"},
                SORT_KEY: {"S": f"ITEM#{n}"},
                "blob": {"S": "b" * 300_000},
            },
        )
    reader = TableCollections(table, PARTITION_KEY, client=dynamodb)
    collection = reader.read({"S": "ORDER#1"}, Deadline.after(0))
    with pytest.raises(Exception, match="no Query page started"):
        next(collection.rows)
    assert collection.pages == 0
    rows = reader.read({"S": "ORDER#1"}, Deadline.unbounded())
    taken = [next(rows.rows) for _ in range(3)]  # what a bound of 2 needs to see exceeded
    assert len(taken) == 3
    assert rows.pages == 1  # the rest of the partition was never read


def test_records_of_another_tables_stream_are_refused_naming_table_name(
    dynamo: tuple[Any, Any], env: dict[str, str]
) -> None:
    dynamodb, _ = dynamo
    table = f"own-{uuid.uuid4().hex[:10]}"
    create_streamed_table(dynamodb, table, (PARTITION_KEY, "S"), (SORT_KEY, "S"))
    runtime = runtime_for(env, table, dynamodb)
    keys = {PARTITION_KEY: {"S": "ORDER#1"}, SORT_KEY: {"S": "ORDER#1"}}
    event = lambda_event([record("INSERT", keys, 0, {**keys, **ORDER_ROW}, table="another-table")])
    with pytest.raises(SettingsError, match=r"TABLE_NAME: .* the records come from table 'another-table'"):
        process_batch(event, None, runtime)


def test_an_entity_maps_its_own_fields_when_its_index_is_made(
    dynamo: tuple[Any, Any], env: dict[str, str], search: OpenSearch
) -> None:
    dynamodb, _ = dynamo
    table = f"map-{uuid.uuid4().hex[:10]}"
    create_streamed_table(dynamodb, table, (PARTITION_KEY, "S"), (SORT_KEY, "S"))
    config = entity_config(table)
    config["entities"][0]["mappings"] = {"properties": {"orderItems": {"type": "nested"}}}
    runtime_for(env, table, dynamodb, config)
    mapping = search.indices.get_mapping(index=f"{table}-orders")[f"{table}-orders-v1"]["mappings"]
    assert mapping["properties"]["orderItems"] == {"type": "nested"}
    assert "indexer_tombstone" in mapping["properties"]  # the shipped mapping is still there
