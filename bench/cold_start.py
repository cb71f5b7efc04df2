"""Handler cold import time (fresh interpreters) and the indexer image's size.

Import time: ``--runs`` fresh interpreters each ``import function`` (the Lambda entry module) with
``-X importtime``; the figure is the median of the cumulative time Python reports for ``function``, so it
excludes the interpreter's own start-up. The same is measured inside the built image, which is what a
Lambda cold start pays. Image: ``artifacts/update_indices`` built on ``local/lambda-python:3.11`` (the
stand-in for the AWS base image), its size from ``docker image inspect``.
Run alone: ``.venv/bin/python -m bench.cold_start``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from typing import Any

from bench import LAMBDA_DIR, ROOT, results

NAME = "cold_start"
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
BASE_IMAGE = os.environ.get("BENCH_LAMBDA_BASE_IMAGE", "local/lambda-python:3.11")
IMAGE = "local/books-indexer:bench"
ARTIFACT = ROOT / "artifacts" / "update_indices"
IMPORT_COMMAND = ("-X", "importtime", "-c", "import function")
HANDLER_ENV = {
    "OPENSEARCH_ENDPOINT": "http://127.0.0.1:9",
    "OPENSEARCH_AUTH": "none",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
}


def cumulative_import_us(stderr: str, module: str = "function") -> int:
    """The cumulative microseconds ``-X importtime`` reports for the top-level import of ``module``."""
    for line in reversed(stderr.splitlines()):
        if not line.startswith("import time:"):
            continue
        _, cumulative_us, name = (part.strip() for part in line.split("|", 2))
        if name == module:
            return int(cumulative_us)
    raise ValueError(f"no import-time line for {module!r}; stderr ends with: {stderr[-500:]}")


def host_import_ms(runs: int) -> list[float]:
    env = {**os.environ, **HANDLER_ENV, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    timings = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, *IMPORT_COMMAND],
            cwd=LAMBDA_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        timings.append(cumulative_import_us(done.stderr) / 1000)
    return timings


def build_image() -> None:
    """Build with the indexer's own script (it passes the host CA bundle to pip behind a proxy)."""
    subprocess.run(
        [str(ARTIFACT / "build-image.sh"), IMAGE, BASE_IMAGE],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DOCKER": DOCKER},
    )


def image_size_bytes(image: str) -> int:
    done = subprocess.run(
        [DOCKER, "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


def image_import_ms(runs: int) -> list[float]:
    env_args = [arg for name, value in HANDLER_ENV.items() for arg in ("-e", f"{name}={value}")]
    timings = []
    for _ in range(runs):
        done = subprocess.run(
            [DOCKER, "run", "--rm", *env_args, "--entrypoint", "python", IMAGE, *IMPORT_COMMAND],
            capture_output=True,
            text=True,
            check=True,
        )
        timings.append(cumulative_import_us(done.stderr) / 1000)
    return timings


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    host = host_import_ms(args.runs)
    build_image()
    in_image = image_import_ms(args.runs)
    size = image_size_bytes(IMAGE)
    base_size = image_size_bytes(BASE_IMAGE)
    figures = {
        "runs": args.runs,
        "host_import_ms_median": round(statistics.median(host), 1),
        "host_import_ms_max": round(max(host), 1),
        "host_import_ms_min": round(min(host), 1),
        "image_import_ms_median": round(statistics.median(in_image), 1),
        "image_import_ms_max": round(max(in_image), 1),
        "image_import_ms_min": round(min(in_image), 1),
        "image": IMAGE,
        "base_image": BASE_IMAGE,
        "image_size_mb": round(size / 1e6, 1),
        "base_image_size_mb": round(base_size / 1e6, 1),
        "added_by_indexer_mb": round((size - base_size) / 1e6, 1),
    }
    results.save(NAME, figures)
    return figures


if __name__ == "__main__":
    main()
