"""The data ``make load-orders`` writes (pure generation; test_orders_end_to_end.py writes it to DynamoDB on
moto and searches it): orders shaped as the README's "Single-table designs" describes, one transaction
each."""

from __future__ import annotations

from decimal import Decimal

from books_local import orders_load
from books_local.config import ROOT
from books_local.orders_load import MAX_ITEMS, MAX_SHIPMENTS, customers, orders


def test_the_same_seed_writes_the_same_data_and_another_seed_other_data() -> None:
    assert list(orders(30, 5, seed=3)) == list(orders(30, 5, seed=3))
    assert customers(5, seed=3) == customers(5, seed=3)
    assert list(orders(30, 5, seed=3)) != list(orders(30, 5, seed=4))


def test_each_order_fits_one_transaction() -> None:
    """TransactWriteItems "can contain up to 100 action requests" (Amazon DynamoDB API Reference,
    TransactWriteItems, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html):
    an order's rows are written in one, so the table never holds half an order."""
    assert orders_load.TRANSACTION_LIMIT == 100
    largest = max(len(order.rows) for order in orders(2000, 40, seed=11))
    assert largest == 1 + MAX_ITEMS + MAX_SHIPMENTS + 1 <= orders_load.TRANSACTION_LIMIT


def test_orders_are_shaped_as_the_entities_expect() -> None:
    for order in orders(500, 40, seed=2):
        root, *children = order.rows
        assert root["PK"] == root["SK"] == order.key
        assert root["customerId"] in {customer.key for customer in customers(40, seed=2)}
        assert {row["PK"] for row in order.rows} == {order.key}
        items = [row for row in children if row["SK"].startswith("ITEM#")]
        assert [row["lineNumber"] for row in items] == list(range(1, len(items) + 1))
        assert 1 <= len(items) <= MAX_ITEMS
        assert len(set(order.skus)) == len(order.skus)  # a SKU once per order
        assert root["itemCount"] == len(items)
        assert root["total"] == sum(row["quantity"] * row["unitPrice"] for row in items)
        shipments = [row for row in children if row["SK"].startswith("SHIPMENT#")]
        assert bool(shipments) == (root["status"] in ("shipped", "delivered"))
        payments = [row for row in children if row["SK"] == "PAYMENT"]
        assert len(payments) == (root["status"] != "placed")
        for payment in payments:
            assert payment["amount"] == root["total"]
            assert payment["cardToken"].startswith("tok_")  # what the payment section's include leaves out
        assert len(items) + len(shipments) + len(payments) == len(children)
        assert all(isinstance(v, str | Decimal) for row in order.rows for v in row.values())


def test_customers_have_unique_keys_and_emails() -> None:
    people = customers(200, seed=1)
    assert len({c.key for c in people}) == len({c.email for c in people}) == 200
    assert all(c.key.startswith("CUSTOMER#") for c in people)


def test_the_readmes_example_searches_find_what_the_default_load_writes() -> None:
    """README.md, "Single-table designs", names a SKU, an order, a customer and a name the default
    `make load-orders` writes: they stay true."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### The worked example: orders") : readme.index("## Deploy")]
    first = next(orders(orders_load.DEFAULT_ORDERS, orders_load.DEFAULT_CUSTOMERS, orders_load.DEFAULT_SEED))
    assert first.key == "ORDER#000001"
    assert '"orderItems.sku.keyword": "HS-5150"' in section
    assert "HS-5150" in first.skus
    assert first.rows[0]["customerId"] == "CUSTOMER#0001"
    assert '"customerId.keyword": "CUSTOMER#0001"' in section
    assert f'"total": {first.rows[0]["total"]}' in section
    people = customers(orders_load.DEFAULT_CUSTOMERS, orders_load.DEFAULT_SEED)
    assert '"match": {"name": "Hopper"}' in section
    assert any(person.name.endswith(" Hopper") for person in people)
    assert f"make load-orders       # {orders_load.DEFAULT_ORDERS} orders" in section
    assert f"and {orders_load.DEFAULT_CUSTOMERS} customers" in section
