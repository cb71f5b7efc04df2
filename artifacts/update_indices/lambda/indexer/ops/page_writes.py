"""One page of items into the index: the per-page step that a scan segment (``backfill``) and an export data
file (``export_children``) share.

Each item becomes what the stream would have written for it: without ENTITY_CONFIG, a document at the item's
own version (``writer.write_changes``: ``documents`` then ``bulk``, the sequence guard for items without a
counter, which then only create documents the index lacks); with it, each flat entity's items the same way in
the entity's index, and each folded entity's partitions rebuilt from the table (``entity_targets``), written
only if nothing was written since they were read. So a page written late, twice, or after the stream wrote
newer states changes nothing the stream wrote.

The result keeps the DynamoDB-JSON key of every item that failed (to retry it, or to report it), and tells
apart failures that only need time (429, 5xx, timeouts still failing after the writer's retries:
``retryable``) from the ones that need a fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from indexer.changes import plain_item
from indexer.ops.entity_targets import entities_of, fold_routes, for_entity, rebuild_routes
from indexer.ops.progress import Counts
from indexer.ops.target import Target
from indexer.ops.writer import usable_changes, write_changes


@dataclass
class PageResult:
    counts: Counts = field(default_factory=Counts)
    failed_keys: list[dict[str, Any]] = field(default_factory=list)  # DynamoDB-JSON keys
    reasons: list[str] = field(default_factory=list)
    retryable: bool = False  # every failure only needs time (throttling, a server error, a timeout)


def write_items(target: Target, items: list[dict[str, Any]], index: str | None = None) -> PageResult:
    """Write the items' documents; ``index`` is a concrete index to write into instead of the alias (a
    reindex's new index; with ENTITY_CONFIG it needs a target of one entity)."""
    if target.settings.entity_config is None:
        result = _write_flat(target, items, index or target.alias)
        result.counts.scanned = len(items)
        return result
    result = PageResult(Counts(scanned=len(items)))
    failures: list[bool] = []
    for entity in entities_of(target, target.entity and target.entity.name):
        if entity.folded:
            continue
        entity_target = for_entity(target, entity)
        owned = [item for item in items if entity_target.owns(item)]
        flat = _write_flat(entity_target, owned, index or entity_target.alias)
        failures.extend([flat.retryable] * len(flat.failed_keys))
        result.counts.add(flat.counts)
        result.failed_keys.extend(flat.failed_keys)
        result.reasons.extend(flat.reasons)
    routes, unusable = fold_routes(target, items)
    fold_counts, rebuilt = rebuild_routes(target, routes, (lambda alias: index) if index else (lambda a: a))
    result.counts.add(fold_counts)
    result.counts.failed += len(unusable)
    result.failed_keys.extend([key for key, _ in unusable] + [routes[r.route] for r in rebuilt])
    result.reasons.extend(
        [reason for _, reason in unusable] + [f"{r.route.doc_id}: {r.reason}" for r in rebuilt]
    )
    failures.extend([False] * len(unusable) + [r.retryable for r in rebuilt])
    result.retryable = bool(failures) and all(failures)
    return result


def _write_flat(target: Target, items: list[dict[str, Any]], index: str) -> PageResult:
    changes, usable, unusable = usable_changes(items, target)
    report = write_changes(target, changes, index)
    result = PageResult(report.counts)
    result.counts.failed += len(unusable)
    result.reasons = [reason for _, reason in unusable] + report.reasons
    result.failed_keys = [key for key, _ in unusable]
    if report.failed:
        raw = raw_keys(usable, target)
        result.failed_keys += [raw[change.doc_id] for change in report.failed]
    retryable_ids = {r.doc_id for r in report.results if not r.ok and r.retryable}
    result.retryable = (
        bool(result.failed_keys)
        and not unusable
        and all(change.doc_id in retryable_ids for change in report.failed)
    )
    return result


def raw_keys(items: list[Mapping[str, Any]], target: Target) -> dict[str, dict[str, Any]]:
    """doc id -> the item's DynamoDB-JSON key (kept exactly, binary included)."""
    keys = {}
    for item in items:
        raw = {name: item[name] for name in target.keys.names}
        keys[target.keys.doc_id(target.keys.key_of(plain_item(raw)))] = raw
    return keys
