"""Servers a benchmark starts for itself, as plain child processes on free loopback ports.

Each is stopped by its own pid when the ``with`` block ends; nothing here touches a process it did not start.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bench import ROOT

LOG_DIR = ROOT / ".cache" / "bench" / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 120.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until ``url`` answers at all (any HTTP status counts)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the server for {url} exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f}s") from None
            time.sleep(0.05)


@contextlib.contextmanager
def child(name: str, command: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``command`` until the block ends; yields ``url`` once it answers. Output goes to a log file."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / f"{name}.log").open("wb") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            wait_http(url, process=process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def osmem_binary() -> Path:
    spec = importlib.util.find_spec("osmem_server")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("osmem-server is not installed in this interpreter: run `make venv`")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "osmem-server"


def osmem_version() -> str:
    from importlib.metadata import version

    return version("osmem-server")


@contextlib.contextmanager
def opensearch() -> Iterator[str]:
    """An OpenSearch for the benchmark: ``BENCH_OPENSEARCH_URL`` when set, else an osmem-server process."""
    if os.environ.get("BENCH_OPENSEARCH_URL"):
        yield os.environ["BENCH_OPENSEARCH_URL"].rstrip("/")
        return
    port = free_port()
    command = [str(osmem_binary()), "-addr", f"127.0.0.1:{port}", "-no-ja", "-no-stdin-watch"]
    with child("opensearch", command, f"http://127.0.0.1:{port}") as url:
        yield url


@contextlib.contextmanager
def moto() -> Iterator[str]:
    """A moto server process (DynamoDB and the rest) on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with child("moto", command, f"http://127.0.0.1:{port}/moto-api/") as url:
        yield url.removesuffix("/moto-api/")


@contextlib.contextmanager
def instant_opensearch() -> Iterator[str]:
    """An HTTP responder in its own process that acknowledges every ``_bulk`` action at once.

    It stands in for OpenSearch when measuring the indexer's own CPU time: the responder's work runs in
    another process, so the figure is the indexer's decode, projection, serialisation and HTTP client only.
    """
    port = free_port()
    command = [sys.executable, "-m", "bench.instant_responder", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with child("instant-responder", command, f"http://127.0.0.1:{port}/", env=env) as url:
        yield url.rstrip("/")


@contextlib.contextmanager
def scan_responder(table: str, items: int) -> Iterator[str]:
    """A fast read-only DynamoDB endpoint serving ``items`` generated books (``bench.scan_responder``)."""
    port = free_port()
    command = [sys.executable, "-m", "bench.scan_responder", str(port), table, str(items)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with child("scan-responder", command, f"http://127.0.0.1:{port}/", env=env) as url:
        yield url.rstrip("/")


def http_json(method: str, url: str, body: object | None = None) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")
