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
import statistics
import time
from typing import Any

from bench import records, results, servers
from bench.throughput import configure_indexer

NAME = "cpu"


def interleaved(rounds: int, runs: dict[str, Any]) -> dict[str, list[tuple[float, float]]]:
    """(cpu seconds, wall seconds) of every run in ``runs``, ``rounds`` times, the runs taking turns in an
    order that rotates from round to round, so drift in the machine's load falls on all of them alike."""
    names = list(runs)
    measured: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for turn in range(rounds):
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            cpu, wall = time.process_time(), time.perf_counter()
            runs[name]()
            measured[name].append((time.process_time() - cpu, time.perf_counter() - wall))
    return measured


def median_of(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(c for c, _ in samples), statistics.median(w for _, w in samples)


def profile_top(run: Any, lines: int = 8) -> str:
    """The ``lines`` functions with the most own CPU time during ``run()``, as pstats prints them."""
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(run)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    text = out.getvalue()
    table = text[text.index("   ncalls") :].rstrip()
    return re.sub(r"\S*/(site-packages|lambda|lib/python3\.\d+)/", "", table)  # short module paths


def http_client_costs(connection: Any, url: str, body: bytes, requests_count: int = 300) -> dict[str, float]:
    """CPU µs per ``_bulk`` request of ``body``: through the indexer's connection (opensearch-py's
    RequestsHttpConnection: requests, urllib3) and through bare ``http.client`` on one keep-alive
    connection, the least any Python client does (send the body, read and parse nothing but the answer)."""
    import http.client
    from urllib.parse import urlsplit

    def through_client() -> None:
        for _ in range(requests_count):
            connection.perform_request("POST", "/books/_bulk", body=body)

    parts = urlsplit(url)
    bare = http.client.HTTPConnection(parts.hostname, parts.port)

    def through_http_client() -> None:
        for _ in range(requests_count):
            bare.request("POST", "/books/_bulk", body=body, headers={"Content-Type": "application/json"})
            bare.getresponse().read()

    through_client(), through_http_client()  # warm-up: connections open
    measured = interleaved(5, {"client": through_client, "bare": through_http_client})
    client_cpu, _ = median_of(measured["client"])
    bare_cpu, _ = median_of(measured["bare"])
    bare.close()
    return {
        "http_client_cpu_us_per_request": round(client_cpu / requests_count * 1e6, 1),
        "bare_http_cpu_us_per_request": round(bare_cpu / requests_count * 1e6, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds after a warm-up (>= 5)")
    args = parser.parse_args(argv)
    if args.rounds < 5:
        parser.error("--rounds must be at least 5: figures are medians of at least 5 runs")

    workload = records.generate(args.records)
    events = list(records.batches(workload.records, args.batch_size))
    context = records.FakeContext()
    with servers.instant_opensearch() as url:
        configure_indexer(url, "books")
        os.environ["CREATE_INDEX"] = "false"  # the responder keeps no indices: nothing to check or create
        from indexer.batch import get_runtime, process_event
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
        measured = interleaved(args.rounds, {"whole": whole_path, "project": decode_and_project})
        cpu_s, wall_s = median_of(measured["whole"])
        project_cpu_s, _ = median_of(measured["project"])
        cpu_min_s = min(c for c, _ in measured["whole"])
        top = profile_top(whole_path)
        body = _first_body(events[0], settings)
        http_costs = http_client_costs(get_runtime().client.transport.get_connection(), url, body)

    figures = {
        "records": args.records,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "cpu_us_per_record": round(cpu_s / args.records * 1e6, 1),
        "cpu_us_per_record_min": round(cpu_min_s / args.records * 1e6, 1),
        "wall_us_per_record": round(wall_s / args.records * 1e6, 1),
        "decode_project_cpu_us_per_record": round(project_cpu_s / args.records * 1e6, 1),
        "records_per_cpu_second": round(args.records / cpu_s),
        "profile_top": top,
        **http_costs,
    }
    cpu_us = figures["cpu_us_per_record"]
    client_cost = http_costs["http_client_cpu_us_per_request"]
    bare_cost = http_costs["bare_http_cpu_us_per_request"]
    over_bare = (client_cost - bare_cost) / args.batch_size
    figures["why"] = {
        "cpu_us_per_record": (
            f"decode + project take {figures['decode_project_cpu_us_per_record']} µs; the HTTP client takes "
            f"{client_cost:.0f} µs of CPU per request of {args.batch_size} actions where bare http.client "
            f"takes {bare_cost:.0f} µs, so requests (which requests-aws4auth's SigV4 signing needs) costs "
            f"{over_bare:.1f} µs a record over the bare minimum; without it the whole path would be "
            f"{cpu_us - over_bare:.1f} µs"
        )
    }
    results.save(NAME, figures)
    return figures


def _first_body(event: dict[str, Any], settings: Any) -> bytes:
    """The ``_bulk`` body the indexer sends for ``event``: its actions, serialised as the writer does."""
    from indexer.bulk import _Encoded
    from indexer.changes import decode_record
    from indexer.documents import build_action

    actions = [build_action(decode_record(r, settings.keys), settings, None) for r in event["Records"]]
    return b"".join(_Encoded.of(action).lines for action in actions if action is not None)


if __name__ == "__main__":
    main()
