"""The export path's handover to the stream, with and without a write counter, and with folded documents.

An export is the table at one moment (its export time); the stream goes on. Whatever order the export's
documents and the stream's records reach OpenSearch in, the index must end equal to the table:

- with the counter (``VERSION_ATTRIBUTE``), every document carries its item's version, so the newer state
  wins whichever arrives last (``versions``);
- without it, an exported item only creates a document the index lacks (``sequence_guard``): what the stream
  wrote is a state at least as new as the export's or is followed by the item's later records, which beat a
  document without a stored sequence number; the item's records are delivered in order (DynamoDB Streams:
  "the stream records appear in the same sequence as the actual modifications to the item",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html), so its last record, after
  which nothing changes, writes the table's state last;
- a folded document is never built from the export's rows at all, only rebuilt from the table.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from ops.bulk_load_run import Run, single_copy
from ops.single_table_ops import Design, Traffic, design, seed
from ops.traffic import Table

from indexer import batch
from indexer.index_setup import ensure_index
from indexer.ops.target import Target, open_target, settings_from
from support import index_oracle
from support.stream_records import LambdaContext, lambda_event

__all__ = ["design"]


@pytest.fixture
def s3_bucket(target: Target, moto_endpoint: str, unique_name: str) -> tuple[Any, str]:
    s3 = target.client("s3", moto_endpoint)
    s3.create_bucket(Bucket=unique_name)
    return s3, unique_name


@pytest.mark.parametrize("counter", ["version", "none"])
def test_the_export_and_the_stream_end_equal_to_the_table_in_either_order(
    counter: str, env: dict[str, str], table: Table, moto_endpoint: str, s3_bucket: tuple[Any, str]
) -> None:
    target = open_target(
        settings_from({**env, "VERSION_ATTRIBUTE": counter}), table.name, dynamodb_endpoint=moto_endpoint
    )
    batch.reset_runtime()
    runtime = batch.Runtime.from_env({**env, "VERSION_ATTRIBUTE": counter})
    ids = table.seed(60)
    reader = table.reader()  # the stream from here on
    rng = random.Random(7)
    for n, doc_id in enumerate(rng.sample(ids, 30)):  # written before the export
        table.resource.put_item(Item=table.book(doc_id, n, edition=2))
    ensure_index(target.search, target.settings)
    run = Run(target, *s3_bucket)
    export = run.export()  # the table now
    for n, doc_id in enumerate(rng.sample(ids, 30)):  # written after it: newer than the export
        if n % 4 == 0:
            table.resource.delete_item(Key={"id": doc_id})
        else:
            table.resource.put_item(Item=table.book(doc_id, n, edition=3))
    records = reader.read()
    early = records[: len(records) * 2 // 3]  # processed before the export's documents land ...
    assert batch.process_batch(lambda_event(early), LambdaContext(60), runtime)["batchItemFailures"] == []
    run.through("backfill", export)  # ... the export's older states arriving after newer ones ...
    late = records[len(records) * 2 // 3 :]  # ... and the rest of the stream after them
    assert batch.process_batch(lambda_event(late), LambdaContext(60), runtime)["batchItemFailures"] == []
    assert index_oracle.judge_target(target).clean


def test_a_backfill_and_a_reindex_of_folded_orders_from_the_export_under_live_writes(
    design: Design, moto_endpoint: str
) -> None:
    seed(design, random.Random(11))
    settings = settings_from(design.env)
    target = open_target(settings, design.table, dynamodb_endpoint=moto_endpoint)
    s3 = target.client("s3", moto_endpoint)
    s3.create_bucket(Bucket=design.table)
    with Traffic(design, seed=12):
        Run(target, s3, design.table).through("backfill")
    design.judge()
    from indexer.ops.entity_targets import entities_of, for_entity

    orders = for_entity(target, entities_of(target, "order")[0])
    single_copy(orders.search, orders.alias)  # green on the one-node stand-in
    with Traffic(design, seed=13):
        prepared = Run(orders, s3, design.table).through("reindex")
    assert prepared["index"] == f"{design.table}-orders-v2"
    design.judge()
