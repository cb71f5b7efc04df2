"""reindex: a new index, backfilled, swapped in atomically, caught up: under live writes, no write is lost."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest
from opensearchpy import OpenSearch
from ops.traffic import ClientWith, interleave

from indexer import batch
from indexer.errors import IndexSetupError
from indexer.index_setup import alias_target, ensure_index
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.reindex import ReindexOptions, reindex
from indexer.ops.target import Target
from support import index_oracle
from support.streams import LambdaContext


def test_reindex_under_write_load_loses_no_write(
    target: Target, table: Any, consumer: Any, writer: Any, search: OpenSearch
) -> None:
    ids = table.seed(1000)
    stream = consumer()
    old = ensure_index(target.search, target.settings)
    assert backfill(target, BackfillOptions(segments=4, page_size=100)).ok
    live = writer(ids)
    interleave(target, live)

    result = reindex(target, ReindexOptions(segments=4, page_size=100, recheck_after=0.5))

    writes_during_reindex = live.writes
    live.stop()
    stream.drain()
    assert result.ok, result.summary()
    assert result.new_index == f"{target.alias}-v2"
    assert alias_target(search, target.alias) == result.new_index != old
    assert writes_during_reindex >= 2 * 20, "the writer must have written during the reindex"
    assert stream.failures == []
    final = audit(target, AuditOptions(recheck_after=0))
    assert final.clean, final.summary()
    assert index_oracle.judge_target(target).clean  # and the table itself agrees, read directly
    assert final.index_documents == final.table_items >= 1000 - len(live.deleted)


def test_reindex_keeps_the_old_index_unless_asked_and_refuses_without_an_alias(
    target: Target, table: Any, search: OpenSearch
) -> None:
    table.seed(50)
    ensure_index(target.search, target.settings)
    first = reindex(target, ReindexOptions(segments=2, recheck_after=0))
    second = reindex(target, ReindexOptions(segments=2, recheck_after=0, delete_old=True))

    assert search.indices.exists(index=first.old_index)
    assert not search.indices.exists(index=second.old_index)
    assert alias_target(search, target.alias) == second.new_index == f"{target.alias}-v3"
    assert search.count(index=target.alias)["count"] == 50
    elsewhere = dataclasses.replace(
        target, settings=dataclasses.replace(target.settings, opensearch_index="nothing-here")
    )
    with pytest.raises(IndexSetupError, match="does not exist"):
        reindex(elsewhere, ReindexOptions())


def test_writes_the_backfill_phase_missed_are_caught_up_after_the_swap(
    target: Target, table: Any, search: OpenSearch
) -> None:
    """Deterministic: once segment 0 has been copied, one of its items is updated and another deleted, and the
    stream path writes both to the old index (the alias still points there). The new index now holds a stale
    and an orphaned document; the catch-up after the swap must find and repair exactly those."""
    table.seed(200)
    old = ensure_index(target.search, target.settings)
    reader = table.reader()
    assert backfill(target, BackfillOptions(segments=2)).ok
    scan = target.dynamodb.scan
    copied: list[str] = []  # ids from segment 0's first page
    written = threading.Event()

    def scan_and_write_behind(**request: Any) -> Any:
        if request["Segment"] == 1 and "ExclusiveStartKey" not in request and not written.is_set():
            table.resource.put_item(Item=table.book(copied[0], 0, edition=42))
            table.resource.delete_item(Key={"id": copied[1]})
            batch.process_event({"Records": reader.read()}, LambdaContext(60))
            written.set()
        page = scan(**request)
        if request["Segment"] == 0 and not copied:
            copied.extend(item["id"]["S"] for item in page["Items"][:2])
        return page

    object.__setattr__(target, "dynamodb", ClientWith(target.dynamodb, scan=scan_and_write_behind))
    result = reindex(target, ReindexOptions(segments=2, workers=1, recheck_after=0))

    updated, deleted = copied[0], copied[1]
    assert result.ok, result.summary()
    assert search.get(index=old, id=updated)["_source"]["edition"] == 42  # the stream wrote the old index
    catch_up = result.catch_up
    assert catch_up is not None
    assert catch_up.summary()["stale_examples"] == [updated]
    assert catch_up.summary()["orphaned_examples"] == [deleted]
    assert catch_up.repair is not None
    assert catch_up.repair.indexed == 2
    assert search.get(index=target.alias, id=updated)["_source"]["edition"] == 42
    assert search.count(index=target.alias, body={"query": {"ids": {"values": [deleted]}}})["count"] == 0
    tombstone = search.get(index=target.alias, id=deleted)
    assert tombstone["_source"]["indexer_tombstone"] is True  # a delete is a tombstone document
    assert index_oracle.judge_target(target).clean
