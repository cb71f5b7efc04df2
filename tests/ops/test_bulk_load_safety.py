"""What keeps a bulk load from bringing deleted items back or losing failed ones: the export's age checked
by prepare and every file child, purge-tombstones held by the runs that can still write, a failed file
retried when its run is redriven, and a reindex slice that never passes a page whose repairs failed.
Against moto's S3 and DynamoDB and the OpenSearch stand-in; the clock is injected (``Run.clock``), never
waited for."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from opensearchpy import OpenSearch
from ops.bulk_load_run import Run, single_copy
from ops.traffic import Table

from indexer import batch
from indexer.index_setup import ensure_index
from indexer.ops.export_age import MAX_EXPORT_AGE_SECONDS, ExportTooOld
from indexer.ops.export_children import STUCK_PASSES, THROTTLED_PASSES, ItemsFailed
from indexer.ops.purge import purge_tombstones
from indexer.ops.run_store import RunStore
from indexer.ops.target import Target, open_target, ops_client, settings_from
from support.fault_proxy import FaultProxy
from support.stream_records import LambdaContext, lambda_event

HOUR = 3600


@pytest.fixture
def s3_bucket(target: Target, moto_endpoint: str, unique_name: str) -> tuple[Any, str]:
    s3 = target.client("s3", moto_endpoint)
    s3.create_bucket(Bucket=unique_name)
    return s3, unique_name


class Clock:
    """The handler's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _file_items(run: Run, files_key: str) -> list[dict[str, Any]]:
    return RunStore(run.s3, run.bucket, run.run).get(files_key.split(f"runs/{run.run}/")[1])


def test_prepare_and_every_file_child_refuse_an_export_older_than_the_stream_keeps_records(
    target: Target, table: Table, s3_bucket: tuple[Any, str]
) -> None:
    """DynamoDB Streams keeps a record "for up to 24 hours" ("Change data capture for DynamoDB Streams",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html), and purge-tombstones
    accepts any horizon from 24 h. The export is the table at its ExportTime ("The table export will be a
    snapshot of the table's state at this point in time", ExportTableToPointInTime,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ExportTableToPointInTime.html), however
    late its files are loaded: past 23 h its items may be deletes whose tombstones are gone."""
    table.seed(30)
    clock = Clock()
    run = Run(target, *s3_bucket, clock=clock)
    old = run.export(at=clock.now - MAX_EXPORT_AGE_SECONDS - 60)
    with pytest.raises(ExportTooOld, match="allow_old_export"):
        run.act("prepare", "backfill", export_arn=old)
    # a young export is prepared; its children refuse once the run has gone on past the export's 23 h
    young = Run(target, *s3_bucket, clock=clock)
    prepared = young.act("prepare", "backfill", export_arn=young.export())
    items = _file_items(young, prepared["files_key"])
    assert young.act("file", "backfill", index=None, file=items[0])["status"] == "done"
    clock.now += MAX_EXPORT_AGE_SECONDS + 60  # a long run, or a redrive days later
    with pytest.raises(ExportTooOld, match="file 1"):
        young.act("file", "backfill", index=None, file=items[1])
    assert RunStore(young.s3, young.bucket, young.run).child("files", 1).position == 0  # nothing written
    # the explicit override: the operator takes the stream's and the purge's side on themselves
    allowed = Run(run.target, *s3_bucket, clock=clock)  # its client knows the old export
    prepared = allowed.act("prepare", "backfill", export_arn=old, allow_old_export=True)
    for item in _file_items(allowed, prepared["files_key"]):
        assert allowed.act("file", "backfill", index=None, file=item)["status"] == "done"


