"""A single-table design for tests: orders with line items, shipments and a payment, and customers.

``ENTITY_CONFIG`` folds each order's rows (``PK=ORDER#n``) into one document of the ``<prefix>-orders`` index
(``orderItems`` ordered by ``line``, ``shipmentInfo`` by sort key, ``payment`` a section) and keeps each
customer row (``PK=CUSTOMER#n``) as a flat document of ``<prefix>-customers``, versioned by its ``version``
counter. ``Writer`` applies operations to the table on moto as an application would: puts, updates,
deletes, transactions within an order, a line item moved between orders; customers' writes keep the counter
(every write adds one, a re-created customer continues it).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

ORDERS = ("ORDER#1", "ORDER#2", "ORDER#3")
CUSTOMERS = ("CUSTOMER#1", "CUSTOMER#2")
CHILD_KEYS = ("ITEM#1", "ITEM#2", "ITEM#3", "SHIPMENT#1", "SHIPMENT#2", "PAYMENT")
PARTITION_KEY, SORT_KEY = "PK", "SK"


def entity_config(prefix: str) -> dict[str, Any]:
    return {
        "entities": [
            {
                "name": "order",
                "match": {"partition_key_prefix": "ORDER#", "sort_key_prefix": "ORDER#"},
                "index": f"{prefix}-orders",
                "document_id": "partition_key",
                "exclude": ["PK", "SK"],
                "children": [
                    {
                        "name": "line_item",
                        "match": {"sort_key_prefix": "ITEM#"},
                        "field": "orderItems",
                        "order_by": "line",
                        "exclude": ["PK"],
                    },
                    {
                        "name": "shipment",
                        "match": {"sort_key_prefix": "SHIPMENT#"},
                        "field": "shipmentInfo",
                        "exclude": ["PK"],
                    },
                    {
                        "name": "payment",
                        "match": {"sort_key_prefix": "PAYMENT"},
                        "field": "payment",
                        "fold": "section",
                        "include": ["amount", "method"],
                    },
                ],
            },
            {
                "name": "customer",
                "match": {"partition_key_prefix": "CUSTOMER#"},
                "index": f"{prefix}-customers",
            },
        ]
    }


@dataclass(frozen=True)
class Put:
    partition: str
    sort: str
    value: int  # drives the attributes: status, line, amount


@dataclass(frozen=True)
class Update:
    partition: str
    sort: str
    value: int


@dataclass(frozen=True)
class Delete:
    partition: str
    sort: str


@dataclass(frozen=True)
class Transaction:
    operations: tuple[Put | Update | Delete, ...]


Operation = Put | Update | Delete | Transaction


def order_sort_key(partition: str) -> str:
    return partition  # the root row of ORDER#n is SK=ORDER#n


def _sort_of(partition: str, kind: str) -> str:
    return order_sort_key(partition) if kind == "root" else kind


def _rows() -> st.SearchStrategy[tuple[str, str]]:
    orders = st.tuples(st.sampled_from(ORDERS), st.sampled_from(("root", *CHILD_KEYS))).map(
        lambda pair: (pair[0], _sort_of(pair[0], pair[1]))
    )
    customers = st.tuples(st.sampled_from(CUSTOMERS), st.just("PROFILE"))
    return mixed({"order": 3, "customer": 1}, {"order": orders, "customer": customers})


def mixed(weighted: dict[str, int], strategies: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of ``strategies``, each chosen about as often as its weight says. (``st.one_of`` leans heavily
    towards its first branch while generating; a sampled kind keeps every kind common.)"""
    kinds = [kind for kind, weight in weighted.items() for _ in range(weight)]
    return st.sampled_from(kinds).flatmap(lambda kind: strategies[kind])


def _single() -> st.SearchStrategy[Put | Update | Delete]:
    value = st.integers(0, 9)
    return mixed(
        {"put": 2, "update": 2, "delete": 2},
        {
            "put": st.builds(lambda r, v: Put(r[0], r[1], v), _rows(), value),
            "update": st.builds(lambda r, v: Update(r[0], r[1], v), _rows(), value),
            "delete": st.builds(lambda r: Delete(r[0], r[1]), _rows()),
        },
    )


def _transaction() -> st.SearchStrategy[Transaction]:
    """Two to four rows of one order written together, or a line item moved from one order to another."""
    value = st.integers(0, 9)
    in_one_order = st.tuples(
        st.sampled_from(ORDERS),
        st.lists(st.sampled_from(("root", *CHILD_KEYS)), min_size=2, max_size=4, unique=True),
        st.lists(st.tuples(st.booleans(), value), min_size=4, max_size=4),
    ).map(
        lambda t: Transaction(
            tuple(
                Put(t[0], _sort_of(t[0], kind), v) if keep else Delete(t[0], _sort_of(t[0], kind))
                for kind, (keep, v) in zip(t[1], t[2], strict=False)
            )
        )
    )
    move = st.tuples(
        st.lists(st.sampled_from(ORDERS), min_size=2, max_size=2, unique=True),
        st.sampled_from(("ITEM#1", "ITEM#2", "ITEM#3")),
        value,
    ).map(lambda t: Transaction((Delete(t[0][0], t[1]), Put(t[0][1], t[1], t[2]))))
    return mixed({"order": 2, "move": 1}, {"order": in_one_order, "move": move})


