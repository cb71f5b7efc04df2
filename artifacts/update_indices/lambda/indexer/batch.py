"""One invocation: decode every record, project, write, and report the earliest failure.

The runtime (settings, client, hook, index check) is built lazily on the first invocation of a container
and reused: a cold start validates the environment and makes sure the index exists once, not per batch.
If building it fails (a bad setting, OpenSearch unreachable) the invocation raises, Lambda retries the whole
batch, and the next invocation tries again.

Failure reporting: Lambda (with ``ReportBatchItemFailures``) restarts the shard at the reported sequence
number, treating everything before it as done. So the response names the earliest sequence number among
the records that failed, whether the failure is transient (still 429/5xx when time ran out) or permanent (a
mapping conflict, an undecodable record, a failing hook); permanent ones reach the event source mapping's
retry limit, bisection and on-failure destination. Records after it are written anyway; re-writing them on
retry is harmless because every write carries its external version.

Order: within a batch only the newest record per document is written, chosen by stream order (sequence numbers
compared as integers), never by a derived version. Records with a counter version are written with it
(``versions``); records without one are made conditional by ``sequence_guard`` (one mget per batch) and, when
another writer got in between, read and decided again, up to ``GUARD_ROUNDS`` times.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError, TransportError

from indexer import logs, metrics
from indexer.bulk import MIN_REQUEST_SECONDS, NOT_SENT_REASON, ItemResult, WriteStats, write_actions
from indexer.changes import Change, decode_record
from indexer.client import make_client
from indexer.collection_reads import CollectionReader, TableCollections
from indexer.deadline import Deadline
from indexer.documents import BulkAction, Hook, build_action, is_tombstone_action, load_hook
from indexer.errors import HookError, RecordError, SettingsError
from indexer.index_setup import ensure_index
from indexer.rebuild import Folder
from indexer.sequence_guard import guard, needs_guard
from indexer.settings import Settings, warn_unknown_variables
from indexer.stream_view import check_stream_view_type
from indexer.tally import Failure, Tally
from indexer.wire import BatchResponse

GUARD_ROUNDS = 4  # reads and decisions per unversioned document when concurrent writers keep winning


@dataclass
class Runtime:
    """What a container builds once: validated settings, the client, the hook, the index it writes to
    (with ENTITY_CONFIG: the first entity's; every entity's index is made sure of at cold start), and the
    reader of item collections when the configuration folds (made on first use; tests inject one)."""

    settings: Settings
    client: OpenSearch
    hook: Hook | None
    index: str
    reader: CollectionReader | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Runtime:
        settings = Settings.from_env(environ)
        logs.configure(settings.log_level)
        warn_unknown_variables(settings)
        hook = load_hook(settings.document_hook)
        client = make_client(settings)
        if settings.entity_config is None:
            return cls(settings, client, hook, ensure_index(client, settings))
        from indexer.entity_batch import ensure_entity_indices

        targets = ensure_entity_indices(client, settings)
        return cls(settings, client, hook, next(iter(targets.values())))

    def folder(self) -> Folder:
        """What rebuilding folded documents needs (ENTITY_CONFIG with document_id: partition_key)."""
        config = self.settings.entity_config
        if config is None:
            raise SettingsError("ENTITY_CONFIG: not set, so nothing is folded")
        if self.reader is None:
            self.reader = TableCollections(
                table=self.settings.table_name or "",
                partition_key=self.settings.table_partition_key,
                region=self.settings.aws_region,
                timeout_seconds=self.settings.request_timeout_seconds,
            )
        return Folder(config, self.settings.keys, self.settings, self.client, self.reader, self.hook)


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    """The container's runtime, built on first use."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime.from_env()
    return _runtime


def reset_runtime() -> None:
    """Forget the runtime, as a new container would (tests and the local stack change the environment)."""
    global _runtime
    _runtime = None


def process_event(event: Mapping[str, Any], context: Any) -> BatchResponse:
    """The handler's body: process a DynamoDB Streams event with the container's runtime."""
    return process_batch(event, context, get_runtime())


