"""reindex: a new index, backfilled, swapped in atomically, caught up: under live writes, no write is lost."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
from typing import Any

import pytest
from opensearchpy import OpenSearch
from ops.traffic import ClientWith, interleave, on_failure_message

from indexer import batch
from indexer.batch import Runtime, process_batch
from indexer.errors import IndexSetupError
from indexer.index_setup import alias_target, ensure_index
from indexer.ops import reindex as reindex_module
from indexer.ops.__main__ import main
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.dlq import ReplayOptions, replay_dlq
from indexer.ops.reindex import ReindexOptions, reindex
from indexer.ops.target import Target, open_target, settings_from
from support import index_oracle
from support.streams import LambdaContext

NO_FAILURES = {"batchItemFailures": []}


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
    and an orphaned document: the orphan is replaced by the delete's own tombstone (copied from the old
    index), the stale one is found and repaired by the catch-up after the swap."""
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
    # The delete reached the new index as the stream wrote it (its tombstone, copied before the swap and
    # again after it), so the catch-up finds no orphan left to repair.
    assert [copy.copied for copy in result.tombstones] == [1, 1]
    assert catch_up.summary()["orphaned_examples"] == []
    assert catch_up.repair is not None
    assert catch_up.repair.indexed == 1
    assert search.get(index=target.alias, id=updated)["_source"]["edition"] == 42
    assert search.count(index=target.alias, body={"query": {"ids": {"values": [deleted]}}})["count"] == 0
    tombstone = search.get(index=target.alias, id=deleted)
    assert tombstone["_source"]["indexer_tombstone"] is True  # a delete is a tombstone document
    assert tombstone["_version"] == search.get(index=old, id=deleted)["_version"]  # the stream's, 2c + 1
    assert index_oracle.judge_target(target).clean


# --- an interrupted catch-up is not a success (review finding) ---


def stop_once_swapped(target: Target, search: OpenSearch, stop: threading.Event, old: str) -> None:
    """Set ``stop`` at the first Scan page requested after the alias left ``old``: the catch-up's."""
    scan = target.dynamodb.scan

    def scan_and_stop(**request: Any) -> Any:
        if alias_target(search, target.alias) != old:
            stop.set()
        return scan(**request)

    object.__setattr__(target, "dynamodb", ClientWith(target.dynamodb, scan=scan_and_stop))


def test_an_interrupted_catch_up_is_not_a_success_and_keeps_the_old_index(
    target: Target, table: Any, search: OpenSearch
) -> None:
    table.seed(60)
    old = ensure_index(target.search, target.settings)
    stop = threading.Event()
    stop_once_swapped(target, search, stop, old)

    result = reindex(
        target, ReindexOptions(segments=2, page_size=10, recheck_after=0, delete_old=True), stop=stop
    )

    assert result.swapped
    assert result.catch_up is not None
    assert result.catch_up.interrupted
    assert not result.ok
    assert result.summary()["ok"] is False
    assert search.indices.exists(index=old), (
        "--delete-old must not delete the old index after an interruption"
    )


