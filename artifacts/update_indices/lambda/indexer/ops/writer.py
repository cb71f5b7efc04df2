"""Changes to per-item outcomes through the stream path's own modules: ``documents`` then ``bulk``.

The only differences from the Lambda: the target index may be a concrete index instead of the alias (reindex
writes into the new index before the swap), and there is no Lambda deadline, so retries are bounded by the
RETRY_* settings only. Changes without a counter version go through ``sequence_guard`` as in the Lambda (a
scanned item then only creates a document the index lacks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from indexer.bulk import ItemResult, write_actions
from indexer.changes import Change, change_from_item
from indexer.deadline import Deadline
from indexer.documents import BulkAction, build_action, is_tombstone_action
from indexer.errors import HookError, RecordError
from indexer.ops.progress import Counts
from indexer.ops.target import Target
from indexer.sequence_guard import guard


@dataclass
class WriteReport:
    counts: Counts = field(default_factory=Counts)
    failed: list[Change] = field(default_factory=list)
    results: list[ItemResult] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def item_changes(items: Iterable[Mapping[str, Any]], target: Target) -> list[Change]:
    """Scanned/read DynamoDB-JSON items as upsert Changes, versioned by their own write counters."""
    return [change_from_item(item, target.keys, target.settings.version_attribute) for item in items]


def usable_changes(
    items: Iterable[Mapping[str, Any]], target: Target
) -> tuple[list[Change], list[Mapping[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Like ``item_changes``, one item at a time: (changes, the items they came from, and for every item that
    cannot become a change, e.g. a counter that is not a whole number, its DynamoDB-JSON key and the reason).
    One bad item fails alone instead of stopping a scan that would stop on it again at every resume."""
    changes: list[Change] = []
    usable: list[Mapping[str, Any]] = []
    unusable: list[tuple[dict[str, Any], str]] = []
    for item in items:
        try:
            changes.append(change_from_item(item, target.keys, target.settings.version_attribute))
        except RecordError as exc:
            key = {name: item[name] for name in target.keys.names if name in item}
            unusable.append((key, f"{key}: {exc}"[:300]))
            continue
        usable.append(item)
    return changes, usable, unusable


def send_actions(target: Target, actions: list[BulkAction], index: str | None = None) -> list[ItemResult]:
    """Write prepared actions into ``index`` (default: the alias) with the stream path's bulk writer (no
    deadline); the index is in the URL only, never in an action."""
    if not actions:
        return []
    return write_actions(
        target.search, actions, target.settings, Deadline.unbounded(), index=index or target.alias
    )


def as_delete(change: Change) -> Change:
    return dataclasses.replace(change, kind="delete", image=None)


def write_changes(target: Target, changes: list[Change], index: str | None = None) -> WriteReport:
    """Build and write the changes' actions (into ``index`` when given, else the alias)."""
    report = WriteReport()
    actions: list[BulkAction] = []
    sent: list[Change] = []
    for change in changes:
        try:
            action = build_action(change, target.settings, target.hook)
        except (HookError, RecordError) as exc:
            report.counts.failed += 1
            report.failed.append(change)
            report.reasons.append(f"{change.doc_id}: {exc}")
            continue
        if action is None:
            report.counts.skipped += 1
            continue
        actions.append(action)
        sent.append(change)
    planned, superseded = guard(
        target.search,
        index or target.alias,
        list(zip(sent, actions, strict=True)),
        deadline=Deadline.unbounded(),
        request_timeout=target.settings.request_timeout_seconds,  # each mget bounded, as every request
    )
    report.counts.indexed += len(superseded)
    report.counts.conflicts += len(superseded)
    if planned:
        sent, actions = [c for c, _ in planned], [a for _, a in planned]
        results = send_actions(target, actions, index)
        report.results = results
        for change, action, result in zip(sent, actions, results, strict=True):
            if result.ok and change.kind == "upsert" and is_tombstone_action(action):
                report.counts.skipped += 1  # the hook dropped the item: its (versioned) delete was written
            elif result.ok:
                report.counts.indexed += 1
                report.counts.conflicts += result.outcome == "conflict"
            else:
                report.counts.failed += 1
                report.failed.append(change)
                report.reasons.append(f"{change.doc_id}: {result.reason}")
    return report
