"""Fixtures for the operations tool: a streamed table on moto, the stream Lambda's path, a live writer."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from opensearchpy import OpenSearch

from indexer import batch
from indexer.ops.target import Target, open_target, settings_from
from support.streams import LambdaContext, StreamReader, clients, create_streamed_table

FAST_RETRIES = {
    "RETRY_INITIAL_BACKOFF_SECONDS": "0.01",
    "RETRY_MAX_BACKOFF_SECONDS": "0.05",
    "RETRY_DEADLINE_MARGIN_SECONDS": "0.5",
}


@pytest.fixture
def env(opensearch_url: str, unique_name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The indexer's settings for a fresh alias and table; also in os.environ, as the Lambda sees them."""
    values = {
        "OPENSEARCH_ENDPOINT": opensearch_url,
        "OPENSEARCH_AUTH": "none",
        "OPENSEARCH_INDEX": unique_name,
        "INDEX_EXCLUDE_ATTRIBUTES": "secret",
        "AWS_REGION": "us-east-1",
        "TABLE_NAME": unique_name,
        **FAST_RETRIES,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    batch.reset_runtime()
    yield values
    batch.reset_runtime()


@pytest.fixture
def search(opensearch_url: str) -> OpenSearch:
    return OpenSearch(hosts=[opensearch_url])


@pytest.fixture
def table(env: dict[str, str], moto_endpoint: str) -> Table:
    dynamodb, streams = clients(moto_endpoint)
    stream_arn = create_streamed_table(dynamodb, env["TABLE_NAME"])
    resource = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    return Table(env["TABLE_NAME"], dynamodb, streams, stream_arn, resource.Table(env["TABLE_NAME"]))


@pytest.fixture
def target(env: dict[str, str], table: Table, moto_endpoint: str) -> Target:
    return open_target(settings_from(env), table.name, dynamodb_endpoint=moto_endpoint)


@dataclass
class Table:
    name: str
    dynamodb: Any
    streams: Any
    stream_arn: str
    resource: Any  # boto3 Table

    def seed(self, count: int, prefix: str = "b") -> list[str]:
        ids = [f"{prefix}{n:05d}" for n in range(count)]
        with self.resource.batch_writer() as writer:
            for n, doc_id in enumerate(ids):
                writer.put_item(Item=book(doc_id, n))
        return ids

    @staticmethod
    def book(doc_id: str, n: int, edition: int = 1) -> dict[str, Any]:
        return book(doc_id, n, edition)

    def reader(self, skip_existing: bool = True) -> StreamReader:
        """A stream reader; with ``skip_existing`` the records written so far are consumed and dropped
        (the seed plays the items that existed before the stream was enabled)."""
        reader = StreamReader(self.streams, self.stream_arn)
        if skip_existing:
            reader.read()
        return reader


def book(doc_id: str, n: int, edition: int = 1) -> dict[str, Any]:
    return {
        "id": doc_id,
        "title": f"Title {n} edition {edition}",
        "author": f"Author {n % 37}",
        "year": 1900 + n % 120,
        "edition": edition,
        "secret": "never indexed",
    }


@dataclass
class StreamConsumer:
    """The stream Lambda, in a thread: reads new records and hands them to ``indexer.batch.process_event``."""

    reader: StreamReader
    batch_size: int = 100
    processed: int = 0
    failures: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> StreamConsumer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def drain(self) -> None:
        """Stops the thread, then processes every record still on the stream."""
        self.stop()
        while self._step():
            pass

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._step():
                time.sleep(0.05)

    def _step(self) -> int:
        records = self.reader.read()
        for start in range(0, len(records), self.batch_size):
            chunk = records[start : start + self.batch_size]
            answer = batch.process_event({"Records": chunk}, LambdaContext(60))
            self.failures.extend(answer["batchItemFailures"])
            self.processed += len(chunk)
        return len(records)


@dataclass
class Writer:
    """Live traffic in a thread: updates, deletes and inserts on the table, remembering what it did."""

    table: Table
    ids: list[str]
    pause: float = 0.002
    seed: int = 7
    writes: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._rng = random.Random(self.seed)
        self.deleted: set[str] = set()
        self.inserted: list[str] = []

    def start(self) -> Writer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            roll = self._rng.random()
            if roll < 0.1:
                doc_id = f"new{n:05d}"
                self.table.resource.put_item(Item=book(doc_id, n))
                self.inserted.append(doc_id)
            elif roll < 0.2:
                doc_id = self._rng.choice(self.ids)
                self.table.resource.delete_item(Key={"id": doc_id})
                self.deleted.add(doc_id)
            else:
                doc_id = self._rng.choice(self.ids)
                self.table.resource.put_item(Item=book(doc_id, n, edition=n + 1))
            self.writes += 1
            time.sleep(self.pause)


@pytest.fixture
def consumer(table: Table) -> Iterator[Callable[[], StreamConsumer]]:
    started: list[StreamConsumer] = []

    def make() -> StreamConsumer:
        running = StreamConsumer(table.reader()).start()
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def writer(table: Table) -> Iterator[Callable[[list[str]], Writer]]:
    started: list[Writer] = []

    def make(ids: list[str]) -> Writer:
        running = Writer(table, ids).start()
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
