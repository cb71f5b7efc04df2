"""purge-tombstones: old tombstones go, young ones stay, a re-creation racing the purge is never deleted."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from opensearchpy import OpenSearch

from indexer.batch import Runtime, process_batch
from indexer.index_setup import ensure_index
from indexer.ops import purge
from indexer.ops.__main__ import main
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.target import Target, open_target, settings_from
from support.streams import LambdaContext

NOW = time.time()
DAY = 86400
SHARD_START = 820400000000000001192334  # shaped like a shard start in AWS's DynamoDB Streams examples


def aws_record(name: str, position: int, book_id: str, counter: int, created_at: float) -> dict[str, Any]:
    """A NEW_AND_OLD_IMAGES record; whole-second creation time, sequence numbers ~10**20 apart."""
    image = {"id": {"S": book_id}, "title": {"S": f"t{counter}"}, "version": {"N": str(counter)}}
    body: dict[str, Any] = {
        "Keys": {"id": {"S": book_id}},
        "SequenceNumber": str(SHARD_START + position * 10**20 + position),
        "ApproximateCreationDateTime": float(int(created_at)),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        ("OldImage" if name == "REMOVE" else "NewImage"): image,
    }
    return {"eventName": name, "eventSource": "aws:dynamodb", "dynamodb": body}


def tombstone_ids(search: OpenSearch, index: str) -> set[str]:
    search.indices.refresh(index=index)
    body = {"query": {"term": {"indexer_tombstone": True}}, "size": 100}
    return {hit["_id"] for hit in search.search(index=index, body=body)["hits"]["hits"]}


@pytest.fixture
def deleted(env: dict[str, str], table: Any, search: OpenSearch) -> Runtime:
    """b-old deleted 3 days ago, b-young 1 hour ago, b-live never: two tombstones and one document."""
    runtime = Runtime.from_env(env)
    records = [
        aws_record("INSERT", 0, "b-old", 1, NOW - 3 * DAY - 5),
        aws_record("REMOVE", 1, "b-old", 1, NOW - 3 * DAY),
        aws_record("INSERT", 2, "b-young", 1, NOW - 3600 - 5),
        aws_record("REMOVE", 3, "b-young", 1, NOW - 3600),
        aws_record("INSERT", 4, "b-live", 1, NOW - 3600),
    ]
    assert process_batch({"Records": records}, LambdaContext(60), runtime) == {"batchItemFailures": []}
    assert tombstone_ids(search, runtime.index) == {"b-old", "b-young"}
    return runtime


def test_only_tombstones_older_than_the_given_age_are_purged(
    deleted: Runtime, moto_endpoint: str, search: OpenSearch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["purge-tombstones", "--older-than", "2d", "--dynamodb-endpoint", moto_endpoint])
    summary = json.loads(capsys.readouterr().out)
    assert (code, summary["found"], summary["purged"], summary["kept"]) == (0, 1, 1, 0)
    assert tombstone_ids(search, deleted.index) == {"b-young"}
    assert search.get(index=deleted.index, id="b-live")["found"]


def test_an_age_within_the_streams_retention_is_refused(
    deleted: Runtime, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """DynamoDB Streams keeps records 24 hours: a younger tombstone may still have a record to refuse."""
    assert main(["purge-tombstones", "--older-than", "23h", "--dynamodb-endpoint", moto_endpoint]) == 2
    assert "--older-than" in capsys.readouterr().err


def test_a_re_creation_landing_during_the_purge_is_not_deleted(
    deleted: Runtime, target: Target, search: OpenSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scan = purge.helpers.scan

    def scan_then_re_create(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        hits = list(real_scan(*args, **kwargs))
        if hits:  # the search for old tombstones (the one for tombstones without a time finds none)
            again = aws_record("INSERT", 5, "b-old", 2, NOW)  # the writer continues the counter
            assert process_batch({"Records": [again]}, LambdaContext(60), deleted) == {
                "batchItemFailures": []
            }
        return hits

    monkeypatch.setattr(purge.helpers, "scan", scan_then_re_create)
    result = purge.purge_tombstones(target, 2 * DAY)
    assert (result.found, result.purged, result.kept) == (1, 0, 1)
    assert search.get(index=deleted.index, id="b-old")["_source"]["title"] == "t2"


def test_tombstones_written_from_table_reads_carry_a_deletion_time_and_are_purged(
    env: dict[str, str],
    table: Any,
    moto_endpoint: str,
    search: OpenSearch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backfill whose hook drops an item writes a tombstone from a scanned item, which has no stream
    record and so no ApproximateCreationDateTime: it is stamped with the time it was written, so
    purge-tombstones takes it once it is older than --older-than, like every stream delete."""
    monkeypatch.setenv("DOCUMENT_HOOK", "ops.ops_hooks:stamp")
    hooked = open_target(settings_from(os.environ), table.name, dynamodb_endpoint=moto_endpoint)
    table.seed(3)
    table.resource.put_item(Item={**table.book("draft-1", 9), "status": "draft"})
    ensure_index(hooked.search, hooked.settings)
    search.index(  # the draft's document from before it became one: the backfill's tombstone replaces it
        index=hooked.alias,
        id="draft-1",
        body={"id": "draft-1"},
        params={"version": 1, "version_type": "external"},
    )
    written_at = time.time()
    assert backfill(hooked, BackfillOptions(segments=1)).summary["skipped"] == 1
    tombstone = search.get(index=hooked.alias, id="draft-1")["_source"]
    assert tombstone["indexer_tombstone"] is True
    assert written_at - 1 <= tombstone["indexer_deleted_at"] <= time.time() + 1

    assert purge.purge_tombstones(hooked, 2 * DAY).found == 0  # young: kept
    later = purge.purge_tombstones(hooked, 2 * DAY, now=time.time() + 3 * DAY)
    assert (later.found, later.purged) == (1, 1)
    assert not search.exists(index=hooked.alias, id="draft-1")


