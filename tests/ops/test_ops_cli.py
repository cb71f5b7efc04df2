"""The command line as operators run it: a separate process, SIGINT mid-backfill, then a resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from indexer.index_setup import ensure_index
from indexer.ops.target import Target

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "artifacts" / "update_indices" / "lambda"


def ops(*args: str, moto_endpoint: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "PYTHONPATH": str(LAMBDA_DIR)}
    return subprocess.Popen(
        [sys.executable, "-m", "indexer.ops", *args, "--dynamodb-endpoint", moto_endpoint],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigint_saves_the_checkpoint_and_the_rerun_finishes_the_rest(
    target: Target, table: Any, tmp_path: Path, moto_endpoint: str
) -> None:
    table.seed(400)
    ensure_index(target.search, target.settings)
    checkpoint = tmp_path / "ckpt.json"
    args = (
        "backfill",
        "--segments",
        "4",
        "--page-size",
        "10",
        "--rate",
        "8",
        "--checkpoint",
        str(checkpoint),
    )

    first = ops(*args, moto_endpoint=moto_endpoint)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _scanned(checkpoint):
        time.sleep(0.1)
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=60)

    assert first.returncode == 130, err
    interrupted = json.loads(out)
    assert interrupted["interrupted"] is True
    assert 0 < interrupted["scanned"] < 400
    assert "stopping after the pages in flight" in err

    second = ops(*args[:-4], "--checkpoint", str(checkpoint), moto_endpoint=moto_endpoint)
    out, err = second.communicate(timeout=120)

    assert second.returncode == 0, err
    assert interrupted["scanned"] + json.loads(out)["scanned"] == 400
    assert target.search.count(index=target.alias)["count"] == 400


def _scanned(checkpoint: Path) -> int:
    try:
        return sum(s["scanned"] for s in json.loads(checkpoint.read_text())["segments"].values())
    except (OSError, ValueError):
        return 0
