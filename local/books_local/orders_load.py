"""``python -m books_local load-orders`` (``make load-orders``): the orders example's data, written to the
table of ``live/local-orders`` as an application would write it.

Rows (``live/local-orders/entities.hcl`` folds them into one ``orders`` document per order and keeps each
customer in ``customers``):

- an order at ``PK=ORDER#<n>, SK=ORDER#<n>`` (customerId, status, total, currency, placedAt, itemCount),
  its line items at ``SK=ITEM#<nn>`` (lineNumber, sku, name, quantity, unitPrice), its shipments at
  ``SK=SHIPMENT#<nn>`` (carrier, trackingNumber, status, shippedAt) and its payment at ``SK=PAYMENT`` (method,
  amount, currency, status, and a cardToken the index never gets): all of one order's rows in one
  ``TransactWriteItems``, so the table never holds half an order;
- a customer at ``PK=CUSTOMER#<n>, SK=PROFILE`` (name, email, tier), written with ``UpdateItem`` that adds 1
  to its ``version``, the write counter the indexer orders a flat entity's writes by.

The data is a function of ``--seed``: the same seed writes the same rows (an order's rows are replaced, a
customer's counter goes on), so a test or a README example can name what it will find.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from books_local.errors import StackError

# TransactWriteItems "can contain up to 100 action requests" (Amazon DynamoDB API Reference,
# TransactWriteItems, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html):
# one order is at most 1 + MAX_ITEMS + MAX_SHIPMENTS + 1 rows.
TRANSACTION_LIMIT = 100
MAX_ITEMS = 8
MAX_SHIPMENTS = 3
DEFAULT_ORDERS = 300
DEFAULT_CUSTOMERS = 40
DEFAULT_SEED = 17

PRODUCTS = (
    ("KB-1042", "Mechanical keyboard, brown switches", "89.90"),
    ("KB-1043", "Mechanical keyboard, red switches", "89.90"),
    ("MS-2210", "Wireless mouse", "34.50"),
    ("MS-2211", "Vertical mouse", "49.00"),
    ("MN-3300", "27-inch monitor", "279.00"),
    ("MN-3301", "34-inch ultrawide monitor", "449.00"),
    ("CB-0007", "USB-C cable, 2 m", "12.99"),
    ("CB-0008", "HDMI cable, 1.5 m", "9.99"),
    ("HS-5150", "Noise-cancelling headset", "159.00"),
    ("WC-6020", "1080p webcam", "64.90"),
    ("DK-7100", "Thunderbolt dock", "219.00"),
    ("LP-8800", "Laptop stand, aluminium", "39.95"),
    ("CH-9001", "Desk chair, mesh back", "329.00"),
    ("DS-9100", "Standing desk frame", "399.00"),
    ("LM-1200", "LED desk lamp", "29.90"),
    ("SP-1300", "Bluetooth speaker", "74.00"),
    ("SS-1400", "1 TB portable SSD", "99.00"),
    ("PB-1500", "20,000 mAh power bank", "45.00"),
    ("MP-1600", "Desk mat, felt", "24.50"),
    ("TB-1700", "Drawing tablet", "119.00"),
)
FIRST_NAMES = ("Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen", "Perlman")
TIERS = ("bronze", "silver", "gold")
CARRIERS = ("DHL", "UPS", "FedEx", "La Poste", "PostNL")
ORDER_STATUSES = ("placed", "paid", "shipped", "delivered")
PAYMENT_METHODS = ("card", "paypal", "invoice")


def order_key(number: int) -> str:
    return f"ORDER#{number:06d}"


def customer_key(number: int) -> str:
    return f"CUSTOMER#{number:04d}"


@dataclass(frozen=True)
class Customer:
    key: str
    name: str
    email: str
    tier: str


@dataclass(frozen=True)
class Order:
    key: str
    rows: tuple[dict[str, Any], ...]  # plain values (str, Decimal); rows[0] is the order's own row

    @property
    def skus(self) -> list[str]:
        return [row["sku"] for row in self.rows if row["SK"].startswith("ITEM#")]


@dataclass(frozen=True)
class Loaded:
    table: str
    orders: list[Order]
    customers: list[Customer]

    @property
    def rows(self) -> int:
        return sum(len(order.rows) for order in self.orders) + len(self.customers)


def customers(count: int, seed: int = DEFAULT_SEED) -> list[Customer]:
    chance = random.Random(f"customers-{seed}")
    found = []
    for number in range(1, count + 1):
        first, last = chance.choice(FIRST_NAMES), chance.choice(LAST_NAMES)
        email = f"{first}.{last}.{number}@example.com".lower()
        found.append(Customer(customer_key(number), f"{first} {last}", email, chance.choice(TIERS)))
    return found


def orders(count: int, customer_count: int, seed: int = DEFAULT_SEED) -> Iterator[Order]:
    """``count`` orders of customers 1..``customer_count``, each with 1-8 line items, 0-3 shipments and most
    with a payment."""
    chance = random.Random(f"orders-{seed}")
    for number in range(1, count + 1):
        key = order_key(number)
        status = chance.choice(ORDER_STATUSES)
        day = f"2026-{chance.randint(1, 11):02d}-{chance.randint(1, 28):02d}"
        items = []
        for line, (sku, name, price) in enumerate(chance.sample(PRODUCTS, chance.randint(1, MAX_ITEMS)), 1):
            quantity = chance.randint(1, 3)
            items.append(
                {
                    "PK": key,
                    "SK": f"ITEM#{line:02d}",
                    "lineNumber": Decimal(line),
                    "sku": sku,
                    "name": name,
                    "quantity": Decimal(quantity),
                    "unitPrice": Decimal(price),
                }
            )
        total = sum((row["quantity"] * row["unitPrice"] for row in items), Decimal(0))
        rows: list[dict[str, Any]] = [
            {
                "PK": key,
                "SK": key,
                "customerId": customer_key(chance.randint(1, customer_count)),
                "status": status,
                "total": total,
                "currency": "EUR",
                "placedAt": f"{day}T{chance.randint(8, 21):02d}:{chance.randint(0, 59):02d}:00Z",
                "itemCount": Decimal(len(items)),
            },
            *items,
        ]
        shipments = 0 if status in ("placed", "paid") else chance.randint(1, MAX_SHIPMENTS)
        for leg in range(1, shipments + 1):
            rows.append(
                {
                    "PK": key,
                    "SK": f"SHIPMENT#{leg:02d}",
                    "carrier": chance.choice(CARRIERS),
                    "trackingNumber": f"TRK{chance.randrange(10**9, 10**10)}",
                    "status": "delivered" if status == "delivered" else "in transit",
                    "shippedAt": f"{day}T18:00:00Z",
                }
            )
        if status != "placed":
            rows.append(
                {
                    "PK": key,
                    "SK": "PAYMENT",
                    "method": chance.choice(PAYMENT_METHODS),
                    "amount": total,
                    "currency": "EUR",
                    "status": "captured",
                    "cardToken": f"tok_{chance.getrandbits(64):016x}",  # never indexed (entities.hcl)
                }
            )
        assert len(rows) <= TRANSACTION_LIMIT
        yield Order(key, tuple(rows))


def attribute(value: Any) -> dict[str, str]:
    """A plain value as DynamoDB JSON (strings and numbers are all this data has)."""
    if isinstance(value, Decimal):
        return {"N": str(value)}
    return {"S": str(value)}


def write_order(dynamodb: Any, table: str, order: Order) -> None:
    """All of one order's rows in one transaction: a reader never sees half of an order."""
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {name: attribute(v) for name, v in row.items()}}}
            for row in order.rows
        ]
    )


