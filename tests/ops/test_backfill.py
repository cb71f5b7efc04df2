"""Backfill: every existing item indexed once, racing stream updates win, an interrupted run resumes."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch
from ops.traffic import ClientWith, interleave

from indexer import batch
from indexer.index_setup import ensure_index
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.progress import Counts
from indexer.ops.target import Target, open_target, settings_from
from support import index_oracle
from support.streams import LambdaContext


def test_backfill_racing_the_stream_ends_with_the_audit_clean(
    target: Target, table: Any, consumer: Any, writer: Any, search: OpenSearch
) -> None:
    ids = table.seed(2000)
    stream = consumer()  # the Lambda, from now on: the seed is the data that predates the stream
    ensure_index(target.search, target.settings)
    live = writer(ids)
    interleave(target, live)

    result = backfill(target, BackfillOptions(segments=4, page_size=100))

    live.stop()
    stream.drain()
    assert result.ok, result.reasons
    assert live.writes >= 2 * 20, "the writer must have raced the backfill (2 writes per page)"
    assert stream.failures == []
    report = audit(target, AuditOptions(recheck_after=0))
    assert report.clean, report.summary()
    assert index_oracle.judge_target(target).clean  # and the table itself agrees, read directly
    assert report.table_items >= 2000 - len(live.deleted)
    assert report.index_documents == report.table_items
    assert "secret" not in search.get(index=target.alias, id=ids[0])["_source"]


def test_interrupted_backfill_resumes_without_redoing_finished_segments(
    target: Target, table: Any, tmp_path: Path
) -> None:
    table.seed(600)
    checkpoint = tmp_path / "backfill.json"
    ensure_index(target.search, target.settings)
    stop = threading.Event()
    pages: list[int] = []

    def interrupt_in_second_segment(segment: int, _counts: Counts) -> None:
        pages.append(segment)
        if segment == 1:
            stop.set()  # as SIGINT does: the page in flight finishes, then the run ends

    options = BackfillOptions(segments=4, workers=1, page_size=50, checkpoint=checkpoint)
    first = backfill(target, options, stop=stop, on_page=interrupt_in_second_segment)

    saved = json.loads(checkpoint.read_text())["segments"]
    assert first.interrupted
    assert saved["0"]["done"]
    assert not saved["1"]["done"]
    assert saved["1"]["last_key"]
    assert saved["2"] == {"done": False, "failed_keys": [], "last_key": None, "scanned": 0}
    scans = _record_scans(target)

    second = backfill(target, options)

    assert second.ok
    assert not second.interrupted
    assert 0 not in {call["Segment"] for call in scans}, "a finished segment was scanned again"
    resumed = next(call for call in scans if call["Segment"] == 1)
    assert resumed["ExclusiveStartKey"] == saved["1"]["last_key"]
    assert first.summary["scanned"] + second.summary["scanned"] == 600  # nothing scanned twice
    assert all(s["done"] for s in json.loads(checkpoint.read_text())["segments"].values())
    assert index_oracle.judge_target(target).clean


def _record_scans(target: Target) -> list[dict[str, Any]]:
    """Wraps the target's DynamoDB client so every Scan request is recorded."""
    calls: list[dict[str, Any]] = []
    scan = target.dynamodb.scan

    def recording(**request: Any) -> Any:
        calls.append(request)
        return scan(**request)

    object.__setattr__(target, "dynamodb", ClientWith(target.dynamodb, scan=recording))
    return calls


def test_a_stream_update_between_scan_and_write_wins_over_the_backfill(
    target: Target, table: Any, search: OpenSearch
) -> None:
    """Deterministic race: after each Scan page returns, three of its items are updated and the stream
    path indexes them; the backfill then writes its older images, which must lose (409, counted)."""
    ids = table.seed(200)
    reader = table.reader()
    ensure_index(target.search, target.settings)
    scan = target.dynamodb.scan

    lock = threading.Lock()

    def scan_then_race(**request: Any) -> Any:
        page = scan(**request)  # the backfill now holds the old images of this page ...
        with lock:  # ... while the stream Lambda indexes newer ones first
            for item in page["Items"][:3]:
                table.resource.put_item(Item=table.book(item["id"]["S"], 0, edition=99))
            batch.process_event({"Records": reader.read()}, LambdaContext(60))
        return page

    object.__setattr__(target, "dynamodb", ClientWith(target.dynamodb, scan=scan_then_race))
    result = backfill(target, BackfillOptions(segments=2, page_size=40))

    raced = [hit for hit in _all(search, target.alias) if hit["_source"]["edition"] == 99]
    assert result.ok
    assert len(raced) == result.summary["conflicts"] > 0
    assert len(_all(search, target.alias)) == len(ids)