def operations() -> st.SearchStrategy[Operation]:
    return mixed({"single": 3, "transaction": 1}, {"single": _single(), "transaction": _transaction()})


@dataclass
class Writer:
    """Applies operations to the table as the application's writers would."""

    dynamodb: Any
    table: str
    counters: dict[str, int] = field(default_factory=dict)  # customers' write counters, kept across deletes
    deleted_orders: set[str] = field(default_factory=set)
    deleted_customers: set[str] = field(default_factory=set)

    def apply(self, operation: Operation) -> None:
        if isinstance(operation, Transaction):
            self.dynamodb.transact_write_items(TransactItems=[self._item(op) for op in operation.operations])
            for op in operation.operations:
                self._note(op)
            return
        item = self._item(operation)
        if "Put" in item:
            self.dynamodb.put_item(**item["Put"])
        elif "Update" in item:
            self.dynamodb.update_item(**item["Update"])
        else:
            self.dynamodb.delete_item(**item["Delete"])
        self._note(operation)

    def _item(self, op: Put | Update | Delete) -> dict[str, Any]:
        key = {PARTITION_KEY: {"S": op.partition}, SORT_KEY: {"S": op.sort}}
        if isinstance(op, Delete):
            return {"Delete": {"TableName": self.table, "Key": key}}
        attributes = self._attributes(op)
        if isinstance(op, Put):
            return {"Put": {"TableName": self.table, "Item": {**key, **attributes}}}
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        values = {f":v{i}": value for i, value in enumerate(attributes.values())}
        assignments = ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes)))
        return {
            "Update": {
                "TableName": self.table,
                "Key": key,
                "UpdateExpression": f"SET {assignments}",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _attributes(self, op: Put | Update) -> dict[str, Any]:
        v = op.value
        if op.partition.startswith("CUSTOMER#"):
            counter = self.counters.get(op.partition, 0) + 1
            self.counters[op.partition] = counter
            return {"name": {"S": f"customer {v}"}, "version": {"N": str(counter)}}
        if op.sort.startswith("ITEM#"):
            return {"sku": {"S": f"SKU-{v}"}, "line": {"N": str(v % 4)}, "price": {"N": str(Decimal(v) / 4)}}
        if op.sort.startswith("SHIPMENT#"):
            return {"carrier": {"S": ("DHL", "UPS", "post")[v % 3]}, "status": {"S": f"leg {v}"}}
        if op.sort == "PAYMENT":
            return {"amount": {"N": f"{v}.50"}, "method": {"S": "card"}, "secret": {"S": "4111"}}
        return {"status": {"S": ("new", "paid", "shipped", "closed")[v % 4]}, "total": {"N": str(v * 10)}}

    def _note(self, op: Put | Update | Delete) -> None:
        deleted = self.deleted_customers if op.partition.startswith("CUSTOMER#") else self.deleted_orders
        if isinstance(op, Delete) and (op.partition.startswith("CUSTOMER#") or op.sort == op.partition):
            deleted.add(
                op.partition if op.partition.startswith("ORDER#") else f'["{op.partition}","PROFILE"]'
            )
        if isinstance(op, Delete) and op.partition.startswith("CUSTOMER#"):
            # a delete is a modification: the contract says a re-created item continues the counter
            self.counters[op.partition] = self.counters.get(op.partition, 0) + 1


def customer_doc_ids(customers: Sequence[str]) -> list[str]:
    return [f'["{c}","PROFILE"]' for c in customers]


def random_operation(rng: random.Random, orders: Sequence[str], customers: Sequence[str]) -> Operation:
    """A write as a busy application makes them: mostly order rows put, updated or deleted, sometimes a line
    item moved to another order, sometimes a customer."""
    order = rng.choice(orders)
    kind = rng.choice(("root", *CHILD_KEYS))
    sort = _sort_of(order, kind)
    roll = rng.random()
    if roll < 0.1:
        return Put(rng.choice(customers), "PROFILE", rng.randrange(10))
    if roll < 0.3:
        return Delete(order, sort)
    if roll < 0.4:
        other = rng.choice([o for o in orders if o != order])
        return Transaction((Delete(order, "ITEM#1"), Put(other, "ITEM#1", rng.randrange(10))))
    return (Put if roll < 0.7 else Update)(order, sort, rng.randrange(10))
