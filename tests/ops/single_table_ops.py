"""A single-table design for the operations tests: the table and settings (``design``), a seed, and live
traffic (random writes and the stream Lambda, each in a thread)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from indexer import batch
from indexer.ops.__main__ import main
from support.folding_oracle import judge_entities
from support.single_table import (
    CHILD_KEYS,
    PARTITION_KEY,
    SORT_KEY,
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
