"""The bulk-load benchmark's workers: each one a process that runs file children as Lambda runs them.

A worker is one execution environment of the export function: its own interpreter (spawned, not forked),
the function's environment variables, ``export_function.handler`` imported and its target built once (the
cold start, timed and reported apart), then one invocation after another, each with a fresh Lambda context of
900 s, one file child at a time. A child's ``partial`` answer is invoked again and ``throttled`` waits the
seconds it asks for, as the state machine's Choice and Wait states do
(``modules/bulk-load/state_machine.asl.json``).

Workers take file items from one queue shared by the run, so a free worker takes the next file as the
Distributed Map gives a free slot the next item. Each reports what it did: files, invocations, its own CPU
time (``time.process_time``: decode, projection, serialisation, gzip and the HTTP clients), the wall time it
was busy, and every S3 request its clients made (counted by operation and timed from botocore's
``before-call``/``after-call`` events, so reading a data file's body, which streams after the call, is not in
the S3 time).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

FUNCTION_NAME = "books-bulk-load-bench"
TIMEOUT_SECONDS = 900.0  # the module's default timeout: the export function's Lambda context


@dataclass
class WorkerReport:
    """What one worker did in one run."""

    files: int = 0
    invocations: int = 0
    partial: int = 0
    throttled: int = 0
    scanned: int = 0
    cpu_seconds: float = 0.0
    busy_seconds: float = 0.0
    s3_seconds: float = 0.0
    s3_requests: dict[str, int] = field(default_factory=dict)


class S3Meter:
    """Counts and times the S3 calls of every client made from one boto3 session (the export handler makes a
    new S3 client per invocation, from the target's session, so the handlers are registered there)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.seconds = 0.0

    def attach(self, session: Any) -> None:
        session.events.register("before-call.s3", self._before)
        session.events.register("after-call.s3", self._after)

    def _before(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        context["bench_started"] = time.perf_counter()

    def _after(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        self.requests[model.name] += 1
        self.seconds += time.perf_counter() - context.pop("bench_started", time.perf_counter())

    def take(self) -> tuple[dict[str, int], float]:
        taken = dict(self.requests), self.seconds
        self.requests, self.seconds = Counter(), 0.0
        return taken


def file_event(run: str, item: dict[str, Any]) -> dict[str, Any]:
    """The file child's payload, as the Files Map's ItemSelector builds it for a backfill."""
    return {
        "action": "file",
        "run": run,
        "mode": "backfill",
        "entity": None,
        "repair": False,
        "index": None,
        "file": item,
    }


def _serve(conn: Connection, items: Any, env: dict[str, str]) -> None:
    """A worker's life: cold start, then one run after another until the coordinator sends None."""
    try:
        started = time.perf_counter()
        os.environ.update(env)
        import export_function  # the handler Lambda imports: its cold start

        from indexer.ops import bulk_load
        from support.stream_records import LambdaContext

        target = bulk_load._base_target()  # built once per environment, as the handler's first call does
        meter = S3Meter()
        meter.attach(target.session)
        conn.send(("ready", time.perf_counter() - started))
        while (run := conn.recv()) is not None:
            report = WorkerReport()
            meter.take()
            while (item := items.get()) is not None:
                _load_file(export_function.handler, LambdaContext, run, item, report)
            report.s3_requests, report.s3_seconds = meter.take()
            conn.send(("report", report))
    except Exception:  # the coordinator reports it and fails the benchmark
        conn.send(("error", traceback.format_exc()))


def _load_file(handler: Any, context_type: Any, run: str, item: dict[str, Any], report: WorkerReport) -> None:
    event = file_event(run, item)
    report.files += 1
    while True:
        cpu, wall = time.process_time(), time.perf_counter()
        answer = handler(event, context_type(TIMEOUT_SECONDS, function_name=FUNCTION_NAME))
        report.cpu_seconds += time.process_time() - cpu
        report.busy_seconds += time.perf_counter() - wall
        report.invocations += 1
        status = answer["status"]
        if status == "done":
            report.scanned += int(answer["counts"].get("scanned", 0))
            return
        if status == "failed":
            raise RuntimeError(f"file {item.get('n')} failed: {answer}")
        if status == "throttled":
            report.throttled += 1
            time.sleep(float(answer["wait_seconds"]))
        else:
            report.partial += 1


class WorkerPool:
    """``size`` worker processes, started and warmed once; ``run`` hands a run's files to the first
    ``workers`` of them and returns their reports and the wall time from the first file handed out to the
    last report."""

    def __init__(self, size: int, env: dict[str, str]) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter each, as Lambda's environments
        self._items = context.Queue()
        self._conns: list[Connection] = []
        self._processes = []
        for _ in range(size):
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child, self._items, env), daemon=True)
            process.start()
            self._conns.append(parent)
            self._processes.append(process)
        self.cold_starts = [float(self._receive(conn, "ready")) for conn in self._conns]

    def run(self, run: str, files: list[dict[str, Any]], workers: int) -> tuple[float, list[WorkerReport]]:
        if not 1 <= workers <= len(self._conns):
            raise ValueError(f"workers must be 1 to {len(self._conns)}, got {workers}")
        for item in files:
            self._items.put(item)
        for _ in range(workers):
            self._items.put(None)  # one end marker for each worker of this run
        started = time.perf_counter()
        for conn in self._conns[:workers]:
            conn.send(run)
        reports = [self._receive(conn, "report") for conn in self._conns[:workers]]
        return time.perf_counter() - started, reports

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):  # a worker that failed has gone already
                conn.send(None)
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _receive(conn: Connection, expected: str) -> Any:
        kind, value = conn.recv()
        if kind == "error":
            raise RuntimeError(f"a bulk-load worker failed:\n{value}")
        if kind != expected:
            raise RuntimeError(f"a bulk-load worker answered {kind!r}, expected {expected!r}")
        return value