@pytest.mark.parametrize("counter", ["version", "none"])
def test_purge_tombstones_keeps_the_tombstones_a_running_load_still_needs(
    counter: str,
    env: dict[str, str],
    table: Table,
    moto_endpoint: str,
    s3_bucket: tuple[Any, str],
    search: OpenSearch,
) -> None:
    """The reviewer's resurrection: an item exported on day 0, deleted after the export (the stream writes its
    tombstone), the daily purge (--older-than 48h, docs/operations.md) run 49 h later, then the run's files
    loaded (a run allowed an old export, or a redrive: "continues the failed execution from the
    unsuccessful step", https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html).
    Given the bulk-load bucket, the purge holds its cutoff at the run's export time, so the tombstone refuses
    the exported state. DynamoDB Streams' 24 h retention
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html) is why a tombstone older
    than that may otherwise go."""
    target = open_target(
        settings_from({**env, "VERSION_ATTRIBUTE": counter}), table.name, dynamodb_endpoint=moto_endpoint
    )
    batch.reset_runtime()
    runtime = batch.Runtime.from_env({**env, "VERSION_ATTRIBUTE": counter})
    ids = table.seed(20)
    ensure_index(target.search, target.settings)
    clock = Clock()
    Run(target, *s3_bucket, clock=clock).through("backfill")
    reader = table.reader()
    run = Run(target, *s3_bucket, clock=clock)
    export = run.export()  # day 0
    prepared = run.act("prepare", "backfill", export_arn=export, allow_old_export=True)
    table.resource.delete_item(Key={"id": ids[3]})  # deleted after the export: the stream writes a tombstone
    answer = batch.process_batch(lambda_event(reader.read()), LambdaContext(60), runtime)
    assert answer["batchItemFailures"] == []
    concrete = next(iter(search.indices.get_alias(name=target.alias)))
    search.indices.put_settings(index=concrete, body={"index": {"gc_deletes": "0s"}})  # 49 h: long forgotten
    clock.now += 49 * HOUR
    purged = purge_tombstones(target, 48 * HOUR, now=clock.now, bulk_load=s3_bucket)
    assert (purged.purged, purged.held_by) == (0, [run.run]), purged.summary()
    run.children("file", "backfill", prepared["files_key"], None, "file")
    search.indices.refresh(index=target.alias)
    hits = search.search(index=target.alias, body={"query": {"ids": {"values": [ids[3]]}}})["hits"]["hits"]
    assert hits == [], "a deleted item came back"  # the alias's filter hides the tombstone, not a document


def test_a_run_that_can_no_longer_write_does_not_hold_the_purge(
    target: Target, table: Table, s3_bucket: tuple[Any, str]
) -> None:
    """A run whose export is older than its children accept (and not allowed) writes nothing more, so it
    holds nothing: the purge's cutoff is its own."""
    table.seed(5)
    ensure_index(target.search, target.settings)
    clock = Clock()
    run = Run(target, *s3_bucket, clock=clock)
    run.act("prepare", "backfill", export_arn=run.export())
    young = purge_tombstones(target, 48 * HOUR, now=clock.now + 25 * HOUR, bulk_load=s3_bucket)
    assert young.held_by == []
    assert young.cutoff == int(clock.now + 25 * HOUR - 48 * HOUR)
    held = purge_tombstones(target, 24 * HOUR, now=clock.now + 22 * HOUR, bulk_load=s3_bucket)
    assert held.cutoff == int(clock.now - 2 * HOUR)
    assert held.held_by == []


def test_a_failed_file_retries_its_failed_items_when_the_run_is_redriven(
    target: Target, table: Table, s3_bucket: tuple[Any, str], search: OpenSearch
) -> None:
    """A file whose items kept failing fails its Lambda task (so the unsuccessful step a redrive continues
    from is the task, "RedriveExecution ... continues the failed execution from the unsuccessful step",
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html); the redriven
    task finds the checkpoint done with failed keys and retries them, instead of answering from it."""
    ids = table.seed(10)
    bad = table.book(ids[2], 2)
    bad["title"] = {"nested": "object into a text field"}
    table.resource.put_item(Item=bad)
    ensure_index(target.search, target.settings)
    run = Run(target, *s3_bucket)
    prepared = run.act("prepare", "backfill", export_arn=run.export())
    items = _file_items(run, prepared["files_key"])
    failed = []
    for n, item in enumerate(items):
        try:
            assert run.act("file", "backfill", index=None, file=item)["status"] == "done"
        except ItemsFailed:
            failed.append(n)
    assert len(failed) == 1, failed
    state = RunStore(run.s3, run.bucket, run.run).child("files", failed[0])
    assert state.done
    assert state.failed_keys
    table.resource.put_item(Item=table.book(ids[2], 2, edition=2))  # the cause fixed (here: in the data)
    again = run.act("file", "backfill", index=None, file=items[failed[0]])  # what a redrive runs
    assert again["status"] == "done", again
    assert RunStore(run.s3, run.bucket, run.run).child("files", failed[0]).failed_keys == []
    search.indices.refresh(index=target.alias)
    assert isinstance(search.get(index=target.alias, id=ids[2])["_source"]["title"], str)


