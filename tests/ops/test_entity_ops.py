"""The operations tool with ENTITY_CONFIG: every command builds the same folded documents as the stream.

A single-table design (``support.single_table``'s configuration: orders folded with their line items,
shipments and payment; customers flat) on moto, the stream processed by the Lambda's own code in a thread,
live writes while the tool runs; judged by the independent folding oracle, which reads the table directly.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from ops.traffic import on_failure_message

from indexer import batch
from indexer.ops.__main__ import main
from support.folding_oracle import judge_entities
from support.single_table import (
    CHILD_KEYS,
    PARTITION_KEY,
    SORT_KEY,
    Delete,
    Put,
    Writer,
    entity_config,
    random_operation,
)
from support.stream_records import LambdaContext
from support.streams import StreamReader, clients, create_streamed_table

ORDERS = [f"ORDER#{n}" for n in range(40)]
CUSTOMERS = [f"CUSTOMER#{n}" for n in range(8)]


@dataclass
class Design:
    table: str
    env: dict[str, str]
    dynamodb: Any
    streams: Any
    stream_arn: str
    writer: Writer
    opensearch_url: str
    config: dict[str, Any] = field(default_factory=dict)

    def ops(self, *argv: str) -> tuple[int, dict[str, Any]]:
        """``python -m indexer.ops`` in-process: (exit code, its JSON result, or {} when it printed none)."""
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main([*argv, "--table", self.table], self.env)
        lines = out.getvalue().strip().splitlines()
        return code, json.loads(lines[-1]) if lines else {}

    def judge(self) -> None:
        deleted = {f"{self.table}-orders": self.writer.deleted_orders}
        verdicts = judge_entities(
            self.dynamodb,
            self.table,
            self.opensearch_url,
            self.config,
            PARTITION_KEY,
            SORT_KEY,
            deleted=deleted,
        )
        for index, verdict in verdicts.items():
            assert verdict.clean, f"{index}: {verdict}"


@pytest.fixture
def design(
    moto_endpoint: str, strict_opensearch_url: str, opensearch_url: str, unique_name: str, monkeypatch: Any
) -> Iterator[Design]:
    dynamodb, streams = clients(moto_endpoint)
    arn = create_streamed_table(dynamodb, unique_name, (PARTITION_KEY, "S"), (SORT_KEY, "S"))
    env = {
        "OPENSEARCH_ENDPOINT": strict_opensearch_url,
        "OPENSEARCH_AUTH": "none",
        "AWS_REGION": "us-east-1",
        "TABLE_NAME": unique_name,
        "TABLE_PARTITION_KEY": PARTITION_KEY,
        "TABLE_SORT_KEY": SORT_KEY,
        "ENTITY_CONFIG": json.dumps(entity_config(unique_name)),
        "DYNAMODB_ENDPOINT": moto_endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,  # the Lambda's table reads, as the local stack sets it
        "RETRY_INITIAL_BACKOFF_SECONDS": "0.01",
        "RETRY_MAX_BACKOFF_SECONDS": "0.05",
        "LOG_LEVEL": "WARNING",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    batch.reset_runtime()
    yield Design(
        unique_name,
        env,
        dynamodb,
        streams,
        arn,
        Writer(dynamodb, unique_name),
        opensearch_url,
        entity_config(unique_name),
    )
    batch.reset_runtime()


def seed(design: Design, rng: random.Random) -> None:
    """Orders with their rows and customers, written before the stream is read (existing items)."""
    for n, order in enumerate(ORDERS):
        design.writer.apply(Put(order, order, n))
        for kind in rng.sample(CHILD_KEYS, 3):
            design.writer.apply(Put(order, kind, n))
    for n, customer in enumerate(CUSTOMERS):
        design.writer.apply(Put(customer, "PROFILE", n))


class Traffic:
    """Random writes and the stream Lambda, each in a thread, until stopped; then the stream is drained."""

    def __init__(self, design: Design, seed: int) -> None:
        self.design, self.rng = design, random.Random(seed)
        self.reader = StreamReader(design.streams, design.stream_arn)
        self.reader.read()  # the seed: items that existed before the stream was read
        self.failures: list[Any] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write), threading.Thread(target=self._deliver)]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        while self._step():
            pass
        assert self.failures == []

    def _write(self) -> None:
        while not self._stop.is_set():
            self.design.writer.apply(random_operation(self.rng, ORDERS, CUSTOMERS))
            time.sleep(0.005)

    def _deliver(self) -> None:
        while not self._stop.is_set():
            if not self._step():
                time.sleep(0.05)

    def _step(self) -> int:
        records = self.reader.read()
        for start in range(0, len(records), 25):
            answer = batch.process_event({"Records": records[start : start + 25]}, LambdaContext(60))
            self.failures.extend(answer["batchItemFailures"])
        return len(records)


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
