"""The operations tool with ENTITY_CONFIG: every command builds the same folded documents as the stream.

A single-table design (``support.single_table``'s configuration: orders folded with their line items,
shipments and payment; customers flat) on moto, the stream processed by the Lambda's own code in a thread,
live writes while the tool runs; judged by the independent folding oracle, which reads the table directly.
"""

from __future__ import annotations

import random

from ops.single_table_ops import Design, Traffic, design, seed
from ops.traffic import on_failure_message

from support.single_table import PARTITION_KEY, SORT_KEY, Delete, Put
from support.streams import StreamReader

__all__ = ["design"]  # the fixture, used by name


def test_backfill_under_live_writes_builds_every_folded_document_and_the_audit_agrees(design: Design) -> None:
    seed(design, random.Random(1))
    with Traffic(design, seed=2):
        code, result = design.ops("backfill", "--segments", "3", "--page-size", "25")
        assert code == 0, result
    design.judge()
    code, result = design.ops("audit", "--recheck-after", "0")
    assert code == 0, result
    assert set(result["entities"]) == {"order", "customer"}
    assert result["entities"]["order"]["index_documents"] > 0


def test_the_audit_finds_and_repairs_missing_stale_and_orphaned_folded_documents(design: Design) -> None:
    seed(design, random.Random(3))
    code, _ = design.ops("backfill")
    assert code == 0
    from opensearchpy import OpenSearch

    search = OpenSearch(hosts=[design.opensearch_url])
    orders = f"{design.table}-orders"
    search.delete(index=orders, id="ORDER#1", refresh=True)  # missing
    search.index(index=orders, id="ORDER#2", body={"status": "wrong"}, refresh=True)  # stale
    search.index(index=orders, id="ORDER#999", body={"status": "ghost"}, refresh=True)  # orphaned
    design.dynamodb.delete_item(  # the order's root row goes, its document stays (no stream here): orphaned
        TableName=design.table, Key={PARTITION_KEY: {"S": "ORDER#3"}, SORT_KEY: {"S": "ORDER#3"}}
    )
    code, result = design.ops("audit", "--entity", "order", "--recheck-after", "0", "--repair")
    assert code == 1
    assert (result["missing"], result["stale"], result["orphaned"]) == (1, 1, 2), result
    assert sorted(result["orphaned_examples"]) == ["ORDER#3", "ORDER#999"]
    assert result["repaired"] == 4
    design.judge()
    code, result = design.ops("audit", "--entity", "order", "--recheck-after", "0")
    assert code == 0, result


def test_reindex_of_the_folded_entity_under_live_writes_ends_equal_to_the_table(design: Design) -> None:
    seed(design, random.Random(4))
    code, _ = design.ops("backfill")
    assert code == 0
    with Traffic(design, seed=5):
        code, result = design.ops("reindex", "--entity", "order", "--recheck-after", "1")
        assert code == 0, result
    assert result["new_index"] == f"{design.table}-orders-v2"
    design.judge()
    code, result = design.ops("reindex", "--recheck-after", "0")  # two entities: which one?
    assert code == 2


def test_replaying_a_dead_lettered_batch_rebuilds_its_orders_from_the_table(design: Design) -> None:
    seed(design, random.Random(6))
    code, _ = design.ops("backfill")
    assert code == 0
    reader = StreamReader(design.streams, design.stream_arn, aws_shaped=False)
    reader.read()
    design.writer.apply(Put("ORDER#5", "ITEM#2", 9))
    design.writer.apply(Delete("ORDER#6", "ORDER#6"))
    design.writer.apply(Put("CUSTOMER#1", "PROFILE", 9))
    records = reader.read()
    shard = design.streams.describe_stream(StreamArn=design.stream_arn)["StreamDescription"]["Shards"][0]
    sqs = __import__("boto3").client(
        "sqs", endpoint_url=design.env["DYNAMODB_ENDPOINT"], region_name="us-east-1"
    )
    url = sqs.create_queue(QueueName=f"{design.table}-dlq")["QueueUrl"]
    for source in ("stream", "table"):
        sqs.send_message(
            QueueUrl=url, MessageBody=on_failure_message(design.stream_arn, shard["ShardId"], records)
        )
        code, result = design.ops(
            "replay-dlq",
            "--queue-url",
            url,
            "--source",
            source,
            "--wait-seconds",
            "0",
            "--settle-seconds",
            "0",
        )
        assert code == 0, result
        assert result["replayed"] == 1
        design.judge()