def write_customer(dynamodb: Any, table: str, customer: Customer) -> None:
    """The profile, with 1 added to its write counter in the same write (the indexer's version)."""
    dynamodb.update_item(
        TableName=table,
        Key={"PK": {"S": customer.key}, "SK": {"S": "PROFILE"}},
        UpdateExpression="SET #name = :name, email = :email, tier = :tier ADD version :one",
        ExpressionAttributeNames={"#name": "name"},
        ExpressionAttributeValues={
            ":name": {"S": customer.name},
            ":email": {"S": customer.email},
            ":tier": {"S": customer.tier},
            ":one": {"N": "1"},
        },
    )


def load(
    dynamodb: Any,
    table: str,
    *,
    order_count: int = DEFAULT_ORDERS,
    customer_count: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    say: Callable[[str], None] = lambda line: None,
) -> Loaded:
    if order_count < 0:
        raise StackError(f"--orders {order_count}: give 0 or more orders")
    if customer_count < 1:
        raise StackError(f"--customers {customer_count}: give at least 1 customer (every order has one)")
    people = customers(customer_count, seed)
    for customer in people:
        write_customer(dynamodb, table, customer)
    say(f"wrote {len(people)} customers")
    written: list[Order] = []
    for order in orders(order_count, customer_count, seed):
        write_order(dynamodb, table, order)
        written.append(order)
        if len(written) % 100 == 0:
            say(f"wrote {len(written)} orders")
    return Loaded(table, written, people)
