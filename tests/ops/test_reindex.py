"""reindex: a new index, backfilled, swapped in atomically, caught up: under live writes, no write is lost."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from opensearchpy import OpenSearch
from ops.traffic import interleave

from indexer.errors import IndexSetupError
from indexer.index_setup import alias_target, ensure_index
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.reindex import ReindexOptions, reindex
from indexer.ops.target import Target


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