def _proxied(target: Target, env: dict[str, str], proxy: FaultProxy) -> Target:
    """The target with the tools' own client, through ``proxy``."""
    return dataclasses.replace(
        target, search=ops_client(settings_from({**env, "OPENSEARCH_ENDPOINT": proxy.url}))
    )


def _stuck_slice(
    target: Target,
    table: Table,
    s3_bucket: tuple[Any, str],
    env: dict[str, str],
    proxy: FaultProxy,
    search: OpenSearch,
    items: int,
) -> tuple[Run, dict[str, Any]]:
    """A backfilled table of ``items`` items, then a reindex whose one slice must repair ``after-export``
    (written by the stream into the old index after the export) into the new index, through ``proxy``: the
    run and the slice's task input."""
    table.seed(items)
    ensure_index(target.search, target.settings)
    Run(target, *s3_bucket).through("backfill")
    single_copy(search, target.alias)  # green on the one-node stand-in
    run = Run(_proxied(target, env, proxy), *s3_bucket)
    export = run.export()
    reader = table.reader()
    table.resource.put_item(Item=table.book("after-export", 7))  # the stream writes the old index only
    answer = batch.process_batch(lambda_event(reader.read()), LambdaContext(60), batch.Runtime.from_env(env))
    assert answer["batchItemFailures"] == []
    prepared = run.act("prepare", "reindex", export_arn=export)
    run.children("file", "reindex", prepared["files_key"], prepared["index"], "file")
    pieces = RunStore(run.s3, run.bucket, run.run).get("slices.json")
    assert len(pieces) == 1, pieces
    return run, {"index": prepared["index"], "slice": pieces[0]}


def test_a_slice_whose_repair_keeps_failing_holds_its_page_and_the_redriven_run_repairs_it(
    target: Target,
    table: Table,
    s3_bucket: tuple[Any, str],
    search: OpenSearch,
    env: dict[str, str],
    opensearch_url: str,
) -> None:
    """A reconcile slice whose repair write keeps failing (here: refused with 400 for that document, as for
    a mapping conflict fixed later) answers ``throttled`` without moving its checkpoint, so the state
    machine's wait and next call read that page again; after ``STUCK_PASSES`` passes the task fails with
    ``ItemsFailed`` (the Map, then the run, fail; no Fail state answers for it), and the redriven task
    (a redrive re-runs a Map's unsuccessful child executions from their failed state,
    https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html) reads the page again and
    repairs the document. On the code before this, the slice answered ``failed`` with its checkpoint done,
    and the redrive answered ``failed`` again from it."""
    with FaultProxy(opensearch_url) as proxy:
        run, piece = _stuck_slice(target, table, s3_bucket, env, proxy, search, items=20)
        proxy.fail_item_always("after-export", 400)
        answers = [run.act("slice", "reindex", **piece) for _ in range(STUCK_PASSES - 1)]
        with pytest.raises(ItemsFailed, match="could not be repaired in 5 passes"):
            run.act("slice", "reindex", **piece)
        assert [a["status"] for a in answers] == ["throttled"] * (STUCK_PASSES - 1)
        state = RunStore(run.s3, run.bucket, run.run).child("slices", 0)
        assert (state.done, state.after, state.position) == (False, None, 0)  # the page not passed
        assert any("after-export" in reason for reason in state.reasons), state.reasons
        proxy.calm()
        redriven = run.act("slice", "reindex", **piece)
    assert redriven["status"] == "done", redriven
    assert redriven["counts"]["repaired"] == 1
    assert search.exists(index=piece["index"], id="after-export")


