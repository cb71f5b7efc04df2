"""Local stack latency: from the API's 201 to the book being found by ``GET /search``, over 500 writes.

The stack is ``make up``'s (``books_local.stack.up``) on free ports in a temporary state directory, or an
already running one when ``BENCH_API_URL`` names it. ``--concurrency`` clients each POST a book whose title
carries a unique random word, take the time the 201 arrives, then poll ``GET /search?q=<word>`` every
``--poll-ms`` until the new id is among the results. The figure therefore includes the stream runner's
polling and batching window, the indexer, and up to one poll interval. A write not searchable within 30 s
fails the benchmark. Writes: the PNG chart of the distribution goes to docs/benchmarks-latency.png.
Run alone: ``.venv/bin/python -m bench.latency``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import string
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import ROOT, results

if TYPE_CHECKING:
    from books_local.api_credentials import ApiCredentials

NAME = "latency"
CHART = ROOT / "docs" / "benchmarks-latency.png"
INDEX_JSON = ROOT / "artifacts" / "update_indices" / "lambda" / "indexer" / "index.json"
SEARCHABLE_WITHIN_S = 30.0


@contextlib.contextmanager
def local_stack() -> Iterator[tuple[str, ApiCredentials]]:
    """The API URL of a running local stack and the key it issued (requests are SigV4-signed, as on AWS):
    ``BENCH_API_URL`` (state directory: ``BOOKS_STATE_DIR``), or a stack started (and stopped) here."""
    from books_local import api_credentials, stack
    from books_local.config import StackConfig
    from books_local.ports import free_port

    if os.environ.get("BENCH_API_URL"):
        state = StackConfig.from_env(dict(os.environ)).state.path
        credentials = api_credentials.load(api_credentials.credentials_file(state))
        yield os.environ["BENCH_API_URL"].rstrip("/"), credentials
        return

    terraform_rc = ROOT / ".cache" / "terraform.rc"
    if "TF_CLI_CONFIG_FILE" not in os.environ and terraform_rc.is_file():
        os.environ["TF_CLI_CONFIG_FILE"] = str(terraform_rc)  # the provider mirror, as `make` sets it
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as state:
        environ = {
            **os.environ,
            "BOOKS_STACK": "books",  # the API's latency: never the orders example, whatever the shell says
            "BOOKS_STATE_DIR": str(Path(state) / "state"),
            "BOOKS_API_PORT": str(free_port()),
            "MOTO_PORT": str(free_port()),
            "OPENSEARCH_PORT": str(free_port()),
        }
        environ.pop("OPENSEARCH_URL", None)
        config = StackConfig.from_env(environ)
        started = stack.up(config, say=lambda line: print(f"  stack: {line}", flush=True))
        try:
            credentials = api_credentials.load(api_credentials.credentials_file(config.state.path))
            yield started.api_url.rstrip("/"), credentials
        finally:
            stack.down(config, say=lambda line: None)


def call(method: str, url: str, credentials: ApiCredentials, body: Any = None) -> tuple[int, Any]:
    from books_local.sigv4 import sign

    data = None if body is None else json.dumps(body).encode()
    headers = sign(
        method,
        url,
        data,
        {"content-type": "application/json"} if data is not None else {},
        access_key=credentials.access_key_id,
        secret_key=credentials.secret_access_key,
        region=credentials.region,
    )
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def one_write(
    api: tuple[str, ApiCredentials], rng: random.Random, lock: threading.Lock, poll_s: float
) -> float:
    """Seconds from the 201 to the first search that finds the book."""
    with lock:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(12))
    url, credentials = api
    book = {"title": f"Latency {word}", "author": "Bench Mark"}
    status, created = call("POST", f"{url}/books", credentials, book)
    acknowledged = time.perf_counter()
    if status != 201:
        raise RuntimeError(f"POST /books answered {status}: {created}")
    book_id = created["id"]
    query = f"{url}/search?q={urllib.parse.quote(word)}"
    while True:
        status, found = call("GET", query, credentials)
        if status == 200 and any(item.get("id") == book_id for item in found.get("items", [])):
            return time.perf_counter() - acknowledged
        if time.perf_counter() - acknowledged > SEARCHABLE_WITHIN_S:
            raise RuntimeError(f"book {book_id} not searchable within {SEARCHABLE_WITHIN_S:.0f} s")
        time.sleep(poll_s)


def chart(latencies_ms: list[float], figures: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.hist(latencies_ms, bins=40, color="#4477aa", edgecolor="white")
    for name, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
        value = figures[f"{name}_ms"]
        ax.axvline(value, color="#cc3311", linestyle=style, label=f"{name} {value:.0f} ms")
    ax.set_xlabel("API 201 → found by GET /search (ms)")
    ax.set_ylabel("writes")
    ax.set_title(f"Local stack: time to searchable over {len(latencies_ms)} writes")
    ax.legend()
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--poll-ms", type=int, default=50)
    args = parser.parse_args(argv)

    rng = random.Random(500)
    lock = threading.Lock()
    poll_s = args.poll_ms / 1000
    with local_stack() as api:
        for _ in range(5):  # warm-up: first requests, connections, the indexer's first batch
            one_write(api, rng, lock, poll_s)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            seconds = list(pool.map(lambda _: one_write(api, rng, lock, poll_s), range(args.writes)))
        elapsed = time.perf_counter() - started

    latencies_ms = [s * 1000 for s in seconds]
    figures = {
        "writes": args.writes,
        "concurrency": args.concurrency,
        "poll_ms": args.poll_ms,
        "p50_ms": round(results.percentile(latencies_ms, 0.50), 1),
        "p95_ms": round(results.percentile(latencies_ms, 0.95), 1),
        "p99_ms": round(results.percentile(latencies_ms, 0.99), 1),
        "mean_ms": round(statistics.fmean(latencies_ms), 1),
        "max_ms": round(max(latencies_ms), 1),
        "min_ms": round(min(latencies_ms), 1),
        "seconds": round(elapsed, 1),
    }
    refresh = json.loads(INDEX_JSON.read_text())["settings"]["index"]["refresh_interval"]
    figures["why"] = {
        "p95_ms": (
            "measured on the OpenSearch stand-in, which makes a write searchable at once; on OpenSearch a "
            f"write becomes searchable at the next refresh (refresh_interval {refresh} in the shipped index) "
            f"and up to {refresh} more there"
        )
    }
    chart(latencies_ms, figures)
    results.save(NAME, figures)
    return figures


if __name__ == "__main__":
    main()