def test_tombstones_without_a_deletion_time_are_stamped_then_purged_by_a_later_run(
    target: Target, table: Any, search: OpenSearch
) -> None:
    """Tombstones an earlier release wrote from table reads have no ``indexer_deleted_at``, so no age: a run
    stamps them with its own time (conditionally on their version: a re-creation in between wins), and a
    run --older-than later purges them."""
    ensure_index(target.search, target.settings)
    search.index(
        index=target.alias,
        id="legacy",
        body={"indexer_tombstone": True},
        params={"version": 7, "version_type": "external", "refresh": "true"},
    )

    first = purge.purge_tombstones(target, 2 * DAY)
    assert (first.found, first.stamped, first.purged) == (0, 1, 0)
    stamped = search.get(index=target.alias, id="legacy")
    assert stamped["_version"] == 7  # the same version: a later write of the item still wins
    assert abs(stamped["_source"]["indexer_deleted_at"] - time.time()) < 60

    later = purge.purge_tombstones(target, 2 * DAY, now=time.time() + 3 * DAY)
    assert (later.found, later.stamped, later.purged) == (1, 0, 1)


def test_an_item_written_while_its_ageless_tombstone_is_stamped_is_left_alone(
    target: Target, search: OpenSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_index(target.search, target.settings)
    body = {"indexer_tombstone": True}
    search.index(
        index=target.alias, id="legacy", body=body, params={"version": 7, "version_type": "external"}
    )
    search.indices.refresh(index=target.alias)
    real_scan = purge.helpers.scan

    def scan_then_re_create(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        hits = list(real_scan(*args, **kwargs))
        if hits:  # the item is written again (counter 4: version 8) between the search and the stamp
            search.index(
                index=target.alias,
                id="legacy",
                body={"id": "legacy", "title": "back"},
                params={"version": 8, "version_type": "external_gte"},
            )
        return hits

    monkeypatch.setattr(purge.helpers, "scan", scan_then_re_create)
    result = purge.purge_tombstones(target, 2 * DAY)
    assert (result.stamped, result.failed) == (0, 0)
    assert search.get(index=target.alias, id="legacy")["_source"] == {"id": "legacy", "title": "back"}


def test_a_bulk_load_that_can_still_write_holds_the_purge_at_its_export_time(
    deleted: Runtime,
    target: Target,
    moto_endpoint: str,
    unique_name: str,
    search: OpenSearch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bulk load started with --allow-old-export four days after its export (docs/bulk-load.md, "The
    export's age") still writes the export's item states; b-old was deleted three days ago, after that export,
    so its tombstone is what refuses the exported state. DynamoDB Streams keeps records 24 hours
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html): the stream cannot
    deliver the delete again, so the purge, given the bulk-load bucket, keeps it."""
    from indexer.ops.run_store import RunStore

    s3 = target.client("s3", moto_endpoint)
    s3.create_bucket(Bucket=unique_name)
    run = {"export_epoch": NOW - 4 * DAY, "allow_old_export": True, "mode": "backfill"}
    RunStore(s3, unique_name, "bl-old").put("run.json", run)
    argv = ["purge-tombstones", "--older-than", "2d", "--dynamodb-endpoint", moto_endpoint]
    code = main([*argv, "--bulk-load-bucket", unique_name])
    summary = json.loads(capsys.readouterr().out)
    assert (code, summary["purged"], summary["held_by_bulk_loads"]) == (0, 0, ["bl-old"])
    assert tombstone_ids(search, deleted.index) == {"b-old", "b-young"}
    RunStore(s3, unique_name, "bl-old").put("run.json", {**run, "allow_old_export": False})  # can't write
    assert main([*argv, "--bulk-load-bucket", unique_name]) == 0
    assert json.loads(capsys.readouterr().out)["purged"] == 1
