"""The fault storm's machinery: a Lambda container to kill, Lambda's event source mapping misbehaving, and
OpenSearch restarting under it. Used by the storms of ``test_fault_storm.py`` (a flat books table) and
``test_single_table_storm.py`` (a single-table design with folded documents)."""

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.fault_proxy import FaultProxy, RequestFault
from support.restartable_search import RestartableSearch
from support.streams import StreamReader

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("lambda_worker.py")
SEED = int(os.environ.get("STORM_SEED", "20261123"))
OPERATIONS = int(os.environ.get("STORM_OPERATIONS", "800"))
# The delivery loop fails when the stream's position has not moved for this long (a stuck shard), not on
# total wall time: how long a storm takes depends on the machine's load (speed is the benchmarks' business).
STORM_STALL_SECONDS = 90
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
    operations: int = OPERATIONS,
    victim_id: Callable[[dict[str, Any]], str] = lambda record: record["dynamodb"]["Keys"]["id"]["S"],
) -> None:
    """Lambda's event source mapping, misbehaving: kills, short deadlines, duplicates, stale replays, and
    OpenSearch restarting under it. ``victim_id`` names the document a record writes (for item faults)."""
    stream: list[dict[str, Any]] = []
    position = 0
    done_batches: list[list[dict[str, Any]]] = []
    stuck = 0
    restarts = list(RESTART_AT)
    moved_at, seen = time.monotonic(), (position, len(stream))
    while True:
        if (position, len(stream)) != seen:  # delivered further, or the stream grew
            moved_at, seen = time.monotonic(), (position, len(stream))
        assert time.monotonic() - moved_at < STORM_STALL_SECONDS, (
            f"stuck for {STORM_STALL_SECONDS} s at {position} of {len(stream)} records; {figures}"
        )
        if restarts and figures.writes_done >= restarts[0] * operations:
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
            victim = victim_id(rng.choice(batch[1:]))
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
