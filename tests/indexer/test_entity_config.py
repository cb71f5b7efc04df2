"""ENTITY_CONFIG is validated at cold start; every error names the rule and says what would be right."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from indexer.entities import parse_entity_config
from indexer.errors import SettingsError
from indexer.settings import Settings
from support.single_table import entity_config

BASE = {"OPENSEARCH_ENDPOINT": "http://localhost:9200", "OPENSEARCH_AUTH": "none"}


def order(**changes: Any) -> dict[str, Any]:
    entity = {
        "name": "order",
        "match": {"sort_key_prefix": "ORDER#"},
        "index": "orders",
        "document_id": "partition_key",
        "children": [{"name": "item", "match": {"sort_key_prefix": "ITEM#"}, "field": "orderItems"}],
    }
    entity.update(changes)
    return entity


def parse(*entities: dict[str, Any], has_sort_key: bool = True) -> Any:
    return parse_entity_config(json.dumps({"entities": list(entities)}), has_sort_key=has_sort_key)


def test_the_test_design_parses_into_its_entities_and_rules() -> None:
    config = parse_entity_config(json.dumps(entity_config("t")), has_sort_key=True)
    assert config is not None
    assert [e.name for e in config.entities] == ["order", "customer"]
    assert [r.path for r in config.rules] == [
        "entities[0]",
        "entities[0].children[0]",
        "entities[0].children[1]",
        "entities[0].children[2]",
        "entities[1]",
    ]
    assert config.folds
    assert not config.uses_attributes
    assert config.entities[0].children[2].max_children == 1  # a section holds one row


def test_unset_or_blank_means_the_flat_indexer() -> None:
    assert parse_entity_config(None, has_sort_key=False) is None
    assert parse_entity_config("  ", has_sort_key=False) is None
    assert Settings.from_env(BASE).entity_config is None


@pytest.mark.parametrize(
    ("entities", "message"),
    [
        ([order(index="Orders")], r"entities\[0\]\.index: 'Orders' is not a valid alias name"),
        ([order(document_id="id")], r"entities\[0\]\.document_id: 'id' is not key or partition_key"),
        (
            [order(document_id="key")],
            r"entities\[0\]\.document_id must be partition_key for an entity with children",
        ),
        ([order(match={})], r"entities\[0\]\.match names no condition"),
        ([order(match={"attribute": "type"})], r"entities\[0\]\.match: attribute and equals go together"),
        (
            [order(match={"attribute": "type", "equals": 1.5})],
            r"entities\[0\]\.match\.equals must be a string, a whole number or a boolean",
        ),
        ([order(colour="red")], r"entities\[0\] has unknown key\(s\) colour"),
        ([order(), order(name="other")], r"entities\[1\]\.index 'orders' is already used by entities\[0\]"),
        ([order(), order(index="o2")], r"entities\[1\]\.name 'order' is already used by entities\[0\]"),
        (
            [
                order(
                    children=[
                        {
                            "name": "i",
                            "match": {"sort_key_prefix": "I"},
                            "field": "x",
                            "fold": "section",
                            "max_children": 2,
                        }
                    ]
                )
            ],
            r"entities\[0\]\.children\[0\]\.max_children must be 1 for a section",
        ),
        (
            [
                order(
                    children=[
                        {"name": "i", "match": {"sort_key_prefix": "I"}, "field": "x", "max_children": 0}
                    ]
                )
            ],
            r"entities\[0\]\.children\[0\]\.max_children: 0 is not a whole number from 1 to 100000",
        ),
        (
            [order(children=[{"name": "i", "match": {"sort_key_prefix": "I"}, "field": "a.b"}])],
            r"entities\[0\]\.children\[0\]\.field: 'a\.b' is not a top-level field name without dots",
        ),
        (
            [order(children=[{"name": "i", "match": {"sort_key_prefix": "ORDER#"}, "field": "x"}])],
            r"entities\[0\]\.children\[0\]\.match .* and entities\[0\]\.match .* can both match one row",
        ),
        (
            [
                order(
                    children=[{"name": "i", "match": {"sort_key_prefix": "I"}, "field": "indexer_tombstone"}]
                )
            ],
            r"entities\[0\]\.children\[0\]\.field: 'indexer_tombstone' is reserved",
        ),
        (
            [order(children=[{"name": "i", "match": {"sort_key_prefix": "I"}, "field": "_id"}])],
            r"entities\[0\]\.children\[0\]\.field: '_id' is reserved",
        ),
        (
            [order(include=["total", "orderItems"])],
            r"entities\[0\]\.children\[0\]\.field 'orderItems' is also in entities\[0\]\.include",
        ),
    ],
)
def test_a_wrong_rule_is_named_with_what_would_be_right(entities: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(SettingsError, match="ENTITY_CONFIG: " + message):
        parse(*entities)


def test_sort_key_rules_need_a_sort_key() -> None:
    with pytest.raises(SettingsError, match=r"entities\[0\]\.match\.sort_key_prefix needs TABLE_SORT_KEY"):
        parse(order(children=[]), has_sort_key=False)
    flat = {
        "name": "c",
        "match": {"partition_key_prefix": "C#"},
        "index": "c",
        "document_id": "partition_key",
    }
    child = {"name": "i", "match": {"attribute": "type", "equals": "item"}, "field": "items"}
    with pytest.raises(
        SettingsError, match=r"children\[0\]\.order_by is required: the table has no sort key"
    ):
        parse({**flat, "children": [child]}, has_sort_key=False)


def test_not_json_and_wrong_shapes_say_so() -> None:
    with pytest.raises(SettingsError, match="ENTITY_CONFIG: not valid JSON"):
        parse_entity_config("{entities:", has_sort_key=True)
    with pytest.raises(SettingsError, match=re.escape('must be a JSON object {"entities"')):
        parse_entity_config("[]", has_sort_key=True)
    with pytest.raises(SettingsError, match="entities must be a non-empty list"):
        parse_entity_config('{"entities": []}', has_sort_key=True)


def test_folding_needs_the_table_name_and_settings_carry_the_config() -> None:
    env = {
        **BASE,
        "TABLE_PARTITION_KEY": "PK",
        "TABLE_SORT_KEY": "SK",
        "ENTITY_CONFIG": json.dumps(entity_config("t")),
    }
    with pytest.raises(SettingsError, match="TABLE_NAME: required when ENTITY_CONFIG folds documents"):
        Settings.from_env(env)
    settings = Settings.from_env({**env, "TABLE_NAME": "orders"})
    assert settings.table_name == "orders"
    assert settings.entity_config is not None
    assert settings.entity_config.indices == (
        "t-orders",
        "t-customers",
    )
    assert settings.unknown_variables == ()  # ENTITY_CONFIG and TABLE_NAME are the indexer's own
