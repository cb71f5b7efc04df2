"""Indexer CPU time per record with OpenSearch replaced by an instant responder: the Python floor.

The responder (``bench.instant_responder``) runs in its own process and acknowledges every ``_bulk`` action,
so this process's CPU time is the indexer's own work: decoding stream records, projecting documents,
serialising bulk bodies, the HTTP client and parsing the answers. A second figure times decode + project
alone (no HTTP), from the same records. ``profile_top`` is the top of a cProfile profile of one more pass of
the whole path, timed in CPU seconds (``time.process_time``) and sorted by own time, so the report shows
where the CPU goes (cProfile's own overhead inflates small, frequent functions). Run alone:
``.venv/bin/python -m bench.cpu``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
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


def profile_top(run: Any, lines: int = 8) -> str:
    """The ``lines`` functions with the most own CPU time during ``run()``, as pstats prints them."""
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(run)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    text = out.getvalue()
    table = text[text.index("   ncalls") :].rstrip()
    return re.sub(r"\S*/(site-packages|lambda|lib/python3\.\d+)/", "", table)  # short module paths


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
        top = profile_top(whole_path)

    figures = {
        "records": args.records,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "cpu_us_per_record": round(cpu_s / args.records * 1e6, 1),
        "wall_us_per_record": round(wall_s / args.records * 1e6, 1),
        "decode_project_cpu_us_per_record": round(project_cpu_s / args.records * 1e6, 1),
        "records_per_cpu_second": round(args.records / cpu_s),
        "profile_top": top,
    }
    results.save(NAME, figures)
    return figures


if __name__ == "__main__":
    main()