def test_sigint_during_the_catch_up_exits_130_and_the_rerun_finishes_it(
    target: Target,
    table: Any,
    search: OpenSearch,
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The operator's Ctrl-C lands while the catch-up runs: exit code 130 (as documented), the old index is
    kept although --delete-old was given, and the same command with --new-index finishes the reindex."""
    table.seed(30)
    old = ensure_index(target.search, target.settings)
    real_audit = reindex_module.audit

    def interrupted_audit(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)  # the handler main() installed sets its stop event
        return real_audit(*args, **kwargs)

    monkeypatch.setattr(reindex_module, "audit", interrupted_audit)
    args = ["reindex", "--dynamodb-endpoint", moto_endpoint, "--recheck-after", "0", "--delete-old"]
    capsys.readouterr()  # the setup's log lines: stdout is the command's result only from here on
    code = main(args)
    first = json.loads(capsys.readouterr().out)

    assert code == 130
    assert first["interrupted"] is True
    assert first["swapped"] is True
    assert search.indices.exists(index=old)

    monkeypatch.setattr(reindex_module, "audit", real_audit)
    code = main([*args, "--new-index", first["new_index"]])
    second = json.loads(capsys.readouterr().out)
    assert code == 0, second
    assert second["ok"] is True
    assert not search.indices.exists(index=old)
    assert alias_target(search, target.alias) == first["new_index"]
    assert index_oracle.judge_target(target).clean


# --- tombstones come along (review finding) ---

MODES = pytest.mark.parametrize("mode", ["version", "none"], ids=["counter", "no-counter"])


@MODES
def test_tombstones_come_along_so_replayed_dead_letters_cannot_resurrect_deleted_items(
    env: dict[str, str], table: Any, moto_endpoint: str, search: OpenSearch, unique_name: str, mode: str
) -> None:
    """Two items are updated and then deleted; each update's batch was dead-lettered, its delete indexed:
    x before the reindex, y between the new index's fill and the swap (written to the old index until the
    swap). z is deleted before the swap and re-created after it (the stream writes it into the new index).
    After the reindex, replaying the dead-lettered updates must not bring x or y back, and the copy of z's
    tombstone must not hide the re-created z: with the counter (versions 2c + 1) and without it (stored
    sequence numbers)."""
    settings = settings_from({**env, "VERSION_ATTRIBUTE": mode})
    target = open_target(settings, table.name, dynamodb_endpoint=moto_endpoint)
    runtime = Runtime.from_env({**env, "VERSION_ATTRIBUTE": mode})
    table.seed(20)
    reader = table.reader(aws_shaped=False)  # moto's own numbers: the DLQ messages are read back from moto
    old = ensure_index(target.search, target.settings)
    assert backfill(target, BackfillOptions(segments=1)).ok
    sqs = target.client("sqs", moto_endpoint)
    queue_url = sqs.create_queue(QueueName=f"{unique_name}-dlq")["QueueUrl"]
    shard_id = table.streams.describe_stream(StreamArn=table.stream_arn)["StreamDescription"]["Shards"][0]

    def update_then_delete(doc_id: str, n: int) -> None:
        """The update's record is dead-lettered (an on-failure message), the delete's is indexed."""
        table.resource.put_item(Item=table.book(doc_id, n, edition=2))
        table.resource.delete_item(Key={"id": doc_id})
        modify, remove = reader.read()
        assert (modify["eventName"], remove["eventName"]) == ("MODIFY", "REMOVE")
        message = on_failure_message(table.stream_arn, shard_id["ShardId"], [modify])
        sqs.send_message(QueueUrl=queue_url, MessageBody=message)
        assert process_batch({"Records": [remove]}, LambdaContext(60), runtime) == NO_FAILURES

    update_then_delete("b00003", 3)  # x
    table.resource.delete_item(Key={"id": "b00007"})  # z, deleted before the reindex
    assert process_batch({"Records": reader.read()}, LambdaContext(60), runtime) == NO_FAILURES
    real_swap = reindex_module.swap_alias

    def swap_with_writes_around(client: Any, alias: str, old_index: str, new_index: str) -> None:
        update_then_delete("b00011", 11)  # y: its tombstone reaches the old index just before the swap
        real_swap(client, alias, old_index, new_index)
        table.resource.put_item(Item=table.book("b00007", 7, edition=3))  # z re-created (counter goes on)
        assert process_batch({"Records": reader.read()}, LambdaContext(60), runtime) == NO_FAILURES

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reindex_module, "swap_alias", swap_with_writes_around)
        result = reindex(target, ReindexOptions(segments=1, recheck_after=0))
    assert result.ok, result.summary()
    assert alias_target(search, target.alias) != old
    before_swap, after_swap = result.tombstones
    assert before_swap.copied >= 2  # x and z (deleted before the reindex)
    assert after_swap.superseded >= 1  # z's tombstone left the re-created z alone

    replayed = replay_dlq(target, sqs, ReplayOptions(queue_url=queue_url, wait_seconds=0))

    assert [m.status for m in replayed.messages] == ["replayed", "replayed"], replayed.summary()
    verdict = index_oracle.judge_target(target, deleted={"b00003", "b00011"})
    assert verdict.clean, verdict
    assert search.get(index=target.alias, id="b00007")["_source"]["edition"] == 3
    copied = search.get(index=target.alias, id="b00003")["_source"]
    assert copied["indexer_deleted_at"] == search.get(index=old, id="b00003")["_source"]["indexer_deleted_at"]
