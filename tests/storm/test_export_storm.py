"""Fault storm around the export path: a backfill, then a reindex, from DynamoDB exports while the table is
written, updated and deleted, the stream Lambda runs through faults, kills and replays, and OpenSearch
restarts twice.

The bulk-load children (``indexer.ops.bulk_load``) run in the state machine's order (``ops.bulk_load_run``:
the state machine itself is tested on the local stack's moto) through the same fault proxy as the Lambda,
so their requests get 429s, 503s, slow answers and dropped connections too: the tools' client retries a
single request (``ops.patient_transport``), and a child whose page could not be written or repaired answers
``throttled`` and tries the page again. At the end the independent oracle (the table read directly, the index
read over HTTP) must find nothing lost, stale or resurrected, and the tool's audit must be clean.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ops.bulk_load_run import Run, single_copy
from ops.traffic import Table
from storm.delivery_storm import (
    HANDLER_ENV,
    REQUEST_FAULTS,
    RESTART_AT,
    ROOT,
    SEED,
    Figures,
    LambdaWorker,
    deliver,
)

from indexer.index_setup import ensure_index
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.progress import Progress
from indexer.ops.target import open_target, settings_from
from support import index_oracle
from support.fault_proxy import FaultProxy
from support.restartable_search import RestartableSearch
from support.streams import StreamReader, clients, create_streamed_table

WRITES_PER_RESTART_WINDOW = 120  # the delivery loop restarts OpenSearch at 35% and 70% of this many writes


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RestartableSearch]:
    with RestartableSearch(tmp_path / "opensearch.log") as running:
        yield running


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_backfill_and_a_reindex_from_exports_under_a_storm_lose_and_resurrect_nothing(
    moto_endpoint: str, node: RestartableSearch, unique_name: str, tmp_path: Path
) -> None:
    dynamodb, streams = clients(moto_endpoint)
    stream_arn = create_streamed_table(dynamodb, unique_name)
    import boto3

    resource = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    table = Table(unique_name, dynamodb, streams, stream_arn, resource.Table(unique_name))
    ids = table.seed(300)
    figures = Figures()
    with FaultProxy(node.url) as proxy:
        env = {
            **os.environ,
            **HANDLER_ENV,
            "OPENSEARCH_ENDPOINT": proxy.url,
            "OPENSEARCH_INDEX": unique_name,
            "PYTHONPATH": str(ROOT / "artifacts" / "update_indices" / "lambda"),
        }
        settings = settings_from(env)
        target = open_target(settings, unique_name, dynamodb_endpoint=moto_endpoint)
        ensure_index(target.search, target.settings)
        single_copy(target.search, unique_name)  # green on the one-node stand-in (the swap waits for green)
        s3 = target.client("s3", moto_endpoint)
        s3.create_bucket(Bucket=unique_name)
        proxy.storm(item_rate=0.03, request_rate=0.1, request_faults=REQUEST_FAULTS, seed=SEED)

        worker = LambdaWorker(env, tmp_path / "worker.log")
        writes_done, loads_done = threading.Event(), threading.Event()
        deleted: set[str] = set()
        outcome: dict[str, Any] = {}

        def write() -> None:
            rng = random.Random(SEED + 1)
            n = 0
            while not loads_done.is_set():
                n += 1
                doc_id = rng.choice(ids)
                if rng.random() < 0.2:
                    table.resource.delete_item(Key={"id": doc_id})
                    deleted.add(doc_id)
                else:
                    table.resource.put_item(Item=table.book(doc_id, n, edition=n + 1))
                    deleted.discard(doc_id)
                figures.writes_done = n
                time.sleep(rng.uniform(0, 0.02))
            writes_done.set()

        def load() -> None:
            try:
                Run(target, s3, unique_name).through("backfill")
                outcome["backfill"] = "done"
                outcome["reindex"] = Run(target, s3, unique_name).through("reindex")["index"]
            except Exception as exc:  # reported below; the stream alone must still converge
                outcome["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                loads_done.set()

        threads = [threading.Thread(target=write), threading.Thread(target=load)]
        for thread in threads:
            thread.start()
        try:
            deliver(
                StreamReader(streams, stream_arn),
                proxy,
                worker,
                random.Random(SEED + 2),
                figures,
                writes_done,
                node,
                operations=WRITES_PER_RESTART_WINDOW,
            )
        finally:
            loads_done.set()
            for thread in threads:
                thread.join(timeout=120)
            worker.stop()
        proxy.calm()

    direct = open_target(
        settings_from({**env, "OPENSEARCH_ENDPOINT": node.url}), unique_name, dynamodb_endpoint=moto_endpoint
    )
    audited = audit(direct, AuditOptions(segments=2, recheck_after=0), progress=Progress("audit", show=()))
    verdict = index_oracle.judge_target(direct, deleted=deleted)
    print(f"\nexport storm: {outcome}; writes {figures.writes_done}; deliveries {dict(figures.deliveries)}")
    print(f"OpenSearch restarts: {node.restarts}; oracle: {verdict}")
    assert "error" not in outcome, outcome
    assert outcome["reindex"] == f"{unique_name}-v2"
    assert verdict.clean, str(verdict)
    assert audited.clean, audited.summary(max_examples=10)
    assert node.restarts == len(RESTART_AT)
    assert figures.deliveries["handler killed mid-batch"] > 0
    assert deleted
