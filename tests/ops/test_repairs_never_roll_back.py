"""Repairs never roll back (issue 9): a stream write landing between the audit's reads survives the repair, an
item re-created in that window is not deleted, and no operator clock lets an older scanned read win.

Each race is forced deterministically over the wire (moto + the OpenSearch stand-in): the table client is
wrapped so that right after the tool's read, the item is written in the table and the stream Lambda's path
indexes that write. The index is then judged against the table itself, read directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from opensearchpy import OpenSearch
from ops.traffic import ClientWith, Table

from indexer import batch
from indexer.index_setup import ensure_index
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.target import Target, open_target, settings_from
from support.streams import LambdaContext, StreamReader

MODES = pytest.mark.parametrize("mode", ["version", "none"], ids=["counter", "no-counter"])


@pytest.fixture
def make_target(
    env: dict[str, str], table: Table, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Target]:
    """The tool's target and the stream Lambda's environment with VERSION_ATTRIBUTE=mode."""

    def make(mode: str) -> Target:
        monkeypatch.setenv("VERSION_ATTRIBUTE", mode)
        batch.reset_runtime()
        return open_target(
            settings_from({**env, "VERSION_ATTRIBUTE": mode}), table.name, dynamodb_endpoint=moto_endpoint
        )

    return make


def stream_lambda(reader: StreamReader) -> None:
    """What the event source mapping would do next: hand the new records to the handler."""
    answer = batch.process_event({"Records": reader.read()}, LambdaContext(60))
    assert answer == {"batchItemFailures": []}


def after_call(target: Target, method: str, action: Callable[[], None]) -> list[int]:
    """Run ``action`` right after the first call of the table client's ``method`` returns."""
    original = getattr(target.dynamodb, method)
    calls: list[int] = []

    def wrapped(**request: Any) -> Any:
        answer = original(**request)
        calls.append(1)
        if len(calls) == 1:
            action()
        return answer

    object.__setattr__(target, "dynamodb", ClientWith(target.dynamodb, **{method: wrapped}))
    return calls


def indexed(search: OpenSearch, alias: str) -> dict[str, dict[str, Any]]:
    search.indices.refresh(index=alias)
    body = {"query": {"match_all": {}}, "size": 1000, "_source": {"excludes": ["indexer_*"]}}  # as the API
    hits = search.search(index=alias, body=body)["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def table_items(table: Table) -> dict[str, dict[str, Any]]:
    """The oracle: the table read directly, projected as the tests' settings say (``secret`` excluded)."""
    items = table.resource.scan(ConsistentRead=True)["Items"]
    return {
        item["id"]: {
            k: int(v) if k in ("year", "edition", "version") else v for k, v in item.items() if k != "secret"
        }
        for item in items
    }


@MODES
def test_a_stream_write_between_the_audits_reads_is_not_rolled_back(
    make_target: Callable[[str], Target], table: Table, search: OpenSearch, mode: str
) -> None:
    target = make_target(mode)
    table.seed(20)
    ensure_index(target.search, target.settings)
    reader = table.reader()
    assert backfill(target, BackfillOptions(segments=1)).ok
    stale = search.get(index=target.alias, id="b00005")  # planted: the index differs from the table
    search.index(
        index=target.alias,
        id="b00005",
        body={**stale["_source"], "title": "not what the table says"},
        params={"version": stale["_version"] + 1, "version_type": "external"},
    )

    def update_and_stream() -> None:
        table.resource.put_item(Item=table.book("b00005", 5, edition=7))
        stream_lambda(reader)

    calls = after_call(target, "batch_get_item", update_and_stream)
    found = audit(target, AuditOptions(segments=1, recheck_after=0, repair=True))
    assert calls, "the race was not forced: the audit never re-read the table"
    assert found.summary()["stale_examples"] == ["b00005"]
    assert indexed(search, target.alias)["b00005"]["edition"] == 7  # the newer write stands
    assert indexed(search, target.alias) == table_items(table)


@MODES
def test_an_item_re_created_between_the_audits_reads_is_not_deleted(
    make_target: Callable[[str], Target], table: Table, search: OpenSearch, mode: str
) -> None:
    target = make_target(mode)
    table.seed(20)
    ensure_index(target.search, target.settings)
    reader = table.reader()
    assert backfill(target, BackfillOptions(segments=1)).ok
    table.resource.delete_item(Key={"id": "b00007"})
    reader.read()  # the delete's record is lost (say, dead-lettered): the document is now an orphan

    def re_create_and_stream() -> None:  # the writer continues the counter (indexer.versions)
        table.resource.put_item(Item=table.book("b00007", 7, edition=2))
        stream_lambda(reader)

    calls = after_call(target, "batch_get_item", re_create_and_stream)
    found = audit(target, AuditOptions(segments=1, recheck_after=0, repair=True))
    assert calls, "the race was not forced: the audit never re-read the table"
    assert found.summary()["orphaned_examples"] == ["b00007"]
    assert indexed(search, target.alias)["b00007"]["edition"] == 2  # the re-created item stays
    assert indexed(search, target.alias) == table_items(table)


@MODES
def test_a_fast_operator_clock_does_not_let_an_older_scanned_read_win(
    make_target: Callable[[str], Target],
    table: Table,
    search: OpenSearch,
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The old snapshot version came from the operator's clock: one hour fast let the scan's older read beat
    the stream's newer write. Versions now come from the items (or the stored sequence number)."""
    target = make_target(mode)
    table.seed(10)
    ensure_index(target.search, target.settings)
    reader = table.reader()

    def update_and_stream() -> None:  # after the scan read b00003, before the backfill writes its page
        table.resource.put_item(Item=table.book("b00003", 3, edition=2))
        stream_lambda(reader)

    after_call(target, "scan", update_and_stream)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    assert backfill(target, BackfillOptions(segments=1)).ok
    monkeypatch.setattr(time, "time", real_time)
    assert indexed(search, target.alias)["b00003"]["edition"] == 2
    assert indexed(search, target.alias) == table_items(table)
