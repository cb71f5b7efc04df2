"""The export handler's actions, driven in the order the bulk-load state machine runs them, against moto's S3
and DynamoDB and the OpenSearch stand-in; the export itself is laid out as DynamoDB writes one
(``support.table_exports``). The state machine around them is tested on the local stack's moto (Step
Functions executing ``modules/bulk-load/state_machine.asl.json``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from opensearchpy import OpenSearch
from ops.bulk_load_run import Run, single_copy
from ops.traffic import Table

from indexer.index_setup import ensure_index
from indexer.ops.run_store import RunStore
from indexer.ops.target import Target
from support import index_oracle
from support.fault_proxy import FaultProxy


@pytest.fixture
def s3_bucket(target: Target, moto_endpoint: str, unique_name: str) -> tuple[Any, str]:
    s3 = target.client("s3", moto_endpoint)
    s3.create_bucket(Bucket=unique_name)
    return s3, unique_name


def test_a_backfill_from_the_export_indexes_every_item_and_a_second_one_changes_nothing(
    target: Target, table: Table, s3_bucket: tuple[Any, str], search: OpenSearch
) -> None:
    table.seed(300)
    s3, bucket = s3_bucket
    Run(target, s3, bucket).through("backfill")
    assert index_oracle.judge_target(target).clean
    versions = _versions(search, target.alias)
    second = Run(target, s3, bucket)
    second.through("backfill")
    assert _versions(search, target.alias) == versions  # the same states at the same versions (external_gte)
    assert index_oracle.judge_target(target).clean


def test_a_file_resumes_from_its_checkpoint_across_invocations(
    target: Target, table: Table, s3_bucket: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    table.seed(2500)
    s3, bucket = s3_bucket
    monkeypatch.setenv("BULK_LOAD_WORK_SECONDS", "0")  # stop after every page: one page per invocation
    run = Run(target, s3, bucket)
    run.through("backfill")
    partial = [a for a in run.answers if a["status"] == "partial"]
    assert len(partial) >= 2  # 2500 items in 3 files of about 830: a file takes more than one invocation
    assert index_oracle.judge_target(target).clean
    states = RunStore(s3, bucket, run.run).children("files")
    assert sum(state.position for state in states) == 2500
    assert all(state.counts["scanned"] == state.position for state in states)  # no item written twice


def test_opensearch_refusing_with_429_slows_the_child_down_instead_of_failing_it(
    target: Target, table: Table, s3_bucket: tuple[Any, str], opensearch_url: str
) -> None:
    table.seed(50)
    s3, bucket = s3_bucket
    ensure_index(target.search, target.settings)
    with FaultProxy(opensearch_url) as proxy:
        from indexer.client import make_client

        settings = dataclasses.replace(target.settings, opensearch_endpoint=proxy.url, retry_max_attempts=2)
        throttled = dataclasses.replace(target, settings=settings, search=make_client(settings))
        proxy.fail_requests(*[proxy_fault_429()] * 4)  # two attempts of the first page, twice
        run = Run(throttled, s3, bucket)
        run.through("backfill")
    statuses = [a["status"] for a in run.answers]
    assert statuses.count("throttled") >= 1
    assert all(a["wait_seconds"] > 0 for a in run.answers if a["status"] == "throttled")
    assert index_oracle.judge_target(target).clean


def proxy_fault_429() -> Any:
    from support.fault_proxy import RequestFault

    return RequestFault("status", 429)


def test_a_reindex_from_the_export_under_live_writes_ends_equal_to_the_table(
    target: Target, table: Table, s3_bucket: tuple[Any, str], consumer: Any, writer: Any, search: OpenSearch
) -> None:
    ids = table.seed(400)
    ensure_index(target.search, target.settings)
    Run(target, *s3_bucket).through("backfill")
    single_copy(search, target.alias)  # green on the one-node stand-in
    live = consumer()
    traffic = writer(ids)
    run = Run(target, *s3_bucket)
    prepared = run.through("reindex")
    traffic.stop()
    live.drain()
    assert prepared["index"] == f"{target.alias}-v2"
    assert list(search.indices.get_alias(name=target.alias)) == [f"{target.alias}-v2"]
    settings = search.indices.get_settings(index=prepared["index"])[prepared["index"]]["settings"]["index"]
    assert settings["refresh_interval"] == "1s"  # restored after the load
    verdict = index_oracle.judge_target(target, deleted=traffic.deleted)
    assert verdict.clean, str(verdict)
    assert traffic.writes > 0


def test_an_audit_from_the_export_finds_and_repairs_what_differs(
    target: Target, table: Table, s3_bucket: tuple[Any, str], search: OpenSearch
) -> None:
    ids = table.seed(120)
    Run(target, *s3_bucket).through("backfill")
    alias = target.alias
    version = search.get(index=alias, id=ids[0])["_version"]  # missing:
    search.delete(index=alias, id=ids[0], params={"version": version, "version_type": "external_gte"})
    stale = search.get(index=alias, id=ids[1])
    search.index(  # stale: other content at the item's own version
        index=alias,
        id=ids[1],
        body={**stale["_source"], "title": "not what the table says"},
        params={"version": stale["_version"], "version_type": "external_gte"},
    )
    search.index(
        index=alias, id="ghost", body={"id": "ghost"}, params={"version": 1, "version_type": "external"}
    )
    run = Run(target, *s3_bucket)
    run.through("audit")
    found: dict[str, int] = {}
    store = RunStore(run.s3, run.bucket, run.run)
    for state in store.children("files") + store.children("slices"):
        for kind, count in state.differences.items():
            found[kind] = found.get(kind, 0) + count
    assert found == {"missing": 1, "stale": 1, "orphaned": 1}
    assert index_oracle.judge_target(target).clean


def _versions(search: OpenSearch, alias: str) -> dict[str, int]:
    search.indices.refresh(index=alias)
    hits = search.search(index=alias, body={"size": 10000, "version": True, "query": {"match_all": {}}})
    return {hit["_id"]: hit["_version"] for hit in hits["hits"]["hits"]}
