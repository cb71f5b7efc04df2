"""Rebuild folded documents from the table and write each one only if nothing was written since it was read.

For each document (one entity, one partition), in every round:

1. read the document's ``_seq_no``/``_primary_term`` (one realtime ``_mget`` per index for the whole batch);
2. THEN read its partition from the table (``collection_reads``: consistent, every page) and fold it
   (``folding``): the document, or a tombstone when the entity is absent;
3. write it with ``if_seq_no``/``if_primary_term`` of step 1, or ``create`` when step 1 found nothing. A
   409 means another writer came in between: the document is read and rebuilt again in the next round. So
   does a write that landed in another concrete index than the one step 1 read (the alias moved between
   them: a reindex's swap), because a sequence number only means something within one index (shard): the
   next round reads the new index and writes over it.

Why this converges to the table, whatever the order, duplication or concurrency of the records: a write only
succeeds if no write happened to the document between its step 1 and step 3, so the successful writes of one
document form a chain in which each one's table read started after the previous one was written. Every table
write to the partition produces a stream record, and that record's rebuild ends in a successful write whose
table read started after the table write (its own, or a later one in the chain; if it runs out of rounds its
record is reported as failed and Lambda delivers it again). So the last successful write read the table after
every table write: it is the table's current state. A stale rebuild (an old read, a replayed record, a
concurrent invocation with ``ParallelizationFactor`` > 1) can never be the last writer, because its write is
refused the moment anything was written after its step 1. Nothing here compares data or clocks.

Two consequences:
- every rebuild writes, even when the document did not change: skipping an unchanged write would let a
  concurrent, older rebuild that read the same ``_seq_no`` be the last writer;
- an absent entity is written as a tombstone document, not deleted: after a real delete the id is absent
  again, and a rebuild that read "absent" long before would ``create`` its stale document. A tombstone keeps
  ``_seq_no`` moving (durable across restarts like any document). ``purge-tombstones`` removes it only when
  older than the stream's retention, far beyond one invocation's 15 minutes between step 1 and step 3.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError, TransportError

from indexer.bulk import MIN_REQUEST_SECONDS, NOT_SENT_REASON, WriteStats, write_actions
from indexer.collection_reads import CollectionReader
from indexer.deadline import Deadline
from indexer.documents import BulkAction, Hook
from indexer.entities import EntityConfig
from indexer.errors import HookError, RecordError
from indexer.folding import Projection, fold
from indexer.keys import KeySchema
from indexer.mget_docs import docs_of
from indexer.routing import FoldRoute
from indexer.settings import Settings
from indexer.tombstones import tombstone_source

REBUILD_ROUNDS = 4  # reads and writes per document when concurrent rebuilds keep winning
MGET_BATCH = 1000

Outcome = Literal["indexed", "deleted", "failed"]


@dataclass(frozen=True)
class Rebuilt:
    route: FoldRoute
    outcome: Outcome
    reason: str | None = None
    status: int | None = None
    retryable: bool = False
    rounds: int = 1


@dataclass
class RebuildStats:
    documents: int = 0
    rounds: int = 0
    conflicts: int = 0  # writes refused because another write came first (then read and rebuilt again)
    table_reads: int = 0  # Query pages
    read_units: float = 0.0  # consumed read capacity units of those pages
    write: WriteStats = field(default_factory=WriteStats)


@dataclass(frozen=True)
class Folder:
    """What a rebuild needs besides the routes: the configuration, the table, the client and the writer's
    settings. ``index_of`` maps an entity's alias to the index to write (reindex writes a new one)."""

    config: EntityConfig
    keys: KeySchema
    settings: Settings
    client: OpenSearch
    reader: CollectionReader
    hook: Hook | None = None
    index_of: Callable[[str], str] = lambda alias: alias


def rebuild(
    folder: Folder,
    routes: Sequence[FoldRoute],
    deadline: Deadline,
    stats: RebuildStats | None = None,
    rounds: int = REBUILD_ROUNDS,
) -> list[Rebuilt]:
    """Rebuild and conditionally write every document named by ``routes`` (duplicates are one document);
    one Rebuilt per distinct document."""
    stats = stats if stats is not None else RebuildStats()
    pending = list(dict.fromkeys(routes))
    stats.documents += len(pending)
    done: list[Rebuilt] = []
    for round_number in range(1, rounds + 1):
        if not pending:
            break
        stats.rounds += 1
        current, current_index, failed = _read_current(folder, pending, deadline)
        done.extend(_with_round(r, round_number) for r in failed)
        planned: list[tuple[FoldRoute, BulkAction]] = []
        unread = {f.route for f in failed}
        for route in pending:
            if route in unread:
                continue
            try:
                planned.append((route, _action(folder, route, current.get(route), stats, deadline)))
            except (RecordError, HookError) as exc:
                done.append(Rebuilt(route, "failed", str(exc)[:500], rounds=round_number))
            except Exception as exc:  # the table read failed (throttled, timed out): retry the record
                reason = f"table read failed: {type(exc).__name__}: {exc}"[:500]
                done.append(Rebuilt(route, "failed", reason, retryable=True, rounds=round_number))
        again: list[FoldRoute] = []
        for index, group in _by_index(folder, planned).items():
            # Through an alias the bulk writer adds require_alias (a lost alias fails the write instead of
            # becoming a concrete index): it knows the alias by the settings' OPENSEARCH_INDEX.
            aliased = index == group[0][0].entity.index
            settings = (
                dataclasses.replace(folder.settings, opensearch_index=index) if aliased else folder.settings
            )
            results = write_actions(
                folder.client,
                [a for _, a in group],
                settings,
                deadline,
                stats=stats.write,
                index=index,
            )
            for (route, action), result in zip(group, results, strict=True):
                moved = result.ok and result.index is not None and result.index != current_index.get(route)
                if result.outcome == "conflict" or moved:
                    stats.conflicts += 1
                    again.append(route)
                elif result.ok:
                    tombstone = bool(action["_source"].get("indexer_tombstone"))
                    done.append(Rebuilt(route, "deleted" if tombstone else "indexed", rounds=round_number))
                else:
                    done.append(
                        Rebuilt(route, "failed", result.reason, result.status, result.retryable, round_number)
                    )
        pending = again
    for route in pending:
        reason = f"concurrent rebuilds kept winning for {rounds} rounds"
        done.append(Rebuilt(route, "failed", reason, 409, True, rounds))
    return done


