"""One invocation of a single-table design: route every record to its entities, then write each flat
entity's documents as the flat indexer does and rebuild each touched folded document once.

- A flat entity (``document_id: key``) is the flat indexer with the entity's index and lists: its changes go
  through ``batch.write_flat`` (newest change per document, item versions or the sequence guard).
- A folded entity's documents are rebuilt from the table (``rebuild``): one rebuild per document per batch
  however many of its rows the batch touched, and a failed rebuild reports the earliest sequence number of
  the records that touched it, so Lambda delivers them again (the rebuild then reads the table again).

A record whose rows belong to no entity is counted as skipped. A row matching two rules, an undecodable
record, or a document that cannot be folded (``FoldError``: a bound exceeded) fails its records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opensearchpy import OpenSearch

from indexer.bulk import WriteStats
from indexer.changes import Change, decode_record
from indexer.deadline import Deadline
from indexer.entities import Entity
from indexer.errors import RecordError, SettingsError
from indexer.index_setup import ensure_index
from indexer.rebuild import RebuildStats, rebuild
from indexer.routing import FlatRoute, FoldRoute, old_image_of, routes_of
from indexer.settings import Settings
from indexer.tally import Failure, Tally

if TYPE_CHECKING:
    from indexer.batch import Runtime

WriteFlat = Callable[["Runtime", Settings, list[Change], Deadline, Tally, WriteStats], None]


def entity_settings(settings: Settings, entity: Entity) -> Settings:
    """The flat indexer's settings for one entity: its index, its include list (or the global one), the
    global exclude list plus its own."""
    return dataclasses.replace(
        settings,
        opensearch_index=entity.index,
        include_attributes=entity.include if entity.include is not None else settings.include_attributes,
        exclude_attributes=settings.exclude_attributes + entity.exclude,
        index_properties=entity.mappings,
    )


def ensure_entity_indices(client: OpenSearch, settings: Settings) -> dict[str, str]:
    """Every entity's index behind its alias, as ``ensure_index`` makes OPENSEARCH_INDEX's; alias -> index."""
    config = settings.entity_config
    assert config is not None
    return {
        entity.index: ensure_index(client, entity_settings(settings, entity)) for entity in config.entities
    }


def process_entities(
    records: list[Mapping[str, Any]],
    runtime: Runtime,
    deadline: Deadline,
    tally: Tally,
    stats: WriteStats,
    write_flat: WriteFlat,
) -> list[Change]:
    """Route, write and rebuild; returns the decoded changes (for the batch's log line)."""
    settings = runtime.settings
    config = settings.entity_config
    assert config is not None
    keys = settings.keys
    if config.folds:
        check_table(records, settings.table_name)
    changes: list[Change] = []
    flat: dict[Entity, list[Change]] = {}
    folded: dict[FoldRoute, list[str]] = {}  # document -> sequence numbers of the records touching it
    for record in records:
        body = record.get("dynamodb") or {}
        sequence_number = body.get("SequenceNumber")
        try:
            change = decode_record(record, keys, settings.version_attribute)
            old_image = old_image_of(record) if config.uses_attributes else None
            partition = (body.get("Keys") or {}).get(keys.partition_key, {})
            routes = routes_of(change, partition, old_image, config, keys)
        except RecordError as exc:
            if not isinstance(sequence_number, str):
                raise  # nothing to report it by: fail the whole batch
            tally.failures.append(Failure(sequence_number, f"undecodable record: {exc}"))
            continue
        changes.append(change)
        if not routes:
            tally.skipped += 1  # no entity's row: not indexed
        for route in routes:
            if isinstance(route, FlatRoute):
                flat.setdefault(route.entity, []).append(route.change)
            else:
                folded.setdefault(route, []).append(change.sequence_number or "")
    for entity, entity_changes in flat.items():
        write_flat(runtime, entity_settings(settings, entity), entity_changes, deadline, tally, stats)
    if folded:
        _rebuild(runtime, folded, deadline, tally, stats)
    return changes


def _rebuild(
    runtime: Runtime,
    folded: dict[FoldRoute, list[str]],
    deadline: Deadline,
    tally: Tally,
    stats: WriteStats,
) -> None:
    rebuild_stats = RebuildStats(write=stats)
    for result in rebuild(runtime.folder(), list(folded), deadline, rebuild_stats):
        if result.outcome == "failed":
            earliest = min(folded[result.route], key=_as_number)
            key = {runtime.settings.table_partition_key: result.route.partition}
            reason = f"{result.route.entity.path} document {result.route.doc_id!r}: {result.reason}"
            tally.failures.append(Failure(earliest, reason, key, result.status, result.retryable))
        elif result.outcome == "deleted":
            tally.deleted += 1
        else:
            tally.indexed += 1
    tally.rebuilt += rebuild_stats.documents
    tally.conflicts += rebuild_stats.conflicts
    tally.table_reads += rebuild_stats.table_reads
    tally.read_units += rebuild_stats.read_units


def check_table(records: list[Mapping[str, Any]], table_name: str | None) -> None:
    """SettingsError when the records come from another table's stream than TABLE_NAME, the table folded
    documents are rebuilt from (a record's ``eventSourceARN`` is ``arn:...:table/<name>/stream/<label>``,
    "Using AWS Lambda with Amazon DynamoDB", event example)."""
    for record in records:
        arn = record.get("eventSourceARN")
        if isinstance(arn, str) and ":table/" in arn:
            source = arn.split(":table/", 1)[1].split("/stream/", 1)[0]
            if source != table_name:
                raise SettingsError(
                    f"TABLE_NAME: {table_name!r}, but the records come from table {source!r}'s stream; "
                    "folded documents must be rebuilt from the table whose stream they come from"
                )


def _as_number(sequence_number: str) -> tuple[int, int]:
    return (1, int(sequence_number)) if sequence_number.isdigit() else (0, 0)
