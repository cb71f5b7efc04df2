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
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from indexer.index_setup import ensure_index
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.progress import Progress
from indexer.ops.target import Target, open_target, settings_from
from support import index_oracle
from support.fault_proxy import FaultProxy, RequestFault
from support.restartable_search import RestartableSearch
from support.streams import StreamReader, clients, create_streamed_table

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("lambda_worker.py")
SEED = int(os.environ.get("STORM_SEED", "20261123"))
OPERATIONS = int(os.environ.get("STORM_OPERATIONS", "800"))
BOOK_IDS = 150  # a small id pool: every id is created, updated, deleted and re-created many times
STORM_BUDGET_SECONDS = 100  # the delivery loop must drain the stream within this; the test stays < 2 min
# The writes keep the item's write counter (``version``), as this project's writers do; STORM_WRITE_COUNTER=0
# runs the storm against the indexer's no-counter mode (stored sequence numbers) instead.
WRITE_COUNTER = os.environ.get("STORM_WRITE_COUNTER", "1") != "0"
RESTART_AT = (0.35, 0.7)  # OpenSearch restarts once this share of the writes is done
HANDLER_ENV = {
    "OPENSEARCH_AUTH": "none",
    "AWS_REGION": "us-east-1",
    "REQUEST_TIMEOUT_SECONDS": "1",
    "RETRY_MAX_ATTEMPTS": "4",
    "RETRY_INITIAL_BACKOFF_SECONDS": "0.02",
    "RETRY_MAX_BACKOFF_SECONDS": "0.2",
    "RETRY_DEADLINE_MARGIN_SECONDS": "0.3",
    "LOG_LEVEL": "WARNING",
}
REQUEST_FAULTS = (
    RequestFault("status", 429),
    RequestFault("status", 503),
    RequestFault("slow", delay_seconds=0.3),  # slow, inside the client's timeout
    RequestFault("slow", delay_seconds=1.5),  # beyond it: the client retries, the late write still lands
    RequestFault("drop"),
)


@dataclass
class Figures:
    operations: Counter[str] = field(default_factory=Counter)
    deliveries: Counter[str] = field(default_factory=Counter)
    stream_records: int = 0
    writes_done: int = 0


class LambdaWorker:
    """One Lambda container: a child process running ``process_event``; killed and replaced on demand."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[str] | None = None
        self.starts = 0

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-u", str(WORKER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=self.env,
                text=True,
            )
        self.starts += 1
        assert self._read_line(30) == {"ready": True}

    def _read_line(self, timeout: float) -> dict[str, Any] | None:
        assert self.process is not None
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"the worker died on its own; see {self.log}")
        return json.loads(line)

    def invoke(
        self, event: dict[str, Any], remaining_ms: int, kill_after: float | None
    ) -> dict[str, Any] | None:
        """The worker's answer, or None when it was killed (``kill_after`` seconds in) before answering."""
        if self.process is None:
            self.start()
        assert self.process is not None
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"event": event, "remaining_ms": remaining_ms}) + "\n")
        self.process.stdin.flush()
        answer = self._read_line(kill_after if kill_after is not None else 60)
        if answer is not None:
            return answer
        if kill_after is None:
            raise AssertionError(f"the handler did not answer within 60 s; see {self.log}")
        self.stop()  # SIGKILL mid-batch: no response, no cleanup, as a Lambda crash or timeout
        return None

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                if stream is not None:
                    stream.close()
            self.process = None


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


def restart_opensearch(
    node: RestartableSearch, proxy: FaultProxy, worker: LambdaWorker, done: list[list[dict[str, Any]]]
) -> None:
    """Restart the node (no write lands between its snapshot and its end), then replay every batch
    delivered so far, shuffled: late records that only the lost delete tombstones kept out."""
    with proxy.outage():
        node.restart()
    replay = [record for batch in done for record in batch]
    random.Random(len(replay)).shuffle(replay)
    for start in range(0, len(replay), 100):  # answers do not matter: these records were settled before
        worker.invoke({"Records": replay[start : start + 100]}, 15_000, None)


