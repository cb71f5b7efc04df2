"""A moto server with the local stack's fill-ins (``python -m books_local.moto_server``), as a plain process
from .venv on a free port: what ``make up`` runs, for tests that need Step Functions to execute, exports laid
out as AWS writes them or the export function's handler behind Lambda's Invoke."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FillInMoto:
    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(log: Path, *arguments: str, environ: Mapping[str, str] | None = None) -> FillInMoto:
    """Starts it (``arguments`` go to ``books_local.moto_server``, ``environ`` adds to its environment) and
    waits until it answers (30 s)."""
    port = _free_port()
    env = {
        **os.environ,
        **(environ or {}),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "local"), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("MOTO_PORT", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "books_local.moto_server", "-H", "127.0.0.1", "-p", str(port), *arguments],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return FillInMoto(endpoint, process, log)
        except OSError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto with the fill-ins did not start (log: {log})") from exc
            time.sleep(0.1)


def stop(moto: FillInMoto) -> None:
    moto.process.terminate()
    try:
        moto.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        moto.process.kill()
        moto.process.wait()


@contextmanager
def running(
    log: Path, arguments: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> Iterator[FillInMoto]:
    moto = start(log, *arguments, environ=environ)
    try:
        yield moto
    finally:
        stop(moto)
