"""Live traffic for the operations tests: a streamed table, the stream Lambda in a thread, a writer thread."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from indexer import batch
from indexer.ops.target import Target
from support.streams import LambdaContext, StreamReader


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

    def reader(self, skip_existing: bool = True, aws_shaped: bool = True) -> StreamReader:
        """A stream reader; with ``skip_existing`` the records written so far are consumed and dropped
        (the seed plays the items that existed before the stream was enabled); ``aws_shaped=False`` keeps
        moto's own sequence numbers, for records whose numbers go back to moto's stream API."""
        reader = StreamReader(self.streams, self.stream_arn, aws_shaped=aws_shaped)
        if skip_existing:
            reader.read()
        return reader


def book(doc_id: str, n: int, edition: int = 1) -> dict[str, Any]:
    """A book as this project's writers store it: ``version`` is the write counter every writer increments
    (the API: POST writes 1, PUT adds 1). Editions only grow in these tests, so the edition serves as it, and
    a re-created item continues it (indexer.versions)."""
    return {
        "id": doc_id,
        "title": f"Title {n} edition {edition}",
        "author": f"Author {n % 37}",
        "year": 1900 + n % 120,
        "edition": edition,
        "version": edition,
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

    @property
    def running(self) -> bool:
        return not self._stop.is_set()

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


def interleave(target: Target, live: Writer, writes_per_page: int = 2, timeout: float = 10.0) -> None:
    """Before each Scan page the tool requests, wait until the writer has made ``writes_per_page`` more
    writes: live traffic is guaranteed to fall between the pages however slow the machine is."""
    scan = target.dynamodb.scan
    seen = [live.writes]
    lock = threading.Lock()

    def paced(**request: Any) -> Any:
        with lock:
            deadline = time.monotonic() + timeout
            while live.running and live.writes < seen[0] + writes_per_page and time.monotonic() < deadline:
                time.sleep(0.005)
            seen[0] = live.writes
        return scan(**request)

    object.__setattr__(target, "dynamodb", ClientWith(target.dynamodb, scan=paced))


class ClientWith:
    """A boto3 client with some methods replaced."""

    def __init__(self, client: Any, **methods: Any) -> None:
        self._client = client
        self.__dict__.update(methods)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def around_bulk_requests(client: Any, before: Any = None, after: Any = None) -> None:
    """Calls ``before(body)`` ahead of and ``after(body, answer)`` behind every ``_bulk`` request ``client``
    sends, where the bulk writer sends them: on the transport's connection (one pre-built body a request)."""
    connection = client.transport.get_connection()
    perform = connection.perform_request

    def perform_request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        bulk = urlsplit(url).path.endswith("/_bulk")  # alias writes carry ?require_alias=true
        body = kwargs.get("body", args[1] if len(args) > 1 else b"")
        if bulk and before is not None:
            before(body)
        answer = perform(method, url, *args, **kwargs)
        if bulk and after is not None:
            after(body, json.loads(answer[2]))
        return answer

    connection.perform_request = perform_request


def on_failure_message(
    stream_arn: str,
    shard_id: str,
    records: list[dict[str, Any]],
    arrivals: tuple[str, str] = ("2026-11-23T11:59:58Z", "2026-11-23T11:59:59Z"),
) -> str:
    """What Lambda sends to an on-failure destination for a DynamoDB stream batch: a range, no records."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return json.dumps(
        {
            "requestContext": {
                "requestId": "c9b7e0f4-0000-4000-8000-000000000000",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:books-indexer",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 3,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": "2026-11-23T12:00:00.000Z",
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrivals[0],
                "approximateArrivalOfLastRecord": arrivals[1],
                "batchSize": len(records),
                "streamArn": stream_arn,
            },
        }
    )
