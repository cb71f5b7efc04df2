"""Folding rows into a document (pure) and routing records to the documents they touch."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from indexer.changes import Change
from indexer.entities import EntityConfig, parse_entity_config
from indexer.errors import SettingsError
from indexer.folding import FoldError, Projection, fold
from indexer.keys import KeySchema, is_hashed
from indexer.routing import FlatRoute, FoldRoute, routes_of, rule_of
from support.single_table import entity_config

KEYS = KeySchema("PK", "SK")
CONFIG = parse_entity_config(json.dumps(entity_config("t")), has_sort_key=True)
assert CONFIG is not None
ORDER, CUSTOMER = CONFIG.entities


def row(pk: str, sk: str, **attributes: Any) -> dict[str, Any]:
    return {"PK": pk, "SK": sk, **attributes}


def test_a_partition_folds_into_one_document_in_the_configured_order() -> None:
    rows = [
        row("ORDER#1", "ITEM#2", sku="B", line=2),
        row("ORDER#1", "SHIPMENT#2", carrier="UPS"),
        row("ORDER#1", "ORDER#1", status="paid", total=Decimal("10.50")),
        row("ORDER#1", "ITEM#1", sku="A", line=10),
        row("ORDER#1", "ITEM#3", sku="C"),  # no line: last
        row("ORDER#1", "ITEM#0", sku="Z", line=2),  # same line as ITEM#2: the sort key breaks the tie
        row("ORDER#1", "SHIPMENT#1", carrier="DHL"),
        row("ORDER#1", "PAYMENT", amount=Decimal("10.50"), method="card", secret="4111"),
        row("ORDER#1", "NOTE#1", text="not configured: ignored"),
    ]
    document = fold(ORDER, "ORDER#1", rows, CONFIG, KEYS)
    assert document == {
        "status": "paid",
        "total": Decimal("10.50"),
        "orderItems": [
            {"SK": "ITEM#0", "sku": "Z", "line": 2},
            {"SK": "ITEM#2", "sku": "B", "line": 2},
            {"SK": "ITEM#1", "sku": "A", "line": 10},  # numbers by value, not as text
            {"SK": "ITEM#3", "sku": "C"},
        ],
        "shipmentInfo": [{"SK": "SHIPMENT#1", "carrier": "DHL"}, {"SK": "SHIPMENT#2", "carrier": "UPS"}],
        "payment": {"amount": Decimal("10.50"), "method": "card"},  # the section's include list
    }


def test_an_entity_is_absent_without_its_root_row_whatever_children_remain() -> None:
    children = [row("ORDER#1", "ITEM#1", sku="A", line=1), row("ORDER#1", "PAYMENT", amount=1)]
    assert fold(ORDER, "ORDER#1", children, CONFIG, KEYS) is None
    assert fold(ORDER, "ORDER#1", [], CONFIG, KEYS) is None
    only_root = fold(ORDER, "ORDER#1", [row("ORDER#1", "ORDER#1", status="new")], CONFIG, KEYS)
    assert only_root == {"status": "new", "orderItems": [], "shipmentInfo": []}  # a section is absent


def test_more_children_than_the_bound_fail_naming_the_rule_never_dropping_one() -> None:
    config = parse_entity_config(
        json.dumps(
            {
                "entities": [
                    {
                        "name": "order",
                        "match": {"sort_key_prefix": "ORDER#"},
                        "index": "o",
                        "document_id": "partition_key",
                        "children": [
                            {
                                "name": "item",
                                "match": {"sort_key_prefix": "ITEM#"},
                                "field": "items",
                                "max_children": 2,
                            }
                        ],
                    }
                ]
            }
        ),
        has_sort_key=True,
    )
    assert config is not None
    rows = [row("O#1", "ORDER#1")] + [row("O#1", f"ITEM#{n}") for n in range(3)]
    with pytest.raises(
        FoldError,
        match=r"entities\[0\]\.children\[0\]: partition 'O#1' has 3 or more rows for 'items', more than",
    ):
        fold(config.entities[0], "O#1", rows, config, KEYS)
    two_payments = [row("ORDER#1", "ORDER#1"), row("ORDER#1", "PAYMENT"), row("ORDER#1", "PAYMENTS")]
    with pytest.raises(
        FoldError, match=r"children\[2\].*more than max_children 1 \(a section holds one row\)"
    ):
        fold(ORDER, "ORDER#1", two_payments, CONFIG, KEYS)
    with pytest.raises(FoldError, match="has two rows matching the entity"):
        fold(ORDER, "ORDER#1", [row("ORDER#1", "ORDER#1"), row("ORDER#1", "ORDER#2")], CONFIG, KEYS)


def test_global_lists_apply_a_hook_runs_last_and_long_ids_are_hashed() -> None:
    rows = [
        row("ORDER#1", "ORDER#1", status="new", ssn="x"),
        row("ORDER#1", "ITEM#1", sku="A", line=1, ssn="y"),
    ]
    document = fold(ORDER, "ORDER#1", rows, CONFIG, KEYS, Projection(exclude=("ssn",)))
    assert document == {
        "status": "new",
        "orderItems": [{"SK": "ITEM#1", "sku": "A", "line": 1}],
        "shipmentInfo": [],
    }

    seen: list[Change] = []

    def hook(doc: dict[str, Any], change: Change) -> dict[str, Any] | None:
        seen.append(change)
        return None if doc["status"] == "hidden" else {**doc, "items": len(doc["orderItems"])}

    assert fold(ORDER, "ORDER#1", rows, CONFIG, KEYS, hook=hook)["items"] == 1
    assert seen[0].key == {"PK": "ORDER#1"}
    assert seen[0].version is None
    assert seen[0].image["status"] == "new"
    assert (
        fold(ORDER, "ORDER#1", [row("ORDER#1", "ORDER#1", status="hidden")], CONFIG, KEYS, hook=hook) is None
    )

    long_key = "ORDER#" + "x" * 600
    document = fold(ORDER, long_key, [row(long_key, "ORDER#1")], CONFIG, KEYS)
    assert FoldRoute(ORDER, long_key, {"S": long_key}).doc_id != long_key
    assert is_hashed(FoldRoute(ORDER, long_key, {"S": long_key}).doc_id)
    assert document is not None
    assert document["dynamodb_document_id"] == long_key


def change(
    kind: str, pk: str, sk: str, image: dict[str, Any] | None = None, version: int | None = None
) -> Change:
    return Change(json.dumps([pk, sk]), {"PK": pk, "SK": sk}, kind, image, version, "1" * 21, 0.0)  # type: ignore[arg-type]


def test_a_change_routes_to_its_folded_document_or_its_flat_one() -> None:
    routes = routes_of(
        change("upsert", "ORDER#1", "ITEM#1", {"PK": "ORDER#1", "SK": "ITEM#1"}),
        {"S": "ORDER#1"},
        None,
        CONFIG,
        KEYS,
    )
    assert routes == [FoldRoute(ORDER, "ORDER#1", {"S": "ORDER#1"})]
    delete = change("delete", "ORDER#1", "ORDER#1", version=None)
    assert routes_of(delete, {"S": "ORDER#1"}, None, CONFIG, KEYS) == [FoldRoute(ORDER, "ORDER#1", {})]
    upsert = change("upsert", "CUSTOMER#1", "PROFILE", {"PK": "CUSTOMER#1", "SK": "PROFILE"}, 4)
    [flat] = routes_of(upsert, {"S": "CUSTOMER#1"}, None, CONFIG, KEYS)
    assert isinstance(flat, FlatRoute)
    assert flat.entity is CUSTOMER
    assert flat.change is upsert
    assert (
        routes_of(
            change("upsert", "OTHER#1", "X", {"PK": "OTHER#1", "SK": "X"}),
            {"S": "OTHER#1"},
            None,
            CONFIG,
            KEYS,
        )
        == []
    )


def typed_config() -> EntityConfig:
    config = parse_entity_config(
        json.dumps(
            {
                "entities": [
                    {"name": "book", "match": {"attribute": "type", "equals": "book"}, "index": "books"},
                    {"name": "film", "match": {"attribute": "type", "equals": "film"}, "index": "films"},
                ]
            }
        ),
        has_sort_key=False,
    )
    assert config is not None
    return config


def test_an_item_modified_into_another_entity_leaves_a_tombstone_at_its_own_version() -> None:
    config = typed_config()
    keys = KeySchema("id")
    modified = Change("7", {"id": "7"}, "upsert", {"id": "7", "type": "film"}, 6, "2" * 21, 0.0)
    routes = routes_of(modified, {"S": "7"}, {"id": "7", "type": "book"}, config, keys)
    assert len(routes) == 2
    book, film = sorted(routes, key=lambda r: r.entity.name)  # type: ignore[union-attr]
    assert isinstance(book, FlatRoute)
    assert book.change.kind == "delete"
    assert book.change.version == 6
    assert isinstance(film, FlatRoute)
    assert film.change is modified
    removed = Change("7", {"id": "7"}, "delete", None, 7, "3" * 21, 0.0)
    [gone] = routes_of(removed, {"S": "7"}, {"id": "7", "type": "film"}, config, keys)
    assert isinstance(gone, FlatRoute)
    assert gone.entity.name == "film"
    assert gone.change.kind == "delete"


def test_rules_a_row_could_both_meet_are_refused_and_a_child_shares_its_parents_partition_prefix() -> None:
    def parse(*entities: dict[str, Any]) -> EntityConfig | None:
        return parse_entity_config(json.dumps({"entities": list(entities)}), has_sort_key=True)

    orders = {"name": "a", "match": {"sort_key_prefix": "ORDER#"}, "index": "a"}
    customers = {"name": "b", "match": {"partition_key_prefix": "CUSTOMER#"}, "index": "b"}
    with pytest.raises(
        SettingsError, match=r"entities\[1\]\.match .* and entities\[0\]\.match .* can both match"
    ):
        parse(orders, customers)  # PK=CUSTOMER#7, SK=ORDER#1 would meet both
    orders["match"] = {"partition_key_prefix": "ORDER#", "sort_key_prefix": "ORDER#"}
    children = [{"name": "i", "match": {"sort_key_prefix": "ITEM#"}, "field": "items"}]
    config = parse({**orders, "document_id": "partition_key", "children": children}, customers)
    assert config is not None
    item = rule_of({"PK": "ORDER#1", "SK": "ITEM#1"}, config, KEYS)
    assert item is not None
    assert item.child is not None  # the child rule carries its parent's partition prefix ...
    assert rule_of({"PK": "CUSTOMER#7", "SK": "ITEM#1"}, config, KEYS).entity.name == "b"  # type: ignore[union-attr]
    typed = [
        {"name": "a", "match": {"attribute": "type", "equals": "book"}, "index": "a"},
        {"name": "b", "match": {"attribute": "type", "equals": "film"}, "index": "b"},
    ]
    assert parse(*typed) is not None  # one attribute, two values: exclusive
