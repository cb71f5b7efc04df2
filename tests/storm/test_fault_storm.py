"""Fault storm: random writes while the indexer runs through faults, kills, replays and a racing backfill.

Random creates, updates and deletes hit a streamed table on moto. An emulated event source mapping reads the
real stream records and delivers them to the handler (``process_event`` in a worker process, as a Lambda
container) through a proxy that injects per-item 429/503, whole-request 429/503, slow answers (some beyond
the client's timeout, so the write lands after the client gave up) and dropped connections. On the way:

- the worker is killed in the middle of a batch; the batch is delivered again to a fresh worker;
- some invocations get little remaining time, so the indexer must stop and report the earliest failed
  sequence number, and delivery restarts there (``ReportBatchItemFailures``);
- batches are delivered twice, and older batches are replayed, shuffled, after newer ones;
- ``indexer.ops`` backfill scans the table at the same time, through the same proxy;
- OpenSearch restarts twice mid-run (``support.restartable_search``): documents and their versions survive,
  the in-memory delete tombstones do not, and every batch delivered so far is then replayed, shuffled, so
  any delete that only a lost tombstone protected comes back.

The stream records are moto's, presented AWS-shaped (sequence numbers about 10^20 apart, whole-second
creation times). At the end the independent oracle (``support.index_oracle``: the table read directly, the
index read over HTTP) counts documents lost (item without document), stale (document differs from the
item), resurrected (document for a deleted item) and orphaned: all must be 0; the ops audit must agree.
The seed is printed; ``STORM_SEED=<n>`` replays a run's decisions (thread timing still varies).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from storm.delivery_storm import (
    HANDLER_ENV,
    OPERATIONS,
    REQUEST_FAULTS,
    RESTART_AT,
    ROOT,
    SEED,
    Figures,
    LambdaWorker,
    deliver,
    faults_by_kind,
)

from indexer.index_setup import ensure_index
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.progress import Progress
from indexer.ops.target import Target, open_target, settings_from
from support import index_oracle
from support.fault_proxy import FaultProxy
from support.restartable_search import RestartableSearch
from support.streams import StreamReader, clients, create_streamed_table

BOOK_IDS = 150  # a small id pool: every id is created, updated, deleted and re-created many times
# The writes keep the item's write counter (``version``), as this project's writers do; STORM_WRITE_COUNTER=0
# runs the storm against the indexer's no-counter mode (stored sequence numbers) instead.
WRITE_COUNTER = os.environ.get("STORM_WRITE_COUNTER", "1") != "0"


def book(rng: random.Random, book_id: str, revision: int) -> dict[str, Any]:
    counter = {"version": {"N": str(revision + 1)}} if WRITE_COUNTER else {}
    return {
        "id": {"S": book_id},
        "title": {"S": f"{rng.choice(['Storm', 'Calm', 'Tide', 'Gale'])} {book_id} r{revision}"},
        "author": {"S": rng.choice(["A. Writer", "B. Poet", "C. Scribe"])},
        "year": {"N": str(rng.randint(1900, 2026))},
        "price": {"N": f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}"},
        "isbn13": {"N": str(9780000000000 + rng.randint(0, 10**9))},
        "tags": {"SS": sorted(rng.sample(["a", "b", "c", "d", "e"], rng.randint(1, 3)))},
        "revision": {"N": str(revision)},
        **counter,
    }


def write_randomly(
    dynamodb: Any, table: str, rng: random.Random, figures: Figures, present: set[str], deleted: set[str]
) -> None:
    """Random creates, updates and deletes on the table; ``present``/``deleted`` track the ids. Every write
    sets the item's ``version`` counter as this project's writers do (the API: POST 1, PUT +1): here the
    operation's number + 1, which grows per item across deletes and re-creations."""
    for revision in range(1, OPERATIONS + 1):
        book_id = f"book-{rng.randrange(BOOK_IDS):03d}"
        roll = rng.random()
        if book_id not in present or roll < 0.15:
            dynamodb.put_item(TableName=table, Item=book(rng, book_id, revision))
            figures.operations["create" if book_id not in present else "overwrite"] += 1
            present.add(book_id)
            deleted.discard(book_id)
        elif roll < 0.70:
            dynamodb.update_item(
                TableName=table,
                Key={"id": {"S": book_id}},
                UpdateExpression="SET title = :t, revision = :r, price = :p"
                + (", version = :v" if WRITE_COUNTER else ""),
                ExpressionAttributeValues={
                    ":t": {"S": f"Updated {book_id} r{revision}"},
                    ":r": {"N": str(revision)},
                    **({":v": {"N": str(revision + 1)}} if WRITE_COUNTER else {}),
                    ":p": {"N": f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}"},
                },
            )
            figures.operations["update"] += 1
        else:
            dynamodb.delete_item(TableName=table, Key={"id": {"S": book_id}})
            figures.operations["delete"] += 1
            present.discard(book_id)
            deleted.add(book_id)
        figures.writes_done = revision
        time.sleep(rng.uniform(0, 0.02))


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RestartableSearch]:
    """This storm's own OpenSearch node, so it can be restarted."""
    with RestartableSearch(tmp_path / "opensearch.log") as running:
        yield running


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_fault_storm_loses_nothing(
    moto_endpoint: str, node: RestartableSearch, unique_name: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    print(f"\nfault storm: seed {SEED} (STORM_SEED={SEED} to replay), {OPERATIONS} operations")
    dynamodb, streams = clients(moto_endpoint)
    stream_arn = create_streamed_table(dynamodb, unique_name)
    figures = Figures()
    present: set[str] = set()
    deleted: set[str] = set()
    seed_rng = random.Random(SEED)
    for number in range(60):  # items that exist before the backfill starts
        book_id = f"book-{number:03d}"
        dynamodb.put_item(TableName=unique_name, Item=book(seed_rng, book_id, 0))
        present.add(book_id)
    figures.operations["create"] += 60

    opensearch_url = node.url
    with FaultProxy(opensearch_url) as proxy:
        env = {
            **os.environ,
            **HANDLER_ENV,
            "OPENSEARCH_ENDPOINT": proxy.url,
            "OPENSEARCH_INDEX": unique_name,
            "PYTHONPATH": str(ROOT / "artifacts" / "update_indices" / "lambda"),
        }
        through_proxy: Target = open_target(settings_from(env), unique_name, dynamodb_endpoint=moto_endpoint)
        ensure_index(through_proxy.search, through_proxy.settings)  # as the ops CLI does before a backfill
        # Each kind of request fault once for the first bulk requests, then at random for the rest of the run.
        proxy.fail_requests(*REQUEST_FAULTS)
        proxy.storm(item_rate=0.05, request_rate=0.15, request_faults=REQUEST_FAULTS, seed=SEED)

        worker = LambdaWorker(env, tmp_path / "worker.log")
        writes_done = threading.Event()
        backfill_outcome: dict[str, Any] = {}

        def run_writes() -> None:
            try:
                write_randomly(dynamodb, unique_name, random.Random(SEED + 1), figures, present, deleted)
            finally:
                writes_done.set()

        def run_backfills() -> None:
            """Backfill after backfill while the writes go on, each racing the stream on every item."""
            totals: Counter[str] = Counter()
            try:
                while True:
                    result = backfill(
                        through_proxy,
                        BackfillOptions(segments=3, page_size=20),
                        progress=Progress("backfill", show=()),
                    )
                    totals["runs"] += 1
                    for name in ("scanned", "indexed", "conflicts", "failed"):
                        totals[name] += int(result.summary[name])
                    if writes_done.is_set():
                        break
                    writes_done.wait(2.0)
            except Exception as exc:  # reported below; the stream alone must still converge
                backfill_outcome["error"] = f"{type(exc).__name__}: {exc}"
            backfill_outcome.update(totals)

        threads = [threading.Thread(target=run_writes), threading.Thread(target=run_backfills)]
        for thread in threads:
            thread.start()
        try:
            reader = StreamReader(streams, stream_arn)
            deliver(reader, proxy, worker, random.Random(SEED + 2), figures, writes_done, node)
        finally:
            for thread in threads:
                thread.join(timeout=60)
            worker.stop()
        proxy.calm()
        faults = faults_by_kind(proxy)
        storm_seconds = time.monotonic() - started

    direct = open_target(
        settings_from({**env, "OPENSEARCH_ENDPOINT": opensearch_url}),
        unique_name,
        dynamodb_endpoint=moto_endpoint,
    )
    audited = audit(direct, AuditOptions(segments=2, recheck_after=0), progress=Progress("audit", show=()))

    verdict = index_oracle.judge_target(direct, deleted=deleted)
    items = index_oracle.table_items(dynamodb, unique_name)
    documents = index_oracle.served_documents(opensearch_url, unique_name)

    print(f"operations: {dict(figures.operations)} (total {sum(figures.operations.values())})")
    print(f"stream records: {figures.stream_records}; deliveries: {dict(figures.deliveries)}")
    print(f"handler processes started: {worker.starts}")
    print(f"faults injected: {dict(sorted(faults.items()))} (total {sum(faults.values())})")
    print(f"backfills (concurrent with the writes, through the proxy): {backfill_outcome}")
    print(f"audit: {json.dumps(audited.summary(max_examples=5))}")
    print(f"table items: {len(items)}, index documents: {len(documents)}")
    print(f"OpenSearch restarts: {node.restarts} ({node.restored_documents} documents carried over)")
    print(f"oracle: {verdict}")
    print(f"storm took {storm_seconds:.1f} s, with the audit {time.monotonic() - started:.1f} s")

    assert present == items.keys(), "the test's own bookkeeping disagrees with the table"
    assert verdict.clean, str(verdict)
    assert audited.clean, audited.summary(max_examples=10)
    assert "error" not in backfill_outcome, backfill_outcome
    # The storm must really have happened, or a pass proves nothing.
    for kind in ("item 429", "item 503", "request 429", "request 503", "slow 1.5s", "dropped connection"):
        assert faults[kind] > 0, f"no {kind} fault was injected: {dict(faults)}"
    assert figures.deliveries["handler killed mid-batch"] > 0
    assert figures.deliveries["restarts mid-batch"] > 0
    assert backfill_outcome["runs"] > 1
    assert figures.deliveries["duplicate deliveries"] > 0
    assert figures.deliveries["stale replays, out of order"] > 0
    assert figures.operations["delete"] > 0
    assert node.restarts == len(RESTART_AT)
