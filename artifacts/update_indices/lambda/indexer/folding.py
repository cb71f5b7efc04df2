"""Fold: the rows of one item collection into its entity's document. Pure: rows in, document out.

The document of a folded entity (``document_id: partition_key``) is a function of the rows of its partition
and of nothing else, so it can be rebuilt at any time from a read of the table, in any order of events:

- the root row (the one row meeting the entity's ``match``) projected as a flat item is (``include``, then
  ``exclude``, then ``INDEX_EXCLUDE_ATTRIBUTES``);
- each child's rows, projected the same way with the child's own lists, sorted by ``order_by`` (numbers
  numerically, strings by code point, which is DynamoDB's order for UTF-8 strings; rows lacking the attribute
  last; ties, and the default, by the table's sort key) and put under the child's ``field``: a list for
  ``fold: array`` (empty when there are none), one object for ``fold: section`` (absent when there is none);
- ``DOCUMENT_HOOK`` last, as for a flat item, with a ``Change`` whose key is the partition key and whose image
  is the root row (no version: a folded document is ordered by its rebuild, never by a version).

The entity exists while its root row does. Children whose root row is gone (a parent deleted first, or a
child written before its parent) are not searchable: the document is absent (a tombstone) until a root row
exists again; they are folded in as soon as it does. The audit applies the same rule (it rebuilds with this
function). More children than ``max_children``, or a second root row in one partition, is a ``FoldError``:
the document keeps its last good state and the records that touched it are reported as failed, so the
event source mapping retries them and finally dead-letters them (the alarm fires); nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from indexer.changes import Change
from indexer.documents import Hook, run_hook
from indexer.entities import Child, Entity, EntityConfig
from indexer.errors import RecordError
from indexer.keys import RAW_ID_FIELD, KeySchema, is_hashed, scalar_text
from indexer.routing import folded_doc_id, rule_of
from indexer.tombstones import without_reserved


@dataclass(frozen=True)
class Projection:
    """The flat indexer's lists, as defaults of every level: ``include`` where a level names none,
    ``exclude`` always."""

    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()

    def include_for(self, own: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return own if own is not None else self.include


class FoldError(RecordError):
    """The partition's rows cannot make a document (a bound exceeded, two root rows); names the rule."""


def fold(
    entity: Entity,
    partition: Any,
    rows: Iterable[Mapping[str, Any]],
    config: EntityConfig,
    keys: KeySchema,
    defaults: Projection = Projection(),
    hook: Hook | None = None,
) -> dict[str, Any] | None:
    """The document of ``entity`` for the partition ``partition`` from all of the partition's rows (plain
    decoded items, in any order); None when the entity is absent (no root row, or the hook drops it).
    ``defaults`` are INDEX_INCLUDE_ATTRIBUTES (for levels that name no ``include``) and
    INDEX_EXCLUDE_ATTRIBUTES (added to every level's ``exclude``)."""
    root: Mapping[str, Any] | None = None
    children: dict[str, list[Mapping[str, Any]]] = {child.name: [] for child in entity.children}
    for row in rows:
        rule = rule_of(row, config, keys)
        if rule is None or rule.entity is not entity:
            continue
        if rule.child is not None:
            rows_of_child = children[rule.child.name]
            rows_of_child.append(row)
            if len(rows_of_child) > rule.child.max_children:  # stop reading: the bound is exceeded
                raise _over_bound(rule.child, partition, len(rows_of_child))
        elif root is not None:
            raise FoldError(
                f"{entity.path}: partition {scalar_text(partition)!r} has two rows matching the entity "
                f"({keys.key_of(root)} and {keys.key_of(row)}); one document needs one root row"
            )
        else:
            root = row
    if root is None:
        return None
    document = project(root, defaults.include_for(entity.include), entity.exclude + defaults.exclude)
    for child in entity.children:
        rows_of_child = children[child.name]
        elements = [
            project(row, defaults.include_for(child.include), child.exclude + defaults.exclude)
            for row in ordered(rows_of_child, child, keys)
        ]
        if child.fold == "array":
            document[child.field] = elements
        elif elements:
            document[child.field] = elements[0]
        else:
            document.pop(child.field, None)  # a child field replaces a root attribute of the same name
    doc_id = folded_doc_id(partition)
    if hook is not None:
        change = Change(doc_id, {keys.partition_key: partition}, "upsert", dict(root), None, None, None)
        result = run_hook(hook, document, change)
        if result is None:
            return None
        document = without_reserved(result)
    if is_hashed(doc_id):
        document[RAW_ID_FIELD] = scalar_text(partition)
    return document


def _over_bound(child: Child, partition: Any, count: int) -> FoldError:
    return FoldError(
        f"{child.path}: partition {scalar_text(partition)!r} has {count} or more rows for {child.field!r}, "
        f"more than max_children {child.max_children}"
        + ("" if child.fold == "array" else " (a section holds one row)")
    )


def project(
    row: Mapping[str, Any], include: tuple[str, ...] | None, exclude: tuple[str, ...]
) -> dict[str, Any]:
    """A row restricted to ``include`` (all when None), minus ``exclude`` and the reserved fields."""
    if include is not None:
        document = {name: row[name] for name in include if name in row}
    else:
        document = without_reserved(row)
    for name in exclude:
        document.pop(name, None)
    return without_reserved(document)


def ordered(rows: list[Mapping[str, Any]], child: Child, keys: KeySchema) -> list[Mapping[str, Any]]:
    """The child's rows in its order: by ``order_by`` (or the sort key), rows without it last, ties by the
    sort key (unique within a partition, so the order is total)."""
    attribute = child.order_by or keys.sort_key
    present = [row for row in rows if attribute is not None and attribute in row]
    absent = [row for row in rows if attribute is None or attribute not in row]
    tie = keys.sort_key

    def tiebreak(row: Mapping[str, Any]) -> tuple[int, Any]:
        return _comparable(row.get(tie)) if tie is not None else (0, 0)

    present.sort(key=lambda row: (_comparable(row[attribute]), tiebreak(row)), reverse=child.descending)
    absent.sort(key=tiebreak)
    return present + absent


def _comparable(value: Any) -> tuple[int, Any]:
    """Numbers before strings before booleans before anything else; exact within each kind."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | Decimal):
        return (0, Decimal(value) if isinstance(value, int) else value)
    if isinstance(value, str):
        return (1, value)
    return (3, repr(value))
