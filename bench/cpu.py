"""Indexer CPU time per record with OpenSearch replaced by an instant responder: the Python floor.

The responder (``bench.instant_responder``) runs in its own process and acknowledges every ``_bulk`` action,
so this process's CPU time is the indexer's own work: decoding stream records, projecting documents,
serialising bulk bodies, the HTTP client and parsing the answers. A second figure times decode + project
alone (no HTTP), from the same records. Run alone: ``.venv/bin/python -m bench.cpu``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from bench import records, results, servers
from bench.throughput import configure_indexer

NAME = "cpu"


def best_of(rounds: int, run: Any) -> tuple[float, float]:
    """The lowest (cpu seconds, wall seconds) over ``rounds`` runs: the least disturbed measurement."""
    measured = []
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        run()
        measured.append((time.process_time() - cpu, time.perf_counter() - wall))
    return min(measured)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    workload = records.generate(args.records)
    events = list(records.batches(workload.records, args.batch_size))
    context = records.FakeContext()
    with servers.instant_opensearch() as url:
        configure_indexer(url, "books")
        os.environ["CREATE_INDEX"] = "false"  # the responder keeps no indices: nothing to check or create
        from indexer.batch import process_event
        from indexer.changes import decode_record
        from indexer.documents import build_action
        from indexer.settings import Settings

        settings = Settings.from_env()
        keys = settings.keys

        def whole_path() -> None:
            for event in events:
                response = process_event(event, context)
                if response.get("batchItemFailures"):
                    raise AssertionError(f"failures against an instant responder: {response}")

        def decode_and_project() -> None:
            for record in workload.records:
                if build_action(decode_record(record, keys), settings, None) is None:
                    raise AssertionError("a book was projected to nothing")

        whole_path()  # warm-up: cold start, index check, connection
        cpu_s, wall_s = best_of(args.rounds, whole_path)
        project_cpu_s, _ = best_of(args.rounds, decode_and_project)

    figures = {
        "records": args.records,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "cpu_us_per_record": round(cpu_s / args.records * 1e6, 1),
        "wall_us_per_record": round(wall_s / args.records * 1e6, 1),
        "decode_project_cpu_us_per_record": round(project_cpu_s / args.records * 1e6, 1),
        "records_per_cpu_second": round(args.records / cpu_s),
    }
    results.save(NAME, figures)
    return figures


if __name__ == "__main__":
    main()