def _action(
    folder: Folder, route: FoldRoute, current: tuple[int, int] | None, stats: RebuildStats, deadline: Deadline
) -> BulkAction:
    collection = folder.reader.read(route.attribute, deadline)  # pages are read as fold consumes them
    try:
        document = fold(
            route.entity,
            route.partition,
            collection.rows,
            folder.config,
            folder.keys,
            Projection(folder.settings.include_attributes, folder.settings.exclude_attributes),
            folder.hook,
        )
    finally:
        stats.table_reads += collection.pages
        stats.read_units += collection.read_units
    source = document if document is not None else tombstone_source(time.time())
    if current is None:
        return {"_op_type": "create", "_id": route.doc_id, "_source": source}
    seq_no, primary_term = current
    action: dict[str, Any] = {
        "_op_type": "index",
        "_id": route.doc_id,
        "_source": source,
        "if_seq_no": seq_no,
        "if_primary_term": primary_term,
    }
    return action  # type: ignore[return-value]


def _read_current(
    folder: Folder, routes: list[FoldRoute], deadline: Deadline
) -> tuple[dict[FoldRoute, tuple[int, int]], dict[FoldRoute, str], list[Rebuilt]]:
    """(route -> (_seq_no, _primary_term) of its document where one exists, route -> the concrete index that
    answered, the failures); a failed read fails its routes."""
    current: dict[FoldRoute, tuple[int, int]] = {}
    answered: dict[FoldRoute, str] = {}
    failed: list[Rebuilt] = []
    by_index: dict[str, list[FoldRoute]] = {}
    for route in routes:
        by_index.setdefault(folder.index_of(route.entity.index), []).append(route)
    for index, group in by_index.items():
        ids = {route.doc_id: route for route in group}
        try:
            found = read_seq_nos(folder.client, index, list(ids), deadline, folder.settings)
        except (TransportError, ConnectionError, _NoTime) as exc:
            reason = NOT_SENT_REASON if isinstance(exc, _NoTime) else f"mget failed: {type(exc).__name__}"
            failed.extend(Rebuilt(route, "failed", reason, None, True) for route in group)
            continue
        for doc_id, (position, concrete) in found.items():
            answered[ids[doc_id]] = concrete
            if position is not None:
                current[ids[doc_id]] = position
    return current, answered, failed


class _NoTime(Exception):
    pass


def read_seq_nos(
    client: OpenSearch, index: str, ids: list[str], deadline: Deadline, settings: Settings
) -> dict[str, tuple[tuple[int, int] | None, str]]:
    """id -> ((_seq_no, _primary_term) or None when absent, the concrete index that answered), tombstones
    included (realtime ``_mget``, no ``_source``); each request bounded by the time left and
    REQUEST_TIMEOUT_SECONDS."""
    found: dict[str, tuple[tuple[int, int] | None, str]] = {}
    for start in range(0, len(ids), MGET_BATCH):
        remaining = deadline.remaining()
        if remaining < MIN_REQUEST_SECONDS:
            raise _NoTime
        answer = client.mget(
            index=index,
            body={"ids": ids[start : start + MGET_BATCH]},
            params={
                "realtime": "true",
                "_source": "false",
                "request_timeout": min(settings.request_timeout_seconds, remaining),
            },
        )
        for doc in docs_of(answer):
            position = (int(doc["_seq_no"]), int(doc["_primary_term"])) if doc.get("found") else None
            found[doc["_id"]] = (position, doc.get("_index", index))
    return found


def _by_index(
    folder: Folder, planned: list[tuple[FoldRoute, BulkAction]]
) -> Mapping[str, list[tuple[FoldRoute, BulkAction]]]:
    groups: dict[str, list[tuple[FoldRoute, BulkAction]]] = {}
    for route, action in planned:
        groups.setdefault(folder.index_of(route.entity.index), []).append((route, action))
    return groups


def _with_round(rebuilt: Rebuilt, round_number: int) -> Rebuilt:
    return Rebuilt(
        rebuilt.route, rebuilt.outcome, rebuilt.reason, rebuilt.status, rebuilt.retryable, round_number
    )