def deliver(
    reader: StreamReader,
    proxy: FaultProxy,
    worker: LambdaWorker,
    rng: random.Random,
    figures: Figures,
    writes_done: threading.Event,
    node: RestartableSearch,
) -> None:
    """Lambda's event source mapping, misbehaving: kills, short deadlines, duplicates, stale replays, and
    OpenSearch restarting under it."""
    stream: list[dict[str, Any]] = []
    position = 0
    done_batches: list[list[dict[str, Any]]] = []
    stuck = 0
    restarts = list(RESTART_AT)
    budget_ends = time.monotonic() + STORM_BUDGET_SECONDS
    while True:
        assert time.monotonic() < budget_ends, (
            f"stream not drained in {STORM_BUDGET_SECONDS} s: at {position} of {len(stream)}; {figures}"
        )
        if restarts and figures.writes_done >= restarts[0] * OPERATIONS:
            restarts.pop(0)
            restart_opensearch(node, proxy, worker, done_batches)
            figures.deliveries["OpenSearch restarts, then every delivered batch replayed"] += 1
        finished = writes_done.is_set()
        stream.extend(reader.read())
        if position >= len(stream):
            if finished:
                break
            time.sleep(0.05)
            continue
        batch = stream[position : position + rng.randint(1, 100)]
        short = rng.random() < 0.1
        remaining_ms = rng.randint(500, 1500) if short else 15_000
        kill_after = rng.uniform(0.005, 0.08) if rng.random() < 0.2 else None
        if len(batch) > 1 and rng.random() < 0.12:
            # One record in the middle keeps failing with 429 for every attempt the handler may make, so
            # the handler must report it and Lambda restart there, past the records before it.
            victim = rng.choice(batch[1:])["dynamodb"]["Keys"]["id"]["S"]
            proxy.fail_items(victim, *[429] * int(HANDLER_ENV["RETRY_MAX_ATTEMPTS"]))
            figures.deliveries["items forced to fail every retry"] += 1
        answer = worker.invoke({"Records": batch}, remaining_ms, kill_after)
        figures.deliveries["batches"] += 1
        if answer is None:
            figures.deliveries["handler killed mid-batch"] += 1
            continue
        if "error" in answer:
            figures.deliveries["invocation errors (whole batch retried)"] += 1
            continue
        failures = answer["response"].get("batchItemFailures") or []
        if failures:
            sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
            reported = [f["itemIdentifier"] for f in failures]
            assert set(reported) <= set(sequence_numbers), f"unknown sequence numbers reported: {reported}"
            restart = min(sequence_numbers.index(s) for s in reported)
            figures.deliveries["partial (restart at reported sequence number)"] += 1
            if restart > 0:
                figures.deliveries["restarts mid-batch"] += 1
            if short:
                figures.deliveries["deadline ran out"] += 1
            stuck = stuck + 1 if restart == 0 else 0
            assert stuck < 40, f"the shard is stuck at {batch[0]['dynamodb']['SequenceNumber']}: {failures}"
            position += restart
            continue
        stuck = 0
        position += len(batch)
        done_batches.append(batch)
        if rng.random() < 0.2:
            figures.deliveries["duplicate deliveries"] += 1
            worker.invoke({"Records": batch}, 15_000, None)
        if rng.random() < 0.2:
            figures.deliveries["stale replays, out of order"] += 1
            stale = list(rng.choice(done_batches))
            rng.shuffle(stale)
            worker.invoke({"Records": stale}, 15_000, None)
    figures.stream_records = len(stream)


def faults_by_kind(proxy: FaultProxy) -> Counter[str]:
    faults: Counter[str] = Counter()
    for request in proxy.bulk_requests():
        for _, status in request.injected_items:
            faults[f"item {status}"] += 1
        fault = request.fault
        if fault is None:
            continue
        if fault.kind == "status":
            faults[f"request {fault.status}"] += 1
        elif fault.kind == "slow":
            faults[f"slow {fault.delay_seconds:g}s"] += 1
        else:
            faults["dropped connection"] += 1
    return faults


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
