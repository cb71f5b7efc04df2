"""An orders single-table workload for the folding benchmark: the writes of a shop, then its stream records.

The design is the tests' (``support.single_table.entity_config``): orders at ``PK=ORDER#n`` with their root
row ``SK=ORDER#n``, line items ``ITEM#nn`` (folded into ``orderItems``, ordered by ``line``), shipments
``SHIPMENT#n`` (``shipmentInfo``) and one ``PAYMENT`` row (a section), and customers at
``PK=CUSTOMER#n, SK=PROFILE`` (a flat entity versioned by its ``version`` counter). The rows carry what a
shop keeps (names, descriptions, an address map), so an order's partition is a few hundred bytes to about
20 KB and a Query's read units vary as they would.

``Shop`` plans writes as an application makes them, with a fixed seed: orders placed (root, 1 to 6 line
items, about one order in ten a bulk order of 10 to 30, the payment, written together), then, mostly to the
``ACTIVE_WINDOW`` most recently placed orders (an order's writes cluster in time), status updates,
shipments added and updated, line items changed, added and removed, whole orders deleted (and now and then
only the root row, leaving the children behind), and customers' profiles rewritten. ``write`` applies the
planned writes to a streamed table; ``support.streams.StreamReader`` then reads the stream's records, shaped
as Lambda delivers them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

from support.single_table import PARTITION_KEY, SORT_KEY

ACTIVE_WINDOW = 40
# BatchWriteItem: "consisting of up to 25 item put or delete operations":
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
BATCH_WRITE_MAX_ROWS = 25
CUSTOMERS = 50
WORDS = (
    "cotton", "blue", "oak", "steel", "compact", "travel", "kitchen", "garden", "wireless", "classic",
    "organic", "leather", "ceramic", "folding", "vintage", "solar", "premium", "linen", "walnut", "glass",
)  # fmt: skip
STATUSES = ("placed", "paid", "packed", "shipped", "delivered")
SHIPMENT_STATUSES = ("label created", "in transit", "out for delivery", "delivered", "returned")
QUANTITIES = tuple(str(n) for n in range(1, 10))
CARRIERS = ("DHL", "UPS", "FedEx", "post")

Image = dict[str, Any]  # DynamoDB JSON


@dataclass(frozen=True)
class Write:
    """One row written: a whole item put, attributes set on an existing item, or the item deleted."""

    kind: Literal["put", "update", "delete"]
    key: Image
    attributes: Image = field(default_factory=dict)


Operation = tuple[Write, ...]  # more than one: rows an application writes together


def key(partition: str, sort: str) -> Image:
    return {PARTITION_KEY: {"S": partition}, SORT_KEY: {"S": sort}}


@dataclass
class _Order:
    number: int
    items: list[int] = field(default_factory=list)
    shipments: int = 0
    values: dict[str, Image] = field(default_factory=dict)  # sort key -> the attributes updates change

    @property
    def partition(self) -> str:
        return f"ORDER#{self.number}"


@dataclass
class Shop:
    """Plans the writes; its state is what the table holds (of the orders it may still write to)."""

    rng: random.Random = field(default_factory=lambda: random.Random(20261201))
    orders: list[_Order] = field(default_factory=list)  # live orders, oldest first
    versions: dict[int, int] = field(default_factory=dict)  # customer -> its version counter
    placed: int = 0

    def operation(self) -> Operation:
        roll = self.rng.random()
        if not self.orders or roll < 0.18:
            return self._place()
        if roll < 0.28:
            return self._profile()
        order = self.rng.choice(self.orders[-ACTIVE_WINDOW:])
        if roll < 0.48:
            return (self._update(order, order.partition, "status", STATUSES),)
        if roll < 0.60:
            order.shipments += 1
            sort = f"SHIPMENT#{order.shipments}"
            return (self._put(order, sort, self._shipment()),)
        if roll < 0.72 and order.shipments:
            sort = f"SHIPMENT#{self.rng.randint(1, order.shipments)}"
            return (self._update(order, sort, "status", SHIPMENT_STATUSES),)
        if roll < 0.82 and order.items:
            line = self.rng.choice(order.items)
            return (self._update(order, f"ITEM#{line:02d}", "quantity", QUANTITIES),)
        if roll < 0.88:
            line = max(order.items, default=0) + 1
            order.items.append(line)
            return (self._put(order, f"ITEM#{line:02d}", self._line_item(line)),)
        if roll < 0.93 and len(order.items) > 1:
            line = order.items.pop(self.rng.randrange(len(order.items)))
            return (Write("delete", key(order.partition, f"ITEM#{line:02d}")),)
        self.orders.remove(order)
        sorts = [order.partition, "PAYMENT"] + [f"ITEM#{line:02d}" for line in order.items]
        sorts += [f"SHIPMENT#{n}" for n in range(1, order.shipments + 1)]
        if roll < 0.99:  # the whole order
            return tuple(Write("delete", key(order.partition, sort)) for sort in sorts)
        return (Write("delete", key(order.partition, order.partition)),)  # children left behind

    def _place(self) -> Operation:
        self.placed += 1
        order = _Order(self.placed)
        count = self.rng.randint(10, 30) if self.rng.random() < 0.1 else self.rng.randint(1, 6)
        order.items = list(range(1, count + 1))
        self.orders.append(order)
        customer = f"CUSTOMER#{self.rng.randint(1, CUSTOMERS)}"
        root = {
            "status": {"S": "placed"},
            "customer": {"S": customer},
            "total": {"N": f"{self.rng.randint(5, 900)}.{self.rng.randint(0, 99):02d}"},
            "currency": {"S": "EUR"},
            "placedAt": {"S": f"2026-11-{self.rng.randint(1, 30):02d}T{self.rng.randint(0, 23):02d}:00:00Z"},
            "address": {
                "M": {
                    "street": {"S": f"{self.rng.randint(1, 200)} {self._words(2).title()} Street"},
                    "city": {"S": self._words(1).title()},
                    "zip": {"S": f"{self.rng.randint(10000, 99999)}"},
                }
            },
        }
        payment = {
            "amount": root["total"],
            "method": {"S": self.rng.choice(("card", "transfer", "wallet"))},
            "secret": {"S": f"tok_{self.rng.getrandbits(64):016x}"},
        }
        writes = [self._put(order, order.partition, root)]
        writes += [self._put(order, f"ITEM#{line:02d}", self._line_item(line)) for line in order.items]
        writes.append(self._put(order, "PAYMENT", payment))
        return tuple(writes)

    def _profile(self) -> Operation:
        number = self.rng.randint(1, CUSTOMERS)
        self.versions[number] = self.versions.get(number, 0) + 1
        profile = {
            "name": {"S": self._words(2).title()},
            "email": {"S": f"customer{number}@example.com"},
            "tier": {"S": self.rng.choice(("basic", "silver", "gold"))},
            "version": {"N": str(self.versions[number])},
        }
        return (Write("put", key(f"CUSTOMER#{number}", "PROFILE"), profile),)

    def _line_item(self, line: int) -> Image:
        return {
            "line": {"N": str(line)},
            "sku": {"S": f"SKU-{self.rng.randint(1000, 9999)}"},
            "name": {"S": self._words(3).title()},
            "description": {"S": self._words(self.rng.randint(20, 80))},
            "quantity": {"N": self.rng.choice(QUANTITIES[:5])},
            "price": {"N": f"{self.rng.randint(1, 300)}.{self.rng.randint(0, 99):02d}"},
        }

    def _shipment(self) -> Image:
        return {
            "carrier": {"S": self.rng.choice(CARRIERS)},
            "tracking": {"S": f"{self.rng.getrandbits(48):012X}"},
            "status": {"S": SHIPMENT_STATUSES[0]},
        }

    def _words(self, count: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(count))

    def _put(self, order: _Order, sort: str, attributes: Image) -> Write:
        order.values[sort] = attributes
        return Write("put", key(order.partition, sort), attributes)

    def _update(self, order: _Order, sort: str, name: str, choices: tuple[str, ...]) -> Write:
        """``name`` set to another of ``choices`` than the row holds: "If you perform a PutItem or UpdateItem
        operation that does not change any data in an item, DynamoDB Streams does not write a stream record
        for that operation" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html),
        and moto writes one anyway; so every write here changes its row, and each makes one record on both."""
        current = order.values[sort].get(name)
        kind = "N" if name == "quantity" else "S"
        value = {kind: self.rng.choice([c for c in choices if {kind: c} != current])}
        order.values[sort] = {**order.values[sort], name: value}
        return Write("update", key(order.partition, sort), {name: value})


def plan(records: int, seed: int = 20261201) -> list[Operation]:
    """Operations until they write at least ``records`` rows (each row written is one stream record)."""
    shop = Shop(random.Random(seed))
    operations: list[Operation] = []
    written = 0
    while written < records:
        operation = shop.operation()
        operations.append(operation)
        written += len(operation)
    return operations


def write(dynamodb: Any, table: str, operation: Operation) -> None:
    """Apply one planned operation to ``table``. The rows of a several-row operation (an order placed or
    deleted) go in BatchWriteItem requests, not one TransactWriteItems: the stream carries one record per
    row either way, and moto's TransactWriteItems copies the whole table on every call (about half a second
    each at a few hundred rows), which would make the workload, not the benchmark, take minutes."""
    if len(operation) == 1 or any(row.kind == "update" for row in operation):
        for row in operation:
            ((kind, request),) = _request(table, row).items()
            {"Put": dynamodb.put_item, "Update": dynamodb.update_item, "Delete": dynamodb.delete_item}[kind](
                **request
            )
        return
    for start in range(0, len(operation), BATCH_WRITE_MAX_ROWS):
        chunk = operation[start : start + BATCH_WRITE_MAX_ROWS]
        requests = [
            {"PutRequest": {"Item": {**row.key, **row.attributes}}}
            if row.kind == "put"
            else {"DeleteRequest": {"Key": row.key}}
            for row in chunk
        ]
        answer = dynamodb.batch_write_item(RequestItems={table: requests})
        if answer.get("UnprocessedItems"):
            raise RuntimeError(f"BatchWriteItem left items unprocessed: {answer['UnprocessedItems']}")


def _request(table: str, row: Write) -> dict[str, Any]:
    if row.kind == "put":
        return {"Put": {"TableName": table, "Item": {**row.key, **row.attributes}}}
    if row.kind == "delete":
        return {"Delete": {"TableName": table, "Key": row.key}}
    names = {f"#a{i}": name for i, name in enumerate(row.attributes)}
    values = {f":v{i}": value for i, value in enumerate(row.attributes.values())}
    return {
        "Update": {
            "TableName": table,
            "Key": row.key,
            "UpdateExpression": "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(names))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }
