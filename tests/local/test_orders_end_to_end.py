"""The orders example end to end on the stack ``make up STACK=orders`` starts (one per session), loaded by the
code behind ``make load-orders``, searched over HTTP as the README's "Single-table designs" shows.

Writes go to DynamoDB on moto as the application's would (an order's rows in one transaction); every search
assertion polls until it holds within the bound below, and the index is judged at the start and at the end
against the table read directly (``support.folding_oracle``, which shares no code with the indexer) with the
ENTITY_CONFIG the function got from Terraform.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from books_local import orders_load
from books_local.config import StackConfig
from books_local.orders_load import Loaded, Order
from support.folding_oracle import judge_entities
from support.index_oracle import Verdict

# A write is searchable within this many seconds (a poll of the stream, a Query of the order, one bulk); the
# first bound covers the whole load.
SEARCH_BOUND_SECONDS = 30.0
LOAD_BOUND_SECONDS = 120.0
ORDERS, CUSTOMERS = 40, 8  # the load's code path at a CI-sized count (make load-orders writes 300 and 40)


def eventually(check: Callable[[], bool], what: str, bound: float = SEARCH_BOUND_SECONDS) -> None:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > bound:
            pytest.fail(f"not within {bound} s: {what}")
        time.sleep(0.2)


@dataclass
class Example:
    """The running example: its table on moto, its OpenSearch, what was loaded."""

    dynamodb: Any
    table: str
    opensearch_url: str
    entity_config: dict[str, Any]
    loaded: Loaded

    def search(self, index: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        """The hits of ``query`` through the alias (which hides tombstones), at most 500."""
        request = urllib.request.Request(
            f"{self.opensearch_url}/{index}/_search",
            data=json.dumps({"query": query, "size": 500}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["hits"]["hits"]

    def orders_with_sku(self, sku: str) -> dict[str, dict[str, Any]]:
        hits = self.search("orders", {"term": {"orderItems.sku.keyword": sku}})
        return {hit["_id"]: hit["_source"] for hit in hits}

    def order(self, key: str) -> dict[str, Any] | None:
        hits = self.search("orders", {"ids": {"values": [key]}})
        return hits[0]["_source"] if hits else None

    def verdicts(self) -> dict[str, Verdict]:
        return judge_entities(self.dynamodb, self.table, self.opensearch_url, self.entity_config, "PK", "SK")

    def clean(self) -> bool:
        return all(verdict.clean for verdict in self.verdicts().values())


@pytest.fixture(scope="module")
def example(orders_stack: StackConfig) -> Example:
    recorded = orders_stack.state.read_stack()
    session = boto3.session.Session(region_name=recorded["region"])
    dynamodb = session.client("dynamodb", endpoint_url=recorded["moto_endpoint"])
    function = session.client("lambda", endpoint_url=recorded["moto_endpoint"]).get_function_configuration(
        FunctionName=recorded["outputs"]["indexer"]["function_name"]
    )
    variables = function["Environment"]["Variables"]
    table = recorded["outputs"]["table"]["table_name"]
    assert variables["TABLE_NAME"] == table
    loaded = orders_load.load(dynamodb, table, order_count=ORDERS, customer_count=CUSTOMERS, seed=5)
    config = json.loads(variables["ENTITY_CONFIG"])
    return Example(dynamodb, table, recorded["opensearch_url"], config, loaded)


def test_the_load_is_searchable_exactly_as_the_table_rebuilds_it(example: Example) -> None:
    eventually(example.clean, "every order and customer indexed as the table rebuilds it", LOAD_BOUND_SECONDS)
    assert len(example.search("orders", {"match_all": {}})) == ORDERS
    assert len(example.search("customers", {"match_all": {}})) == CUSTOMERS


def test_an_order_is_found_by_a_line_items_sku(example: Example) -> None:
    order = example.loaded.orders[0]
    sku = order.skus[-1]
    found = example.orders_with_sku(sku)
    assert order.key in found
    with_sku = {o.key for o in example.loaded.orders if sku in o.skus}
    assert set(found) == with_sku  # every order with such a line item, and only those
    document = found[order.key]
    assert [item["sku"] for item in document["orderItems"]] == order.skus  # ordered by lineNumber
    assert "cardToken" not in document.get("payment", {})  # the payment section's include list
    assert not {"PK", "SK"} & set(document)


def _item_row(order: Order, line: int) -> dict[str, Any]:
    return next(row for row in order.rows if row["SK"] == f"ITEM#{line:02d}")


def test_updating_a_line_item_moves_the_order_to_the_new_sku(example: Example) -> None:
    order = example.loaded.orders[1]
    old_sku, new_sku = order.skus[0], f"E2E-{uuid.uuid4().hex[:8].upper()}"
    example.dynamodb.update_item(
        TableName=example.table,
        Key={"PK": {"S": order.key}, "SK": {"S": "ITEM#01"}},
        UpdateExpression="SET sku = :sku",
        ExpressionAttributeValues={":sku": {"S": new_sku}},
    )
    eventually(lambda: list(example.orders_with_sku(new_sku)) == [order.key], f"found by {new_sku}")
    assert order.key not in example.orders_with_sku(old_sku)  # SKUs are unique within an order


def test_deleting_a_line_item_removes_it_from_its_order(example: Example) -> None:
    order = next(o for o in example.loaded.orders[2:] if len(o.skus) >= 2)
    removed = _item_row(order, 2)
    example.dynamodb.transact_write_items(  # the item and the order's count in one transaction
        TransactItems=[
            {"Delete": {"TableName": example.table, "Key": {"PK": {"S": order.key}, "SK": {"S": "ITEM#02"}}}},
            {
                "Update": {
                    "TableName": example.table,
                    "Key": {"PK": {"S": order.key}, "SK": {"S": order.key}},
                    "UpdateExpression": "SET itemCount = itemCount - :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )

    def gone() -> bool:
        document = example.order(order.key)
        return document is not None and removed["sku"] not in [i["sku"] for i in document["orderItems"]]

    eventually(gone, f"{order.key} without its line 2 ({removed['sku']})")
    document = example.order(order.key)
    assert document is not None
    assert [item["lineNumber"] for item in document["orderItems"]] == [
        line for line in range(1, len(order.skus) + 1) if line != 2
    ]
    assert document["itemCount"] == len(order.skus) - 1
    assert order.key not in example.orders_with_sku(removed["sku"])


def test_deleting_an_order_removes_it_from_search(example: Example) -> None:
    order = example.loaded.orders[5]
    example.dynamodb.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": example.table, "Key": {"PK": {"S": order.key}, "SK": {"S": row["SK"]}}}}
            for row in order.rows
        ]
    )
    eventually(lambda: example.order(order.key) is None, f"{order.key} gone from search")
    assert all(order.key not in example.orders_with_sku(sku) for sku in order.skus)


def test_an_order_whose_own_row_is_deleted_is_not_searchable_while_its_items_remain(example: Example) -> None:
    """The rule of the README and ``indexer.folding``: an entity exists while its root row does; children
    without one are not searchable (and come back with it)."""
    order = example.loaded.orders[6]
    key = {"PK": {"S": order.key}, "SK": {"S": order.key}}
    example.dynamodb.delete_item(TableName=example.table, Key=key)
    eventually(lambda: example.order(order.key) is None, f"{order.key} gone while its items remain")
    remaining = example.dynamodb.query(
        TableName=example.table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": order.key}},
        ConsistentRead=True,
    )["Items"]
    assert len(remaining) == len(order.rows) - 1


def test_customers_are_in_their_own_index_and_follow_their_updates(example: Example) -> None:
    customer = example.loaded.customers[1]
    hits = example.search("customers", {"term": {"email.keyword": customer.email}})
    assert [hit["_id"] for hit in hits] == [json.dumps([customer.key, "PROFILE"], separators=(",", ":"))]
    assert hits[0]["_source"] == {
        "name": customer.name,
        "email": customer.email,
        "tier": customer.tier,
        "version": 1,
    }
    assert example.search("customers", {"exists": {"field": "orderItems"}}) == []
    assert example.search("orders", {"exists": {"field": "email"}}) == []

    renamed = orders_load.Customer(customer.key, f"Renamed {uuid.uuid4().hex[:8]}", customer.email, "gold")
    orders_load.write_customer(example.dynamodb, example.table, renamed)  # version 2

    def updated() -> bool:
        found = example.search("customers", {"term": {"email.keyword": customer.email}})
        return [hit["_source"].get("name") for hit in found] == [renamed.name]

    eventually(updated, f"{customer.key} renamed to {renamed.name!r}")


def test_in_the_end_the_index_is_the_tables_rebuild(example: Example) -> None:
    eventually(example.clean, "the index serves exactly the rebuild of the table")
