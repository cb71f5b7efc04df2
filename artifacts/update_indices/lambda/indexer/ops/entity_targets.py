"""The operations tool with ENTITY_CONFIG: one target per entity, and the folded entities' rebuilds.

Every command works on one entity at a time (``--entity NAME``, or each in turn): a flat entity
(``document_id: key``) is exactly the flat tool with the entity's index and lists, restricted to the entity's
items (``Target.owns``); a folded entity's documents are rebuilt from the table with the stream's own
``rebuild`` (consistent Query of the partition, written only if nothing was written since it was read), so a
backfill, a repair or a replay can never roll a document back, whatever the stream does meanwhile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from indexer.changes import plain_item
from indexer.collection_reads import TableCollections
from indexer.deadline import Deadline
from indexer.entities import Entity
from indexer.entity_batch import entity_settings
from indexer.errors import RecordError, SettingsError
from indexer.ops.progress import Counts
from indexer.ops.target import Target
from indexer.rebuild import Folder, RebuildStats, Rebuilt, rebuild
from indexer.routing import FoldRoute, rule_of


def entities_of(target: Target, name: str | None) -> list[Entity]:
    """The configured entities a command runs on: the one named (SettingsError naming --entity when there is
    no such entity), else all of them; [] without ENTITY_CONFIG."""
    config = target.settings.entity_config
    if config is None:
        if name is not None:
            raise SettingsError("--entity: ENTITY_CONFIG is not set, so there are no entities to choose from")
        return []
    if name is None:
        return list(config.entities)
    for entity in config.entities:
        if entity.name == name:
            return [entity]
    names = ", ".join(entity.name for entity in config.entities)
    raise SettingsError(f"--entity: {name!r} is not an entity of ENTITY_CONFIG ({names})")


def for_entity(target: Target, entity: Entity) -> Target:
    """The target of one entity: its index as the alias, only its items; a flat entity's settings carry its
    projection lists (the flat code reads them there), a folded entity keeps the global ones (``fold``
    applies each level's own lists on top of them)."""
    if entity.folded:
        settings = dataclasses.replace(
            target.settings, opensearch_index=entity.index, index_properties=entity.mappings
        )
    else:
        settings = entity_settings(target.settings, entity)
    return dataclasses.replace(target, settings=settings, entity=entity)


def folder(target: Target, index_of: Callable[[str], str] = lambda alias: alias) -> Folder:
    """What ``rebuild`` needs, reading the table through the tool's own DynamoDB client."""
    config = target.settings.entity_config
    if config is None:
        raise SettingsError("ENTITY_CONFIG: not set, so nothing is folded")
    reader = TableCollections(target.table, target.keys.partition_key, client=target.dynamodb)
    return Folder(config, target.keys, target.settings, target.search, reader, target.hook, index_of)


def fold_routes(
    target: Target, items: Iterable[Mapping[str, Any]]
) -> tuple[dict[FoldRoute, dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """(the folded documents these DynamoDB-JSON items belong to, each with one item's key; the items that
    cannot be routed, with their key and why). Only the target's entity's, when it has one."""
    config = target.settings.entity_config
    assert config is not None
    keys = target.keys
    routes: dict[FoldRoute, dict[str, Any]] = {}
    unusable: list[tuple[dict[str, Any], str]] = []
    for item in items:
        key = {name: item[name] for name in keys.names if name in item}
        try:
            rule = rule_of(plain_item(item), config, keys)
        except RecordError as exc:
            unusable.append((key, f"{key}: {exc}"[:300]))
            continue
        if rule is None or not rule.entity.folded or (target.entity not in (None, rule.entity)):
            continue
        partition = item[keys.partition_key]
        route = FoldRoute(
            rule.entity, plain_item({keys.partition_key: partition})[keys.partition_key], partition
        )
        routes.setdefault(route, key)
    return routes, unusable


def rebuild_routes(
    target: Target, routes: Mapping[FoldRoute, Any], index_of: Callable[[str], str] = lambda alias: alias
) -> tuple[Counts, list[Rebuilt]]:
    """Rebuild the documents (no deadline: the tool's own time); counts and the failed ones."""
    stats = RebuildStats()
    results = rebuild(folder(target, index_of), list(routes), Deadline.unbounded(), stats)
    counts = Counts()
    failed = [r for r in results if r.outcome == "failed"]
    counts.indexed = sum(r.outcome == "indexed" for r in results)
    counts.skipped = sum(r.outcome == "deleted" for r in results)  # an absent entity: its tombstone
    counts.failed = len(failed)
    counts.retryable = sum(r.retryable for r in failed)
    counts.conflicts = stats.conflicts
    return counts, failed


def replay_from_table(target: Target, records: list[Mapping[str, Any]]) -> tuple[Counts, list[str]]:
    """``replay-dlq --source table`` with ENTITY_CONFIG: the records name the documents; each flat one is
    repaired from its item as the flat tool does (document read first, then the item, conditional write),
    each folded one rebuilt from its partition."""
    from indexer.changes import decode_record
    from indexer.ops.reads import get_items
    from indexer.ops.repair import read_documents, repair
    from indexer.routing import FlatRoute, old_image_of, routes_of

    config = target.settings.entity_config
    assert config is not None
    keys = target.keys
    flat: dict[Entity, dict[str, dict[str, Any]]] = {}
    folded: dict[FoldRoute, None] = {}
    counts, reasons = Counts(), []
    for record in records:
        body = record.get("dynamodb") or {}
        try:
            change = decode_record(record, keys, target.settings.version_attribute)
            old_image = old_image_of(record) if config.uses_attributes else None
            routes = routes_of(change, body["Keys"][keys.partition_key], old_image, config, keys)
        except RecordError as exc:
            counts.failed += 1
            reasons.append(str(exc))
            continue
        for route in routes:
            if isinstance(route, FlatRoute):
                flat.setdefault(route.entity, {})[change.doc_id] = body["Keys"]
            else:
                folded[route] = None
    for entity, doc_keys in flat.items():
        entity_target = for_entity(target, entity)
        documents = read_documents(entity_target, entity_target.alias, list(doc_keys))  # the index first
        items = {
            i: item for i, item in get_items(entity_target, doc_keys).items() if entity_target.owns(item)
        }
        entity_counts, entity_reasons = repair(
            entity_target, entity_target.alias, {i: documents.get(i) for i in doc_keys}, items
        )
        counts.add(entity_counts)
        reasons.extend(entity_reasons)
    fold_counts, failed = rebuild_routes(target, folded)
    counts.add(fold_counts)
    reasons.extend(f"{r.route.doc_id}: {r.reason}" for r in failed)
    return counts, reasons