def _all(search: OpenSearch, alias: str) -> list[dict[str, Any]]:
    search.indices.refresh(index=alias)
    return search.search(index=alias, body={"size": 1000, "query": {"match_all": {}}})["hits"]["hits"]


def test_failed_items_are_kept_in_the_checkpoint_and_retried_first_by_the_rerun(
    env: dict[str, str], table: Any, moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCUMENT_HOOK", "ops.ops_hooks:refuse_boom")
    hooked = open_target(settings_from(os.environ), table.name, dynamodb_endpoint=moto_endpoint)
    table.seed(30)
    table.resource.put_item(Item={**table.book("b00007", 7), "title": "boom"})
    ensure_index(hooked.search, hooked.settings)
    checkpoint = tmp_path / "ckpt.json"
    options = BackfillOptions(segments=2, checkpoint=checkpoint)

    first = backfill(hooked, options)

    assert not first.ok
    assert first.summary["failed"] == 1
    assert "boom is not indexable" in first.reasons[0]
    kept = [k for s in json.loads(checkpoint.read_text())["segments"].values() for k in s["failed_keys"]]
    assert kept == [{"id": {"S": "b00007"}}]

    table.resource.put_item(Item=table.book("b00007", 7))  # fixed in the table
    second = backfill(hooked, options)

    assert second.ok
    assert (second.summary["scanned"], second.summary["indexed"]) == (0, 1)  # nothing rescanned, one retried
    assert audit(hooked, AuditOptions(recheck_after=0)).clean


def test_an_item_whose_counter_is_not_a_whole_number_fails_alone_and_the_backfill_finishes(
    env: dict[str, str], table: Any, moto_endpoint: str, tmp_path: Path
) -> None:
    """A write counter that cannot be a version (here 1.5) fails its item only: before, the error stopped
    every segment, and every resume stopped again on the same page."""
    from decimal import Decimal

    target = open_target(settings_from(os.environ), table.name, dynamodb_endpoint=moto_endpoint)
    table.seed(30)
    table.resource.put_item(Item={**table.book("b00007", 7), "version": Decimal("1.5")})
    ensure_index(target.search, target.settings)
    checkpoint = tmp_path / "ckpt.json"
    options = BackfillOptions(segments=2, checkpoint=checkpoint)

    first = backfill(target, options)

    assert (first.summary["scanned"], first.summary["indexed"], first.summary["failed"]) == (30, 29, 1)
    assert "b00007" in first.reasons[0]
    kept = [k for s in json.loads(checkpoint.read_text())["segments"].values() for k in s["failed_keys"]]
    assert kept == [{"id": {"S": "b00007"}}]

    table.resource.put_item(Item=table.book("b00007", 7))  # fixed in the table
    second = backfill(target, options)

    assert second.ok
    assert (second.summary["scanned"], second.summary["indexed"]) == (0, 1)
    assert index_oracle.judge_target(target).clean


class _RecordedMget:
    """An OpenSearch client recording each ``_mget``'s request timeout (None: the request set none)."""

    def __init__(self, client: OpenSearch) -> None:
        self._client = client
        self.timeouts: list[float | None] = []

    def mget(self, *args: Any, **kwargs: Any) -> Any:
        self.timeouts.append((kwargs.get("params") or {}).get("request_timeout"))
        return self._client.mget(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_every_read_of_the_ops_path_is_bounded_by_the_request_timeout(
    env: dict[str, str], table: Any, moto_endpoint: str, search: OpenSearch
) -> None:
    """Without a Lambda deadline the operations tool still bounds each request: the sequence guard's reads
    (items without a counter) and the audit's confirmation reads carry REQUEST_TIMEOUT_SECONDS explicitly,
    whatever client the tool was handed."""
    settings = settings_from({**env, "VERSION_ATTRIBUTE": "none", "REQUEST_TIMEOUT_SECONDS": "7"})
    plain = open_target(settings, table.name, dynamodb_endpoint=moto_endpoint)
    recorded = _RecordedMget(plain.search)
    target = dataclasses.replace(plain, search=recorded)
    table.seed(5)
    ensure_index(plain.search, plain.settings)
    assert backfill(target, BackfillOptions(segments=1)).ok
    search.index(index=target.alias, id="ghost", body={"id": "ghost"}, params={"refresh": "true"})
    assert audit(target, AuditOptions(segments=1, recheck_after=0)).summary()["orphaned_examples"] == [
        "ghost"
    ]
    assert len(recorded.timeouts) >= 2
    assert set(recorded.timeouts) == {7.0}
