"""Route: which entity a row belongs to, and which documents a change touches.

A row (a decoded item image) belongs to at most one rule of the entity configuration (``entities``): the root
row of an entity, or a child of one. A change touches

- for an entity with ``document_id: key`` (flat): the item's own document in the entity's index: an upsert
  when the new image belongs to the entity, a tombstone when only the old one did (the item was deleted, or
  modified into another entity or into nothing) at the change's own version, exactly as the flat indexer
  writes a delete or an item its hook drops;
- for an entity with ``document_id: partition_key`` (folded): the document of the row's partition, to be
  rebuilt from the table (``rebuild``). Both images count, so a row modified out of an entity rebuilds the
  document it left.

With only key-based rules the old and new image of a row belong to the same rule (a key never changes), so
only the key is looked at; with an ``attribute`` rule the old image is decoded too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from indexer.changes import Change, plain_item
from indexer.entities import Entity, EntityConfig, Rule
from indexer.errors import RecordError
from indexer.keys import KeySchema, document_id, scalar_text


@dataclass(frozen=True)
class FlatRoute:
    """The change to write into a flat entity's index (a delete when the item left the entity)."""

    entity: Entity
    change: Change


@dataclass(frozen=True)
class FoldRoute:
    """A folded document to rebuild: the entity and the partition key value it is built from. Two routes are
    the same document when entity and partition are (``attribute`` is the same value, typed)."""

    entity: Entity
    partition: Any  # the plain partition key value (str, int, Decimal or base64 text)
    attribute: dict[str, Any] = field(compare=False, hash=False)  # DynamoDB JSON, e.g. {"S": "ORDER#1"}

    @property
    def doc_id(self) -> str:
        return folded_doc_id(self.partition)


def folded_doc_id(partition: Any) -> str:
    """A folded document's id: its partition key's text (hashed beyond 512 bytes, as ``keys`` does)."""
    return document_id(scalar_text(partition))


def rule_of(row: Mapping[str, Any], config: EntityConfig, keys: KeySchema) -> Rule | None:
    """The one rule the row meets; None when it meets none; RecordError naming both when it meets two."""
    found: Rule | None = None
    for rule in config.rules:
        if rule.match.matches(row, keys.partition_key, keys.sort_key):
            if found is not None:
                raise RecordError(
                    f"ENTITY_CONFIG: the row {keys.key_of(row)} matches both {found.path}.match and "
                    f"{rule.path}.match; make the rules exclusive"
                )
            found = rule
    return found


def routes_of(
    change: Change,
    partition_attribute: Mapping[str, Any],
    old_image: Mapping[str, Any] | None,
    config: EntityConfig,
    keys: KeySchema,
) -> list[FlatRoute | FoldRoute]:
    """The documents ``change`` touches. ``partition_attribute`` is the partition key's DynamoDB-JSON value
    (from the record's ``Keys`` or the scanned item: the type a Query needs); ``old_image`` (plain) is needed
    only when a rule reads attributes; without one, the key stands for both images."""
    new_row = change.image if change.kind == "upsert" else None
    if config.uses_attributes:
        old_rule = rule_of(old_image, config, keys) if old_image is not None else None
        new_rule = rule_of(new_row, config, keys) if new_row is not None else None
    else:
        key_rule = rule_of(change.key, config, keys)
        old_rule = key_rule
        new_rule = key_rule if new_row is not None else None
    routes: list[FlatRoute | FoldRoute] = []
    for rule in dict.fromkeys(r for r in (old_rule, new_rule) if r is not None):
        entity = rule.entity
        if entity.folded:
            routes.append(FoldRoute(entity, change.key[keys.partition_key], dict(partition_attribute)))
        elif rule is new_rule:
            routes.append(FlatRoute(entity, change))
        else:  # the item left this flat entity: its document goes, at the change's own version
            routes.append(FlatRoute(entity, dataclasses.replace(change, kind="delete", image=None)))
    return routes


def old_image_of(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A stream record's OldImage as a plain row (None when it has none)."""
    old = (record.get("dynamodb") or {}).get("OldImage")
    return plain_item(old) if old is not None else None