def process_batch(event: Mapping[str, Any], context: Any, runtime: Runtime) -> BatchResponse:
    started = time.monotonic()
    settings = runtime.settings
    deadline = Deadline.from_context(context, settings.retry_deadline_margin_seconds)
    records = list(event.get("Records") or [])
    check_stream_view_type(records)  # a KEYS_ONLY (or other) stream fails here, naming the setting
    tally = Tally(records=len(records))
    stats = WriteStats()
    if settings.entity_config is None:
        changes = decode_records(records, settings, tally)
        write_flat(runtime, settings, changes, deadline, tally, stats)
    else:  # a single-table design: route to entities, fold children (entity_batch)
        from indexer.entity_batch import process_entities

        changes = process_entities(records, runtime, deadline, tally, stats, write_flat)

    response: BatchResponse = {"batchItemFailures": []}
    for failure in tally.failures:
        logs.log_event(
            "record failed",
            logging.ERROR,
            key=failure.key,
            sequence_number=failure.sequence_number,
            status=failure.status,
            retryable=failure.retryable,
            reason=failure.reason,
        )
    if tally.failures:
        earliest = min(tally.failures, key=lambda f: _stream_order(f.sequence_number))
        response["batchItemFailures"].append({"itemIdentifier": earliest.sequence_number})

    created = [c.created_at for c in changes if c.created_at is not None]
    folded = (
        {"rebuilt": tally.rebuilt, "table_reads": tally.table_reads, "read_units": tally.read_units}
        if settings.entity_config is not None
        else {}
    )
    logs.log_event(
        "batch",
        records=tally.records,
        indexed=tally.indexed,
        deleted=tally.deleted,
        skipped=tally.skipped,
        conflicts=tally.conflicts,
        retried=stats.retried,
        failed=len(tally.failures),
        bulk_requests=stats.requests,
        **folded,
        stream_lag_seconds=round(time.time() - min(created), 3) if created else None,
        first_failed_sequence_number=response["batchItemFailures"][0]["itemIdentifier"]
        if tally.failures
        else None,
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    metrics.emit(context, records, tally, stats, response, acknowledged_at=time.time())
    return response


def decode_records(records: list[Mapping[str, Any]], settings: Settings, tally: Tally) -> list[Change]:
    """Every record as a Change; an undecodable one is a failure of its own sequence number."""
    changes: list[Change] = []
    for record in records:
        try:
            changes.append(decode_record(record, settings.keys, settings.version_attribute))
        except RecordError as exc:
            sequence_number = (record.get("dynamodb") or {}).get("SequenceNumber")
            if not isinstance(sequence_number, str):
                raise  # nothing to report it by: fail the whole batch
            tally.failures.append(Failure(sequence_number, f"undecodable record: {exc}"))
    return changes


def write_flat(
    runtime: Runtime,
    settings: Settings,
    changes: list[Change],
    deadline: Deadline,
    tally: Tally,
    stats: WriteStats,
) -> None:
    """One document per item: project with ``settings`` (its index, lists), write the newest change per
    document with its version (or through the sequence guard), counting into ``tally``."""
    planned: list[tuple[Change, BulkAction]] = []
    for change in _latest_per_document(changes, tally):
        try:
            action = build_action(change, settings, runtime.hook)
        except HookError as exc:
            tally.failures.append(Failure(change.sequence_number or "", str(exc), change.key))
            continue
        if action is None:
            tally.skipped += 1
            logs.log_event("record skipped: no NewImage", logging.WARNING, key=change.key)
            continue
        planned.append((change, action))

    for round_number in range(1, GUARD_ROUNDS + 1):
        send, superseded = _guard(runtime, settings, planned, deadline, tally)
        tally.conflicts += len(superseded)
        results = write_actions(runtime.client, [a for _, a in send], settings, deadline, stats=stats)
        again: list[tuple[Change, BulkAction]] = []
        by_id = {change.doc_id: original for change, original in planned}
        for (change, action), result in zip(send, results, strict=True):
            raced = result.outcome == "conflict" and needs_guard(by_id[change.doc_id])
            if raced and round_number < GUARD_ROUNDS:
                again.append((change, by_id[change.doc_id]))  # another writer came between: decide again
            elif raced:
                reason = "concurrent writes kept winning"
                tally.failures.append(Failure(change.sequence_number or "", reason, change.key, 409, True))
            else:
                _count(change, action, result, tally)
        if not again:
            break
        planned = again


def _guard(
    runtime: Runtime,
    settings: Settings,
    planned: list[tuple[Change, BulkAction]],
    deadline: Deadline,
    tally: Tally,
) -> tuple[list[tuple[Change, BulkAction]], list[Change]]:
    """``sequence_guard.guard`` within the deadline. None of its mget requests is started with less than
    MIN_REQUEST_SECONDS left, each gets at most what is left, and a failing mget fails the unversioned
    records (their sequence numbers are reported, Lambda retries them) instead of the whole batch;
    versioned records are sent either way."""
    unversioned = [(change, action) for change, action in planned if needs_guard(action)]
    if not unversioned:
        return planned, []
    remaining = deadline.remaining()
    reason = NOT_SENT_REASON
    if remaining >= MIN_REQUEST_SECONDS:
        try:
            return guard(
                runtime.client,
                settings.opensearch_index,
                planned,
                deadline=deadline,
                request_timeout=settings.request_timeout_seconds,
            )
        except (TransportError, ConnectionError) as exc:
            reason = f"sequence guard mget failed: {type(exc).__name__} (status {exc.status_code})"
    for change, _ in unversioned:
        tally.failures.append(Failure(change.sequence_number or "", reason, change.key, None, True))
    return [(change, action) for change, action in planned if not needs_guard(action)], []


def _latest_per_document(changes: list[Change], tally: Tally) -> list[Change]:
    """One change per document, the newest by stream order (the higher sequence number, as an integer).

    Stream order is the only exact order inside a batch: DynamoDB Streams writes each item's modifications to
    one shard in the order they happened, and a shard's sequence numbers increase. Older records of the same
    document in the batch are superseded: writing them would only produce 409s. If the newest fails, its own
    sequence number is reported; Lambda re-delivers from there, and the superseded records before it need no
    re-delivery. Counted as skipped.
    """
    latest: dict[str, Change] = {}
    for change in changes:
        current = latest.get(change.doc_id)
        if current is not None:
            tally.skipped += 1
        if current is None or _stream_order(change.sequence_number or "") >= _stream_order(
            current.sequence_number or ""
        ):
            latest[change.doc_id] = change
    return sorted(latest.values(), key=lambda c: _stream_order(c.sequence_number or "0"))


def _stream_order(sequence_number: str) -> tuple[int, int]:
    """Sequence numbers compare as numbers (they vary in length); a malformed one sorts first."""
    return (1, int(sequence_number)) if sequence_number.isdigit() else (0, 0)


def _count(change: Change, action: BulkAction, result: ItemResult, tally: Tally) -> None:
    if result.outcome == "indexed" and is_tombstone_action(action):
        tally.deleted += 1
    elif result.outcome == "indexed":
        tally.indexed += 1
    elif result.outcome in ("deleted", "not_found"):
        tally.deleted += 1
    elif result.outcome == "conflict":
        tally.conflicts += 1
    else:
        tally.failures.append(
            Failure(
                change.sequence_number or "",
                result.reason or "failed",
                change.key,
                result.status,
                result.retryable,
            )
        )
