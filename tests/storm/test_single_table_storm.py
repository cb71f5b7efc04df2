"""Fault storm on a single-table design: folded orders and flat customers, under all the books storm does.

The writes are ``support.single_table``'s: order rows put, updated and deleted (a parent deleted under its
children, children before their parent), line items moved between orders in transactions, customers with
their write counter. The stream is delivered by the storm's misbehaving event source mapping
(``delivery_storm``): a Lambda container killed mid-batch, short deadlines, per-item and whole-request
429/503, slow and dropped connections through the fault proxy, duplicates, stale replays out of order, and
two OpenSearch restarts, each followed by a replay of every batch delivered so far; meanwhile ``indexer.ops``
backfills the table again and again through the same proxy. At the end the folding oracle (the table read
directly, every document rebuilt by its own code) must find nothing lost, stale, resurrected or orphaned, and
the tool's audit of every entity must be clean.

``STORM_PROCESSOR=naive`` runs the same storm with the write-up's append-on-every-event scheme in the Lambda
container (``support.naive_folding``) instead of the indexer, and without the backfills (the write-up has
none, and ours would repair what the naive Lambda breaks): the oracle then finds stale documents.
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
from indexer.ops.entity_targets import entities_of, for_entity
from indexer.ops.progress import Progress
from indexer.ops.target import open_target, settings_from
from support.fault_proxy import FaultProxy
from support.folding_oracle import judge_entities
from support.restartable_search import RestartableSearch
from support.single_table import (
    CHILD_KEYS,
    PARTITION_KEY,
    SORT_KEY,
    Put,
    Writer,
    entity_config,
    random_operation,
)
from support.streams import StreamReader, clients, create_streamed_table

OPERATIONS = int(os.environ.get("STORM_SINGLE_TABLE_OPERATIONS", "500"))
NAIVE = os.environ.get("STORM_PROCESSOR") == "naive"
ORDERS = [f"ORDER#{n}" for n in range(25)]
CUSTOMERS = [f"CUSTOMER#{n}" for n in range(5)]


def document_id(record: dict[str, Any]) -> str:
    """The document a record touches: its order's (the partition key) or its customer's (the key)."""
    keys = record["dynamodb"]["Keys"]
    partition, sort = keys[PARTITION_KEY]["S"], keys[SORT_KEY]["S"]
    return (
        partition if partition.startswith("ORDER#") else json.dumps([partition, sort], separators=(",", ":"))
    )


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RestartableSearch]:
    with RestartableSearch(tmp_path / "opensearch.log") as running:
        yield running


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_single_table_storm_loses_nothing(
    moto_endpoint: str, node: RestartableSearch, unique_name: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    print(f"\nsingle-table storm: seed {SEED}, {OPERATIONS} operations")
    dynamodb, streams = clients(moto_endpoint)
    stream_arn = create_streamed_table(dynamodb, unique_name, (PARTITION_KEY, "S"), (SORT_KEY, "S"))
    config = entity_config(unique_name)
    writer = Writer(dynamodb, unique_name)
    seed_rng = random.Random(SEED)
    for n, order in enumerate(ORDERS):  # rows that exist before the first backfill
        writer.apply(Put(order, order, n))
        for kind in seed_rng.sample(CHILD_KEYS, 3):
            writer.apply(Put(order, kind, n))
    figures = Figures()

    with FaultProxy(node.url) as proxy:
        env = {
            **os.environ,
            **HANDLER_ENV,
            "OPENSEARCH_ENDPOINT": proxy.url,
            "TABLE_NAME": unique_name,
            "TABLE_PARTITION_KEY": PARTITION_KEY,
            "TABLE_SORT_KEY": SORT_KEY,
            "ENTITY_CONFIG": json.dumps(config),
            "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,  # the handler's Query of a partition
            "PYTHONPATH": str(ROOT / "artifacts" / "update_indices" / "lambda"),
        }
        through_proxy = open_target(settings_from(env), unique_name, dynamodb_endpoint=moto_endpoint)
        for entity in entities_of(through_proxy, None):
            ensure_index(through_proxy.search, for_entity(through_proxy, entity).settings)
        proxy.fail_requests(*REQUEST_FAULTS)
        proxy.storm(item_rate=0.05, request_rate=0.15, request_faults=REQUEST_FAULTS, seed=SEED)

        worker = LambdaWorker(env, tmp_path / "worker.log")
        writes_done = threading.Event()
        backfill_outcome: dict[str, Any] = {}

        def run_writes() -> None:
            rng = random.Random(SEED + 1)
            try:
                for number in range(1, OPERATIONS + 1):
                    operation = random_operation(rng, ORDERS, CUSTOMERS)
                    writer.apply(operation)
                    figures.operations[type(operation).__name__] += 1
                    figures.writes_done = number
                    time.sleep(rng.uniform(0, 0.02))
            finally:
                writes_done.set()

        def run_backfills() -> None:
            totals: Counter[str] = Counter()
            if NAIVE:
                backfill_outcome["runs"] = 2  # none, see the module's docstring
                return
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
            except Exception as exc:
                backfill_outcome["error"] = f"{type(exc).__name__}: {exc}"
            backfill_outcome.update(totals)

        threads = [threading.Thread(target=run_writes), threading.Thread(target=run_backfills)]
        for thread in threads:
            thread.start()
        try:
            reader = StreamReader(streams, stream_arn)
            deliver(
                reader,
                proxy,
                worker,
                random.Random(SEED + 2),
                figures,
                writes_done,
                node,
                operations=OPERATIONS,
                victim_id=document_id,
            )
        finally:
            for thread in threads:
                thread.join(timeout=60)
            worker.stop()
        proxy.calm()
        faults = faults_by_kind(proxy)

    direct = open_target(
        settings_from({**env, "OPENSEARCH_ENDPOINT": node.url}), unique_name, dynamodb_endpoint=moto_endpoint
    )
    audits = {
        entity.name: audit(
            for_entity(direct, entity),
            AuditOptions(segments=2, recheck_after=0),
            progress=Progress("audit", show=()),
        )
        for entity in entities_of(direct, None)
    }
    deleted = {
        f"{unique_name}-orders": writer.deleted_orders,
        f"{unique_name}-customers": writer.deleted_customers,
    }
    verdicts = judge_entities(
        dynamodb, unique_name, node.url, config, PARTITION_KEY, SORT_KEY, deleted=deleted
    )

    print(f"operations: {dict(figures.operations)}; stream records: {figures.stream_records}")
    print(f"deliveries: {dict(figures.deliveries)}; handler processes started: {worker.starts}")
    print(f"faults injected: {dict(sorted(faults.items()))}")
    print(f"backfills: {backfill_outcome}")
    for name, result in audits.items():
        print(f"audit {name}: {json.dumps(result.summary(max_examples=5))}")
    print(f"OpenSearch restarts: {node.restarts} ({node.restored_documents} documents carried over)")
    print(f"oracle: { ({index: str(verdict) for index, verdict in verdicts.items()}) }")
    print(f"storm took {time.monotonic() - started:.1f} s")

    for index, verdict in verdicts.items():
        assert verdict.clean, f"{index}: {verdict}"
    for name, result in audits.items():
        assert result.clean, f"{name}: {result.summary(max_examples=10)}"
    assert "error" not in backfill_outcome, backfill_outcome
    for kind in ("item 429", "request 429", "request 503", "dropped connection"):
        assert faults[kind] > 0, f"no {kind} fault was injected: {dict(faults)}"
    assert figures.deliveries["handler killed mid-batch"] > 0
    assert figures.deliveries["duplicate deliveries"] > 0
    assert figures.deliveries["stale replays, out of order"] > 0
    assert figures.operations["Delete"] > 0
    assert figures.operations["Transaction"] > 0
    assert backfill_outcome["runs"] > 1
    assert node.restarts == len(RESTART_AT)