def test_a_slice_whose_repair_gets_only_retryable_answers_waits_longer_before_it_fails(
    target: Target,
    table: Table,
    s3_bucket: tuple[Any, str],
    search: OpenSearch,
    env: dict[str, str],
    opensearch_url: str,
) -> None:
    """503 (a shard unavailable, as during a blue/green change, which can take an hour:
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-configuration-changes.html)
    keeps the slice throttled past ``STUCK_PASSES``, up to ``THROTTLED_PASSES``; then it finishes."""
    with FaultProxy(opensearch_url) as proxy:
        run, piece = _stuck_slice(target, table, s3_bucket, env, proxy, search, items=5)
        proxy.fail_item_always("after-export", 503)
        answers = [run.act("slice", "reindex", **piece)["status"] for _ in range(STUCK_PASSES + 2)]
        assert answers == ["throttled"] * (STUCK_PASSES + 2)
        assert (
            RunStore(run.s3, run.bucket, run.run).child("slices", 0).stuck
            == STUCK_PASSES + 2
            < THROTTLED_PASSES
        )
        proxy.calm()
        assert run.act("slice", "reindex", **piece)["status"] == "done"


def test_an_audit_file_whose_repair_keeps_failing_holds_its_page_and_the_redriven_run_repairs_it(
    target: Target,
    table: Table,
    s3_bucket: tuple[Any, str],
    search: OpenSearch,
    env: dict[str, str],
    opensearch_url: str,
) -> None:
    """``bulk-load start --mode audit --repair``: a file child whose repair keeps failing holds its page as a
    slice does, and the redriven task repairs it. On the code before this, the page was passed, the child
    raised ItemsFailed from a done checkpoint, and every redrive raised it again."""
    ids = table.seed(8)
    ensure_index(target.search, target.settings)
    Run(target, *s3_bucket).through("backfill")
    table.resource.put_item(Item=table.book(ids[3], 3, edition=5))  # a write the stream never delivered
    with FaultProxy(opensearch_url) as proxy:
        run = Run(_proxied(target, env, proxy), *s3_bucket)
        prepared = run.act("prepare", "audit", export_arn=run.export())
        files = _file_items(run, prepared["files_key"])
        proxy.fail_item_always(ids[3], 400)
        answers: list[str] = []
        failed = None
        for item in files:
            for _ in range(STUCK_PASSES + 1):
                try:
                    answer = run.act("file", "audit", index=None, file=item)
                except ItemsFailed:
                    failed = item
                    break
                answers.append(answer["status"])
                if answer["status"] == "done":
                    break
        assert failed is not None, answers
        assert answers.count("throttled") == STUCK_PASSES - 1, answers
        proxy.calm()
        again = run.act("file", "audit", index=None, file=failed)  # what a redrive runs
    assert again["status"] == "done", again
    assert again["counts"]["repaired"] == 1
    assert search.get(index=target.alias, id=ids[3])["_source"]["edition"] == 5


def test_each_invocation_bounds_the_tools_retries_by_lambdas_remaining_time(
    target: Target, table: Table, s3_bucket: tuple[Any, str]
) -> None:
    """A retry of a single request never starts when it could not end before the function's timeout
    ("Configure Lambda function timeout", https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html):
    the handler gives the client's transport the invocation's deadline, less a margin."""
    table.seed(2)
    ensure_index(target.search, target.settings)
    run = Run(target, *s3_bucket)
    run.act("prepare", "backfill", context=LambdaContext(300), export_arn=run.export())
    left = target.search.transport.deadline.remaining()
    assert 0 < left <= 300 - 60, left
