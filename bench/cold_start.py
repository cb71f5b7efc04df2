"""Handler cold start (fresh interpreters) and the indexer image's size.

Cold start (the issue's goal): ``--runs`` fresh interpreters each ``import function`` (the Lambda entry
module) and build the first ``Runtime`` (settings, client, hook, ``ensure_index``'s requests), as Lambda
runs it: ``OPENSEARCH_AUTH=sigv4`` with the credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
AWS_SESSION_TOKEN (as Lambda sets them), against an osmem-server process whose index and alias already exist
(a warm-up interpreter created them), so the figure is a cold start of a container, not of a deployment.
Timed with ``time.perf_counter`` inside the child, so it excludes the interpreter's own start-up.

Import time alone: ``-X importtime``'s cumulative time for ``function``, on the host and inside the built
image, which is what a Lambda cold start pays. Image: ``artifacts/update_indices`` built on
``local/lambda-python:3.11`` (the stand-in for the AWS base image), its size from ``docker image inspect``.
Run alone: ``.venv/bin/python -m bench.cold_start``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any

from bench import LAMBDA_DIR, ROOT, results, servers

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

# Lambda's execution role reaches the function as these three variables ("Defined runtime environment
# variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
LAMBDA_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIABENCHCOLDSTART00",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_SESSION_TOKEN": "bench-session-token",
}
# The child's own clock: import, then the first Runtime, each in milliseconds, as one JSON line.
COLD_START_CHILD = """
import json, time
started = time.perf_counter()
import function
imported = time.perf_counter()
from indexer.batch import get_runtime
get_runtime()
built = time.perf_counter()
print(json.dumps({"import_ms": (imported - started) * 1e3, "runtime_ms": (built - imported) * 1e3}))
"""


def cold_start_env(opensearch_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "OPENSEARCH_")) and key != "PYTHONPATH"
    }
    return {
        **env,
        "OPENSEARCH_ENDPOINT": opensearch_url,
        "OPENSEARCH_AUTH": "sigv4",
        "OPENSEARCH_INDEX": "bench-cold-start",
        "AWS_REGION": "us-east-1",
        **LAMBDA_CREDENTIALS,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def compile_lambda_dir() -> None:
    """Byte-compile the handler and the package, as the image's Dockerfile does (``compileall``): a Lambda
    never compiles them at a cold start, so neither may the host figure (runs use PYTHONDONTWRITEBYTECODE)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "function.py", "indexer"],
        cwd=LAMBDA_DIR,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def host_cold_start_ms(runs: int) -> list[dict[str, float]]:
    """Import plus first Runtime in ``runs`` fresh interpreters, after one warm-up that creates the index."""
    compile_lambda_dir()
    with servers.opensearch() as url:
        env = cold_start_env(url)
        timings = []
        for _ in range(runs + 1):
            done = subprocess.run(
                [sys.executable, "-c", COLD_START_CHILD],
                cwd=LAMBDA_DIR,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            timings.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return timings[1:]  # the first one created the index: that happens once per deployment, not per container


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
    compile_lambda_dir()
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
        # the checkout as it is: the report records whether the tree was clean
        env={**os.environ, "DOCKER": DOCKER, "ALLOW_UNCOMMITTED_SOURCES": "1"},
    )


def image_size_bytes(image: str) -> int:
    done = subprocess.run(
        [DOCKER, "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


def image_packages_kb(image: str) -> dict[str, int]:
    """What each top-level entry of the function's directory (/var/task) takes, in kB (``du -sk``)."""
    done = subprocess.run(
        [DOCKER, "run", "--rm", "--entrypoint", "/bin/sh", image, "-c", "cd /var/task && du -sk *"],
        capture_output=True,
        text=True,
        check=True,
    )
    sizes = (line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)
    return dict(sorted(((name, int(kb)) for kb, name in sizes), key=lambda entry: -entry[1]))


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
    parser.add_argument("--host-only", action="store_true", help="print the host cold start; no image")
    args = parser.parse_args(argv)
    if args.host_only:
        cold = host_cold_start_ms(args.runs)
        totals = [run["import_ms"] + run["runtime_ms"] for run in cold]
        figures = {
            "host_cold_start_ms_median": round(statistics.median(totals), 1),
            "import_ms_median": round(statistics.median(run["import_ms"] for run in cold), 1),
            "runtime_ms_median": round(statistics.median(run["runtime_ms"] for run in cold), 1),
        }
        print(json.dumps(figures))
        return figures

    cold = host_cold_start_ms(args.runs)
    host = host_import_ms(args.runs)
    build_image()
    in_image = image_import_ms(args.runs)
    size = image_size_bytes(IMAGE)
    base_size = image_size_bytes(BASE_IMAGE)
    figures = {
        "runs": args.runs,
        "host_cold_start_ms_median": round(
            statistics.median(run["import_ms"] + run["runtime_ms"] for run in cold), 1
        ),
        "host_cold_start_ms_max": round(max(run["import_ms"] + run["runtime_ms"] for run in cold), 1),
        "host_cold_start_import_ms_median": round(statistics.median(run["import_ms"] for run in cold), 1),
        "host_cold_start_runtime_ms_median": round(statistics.median(run["runtime_ms"] for run in cold), 1),
        "cold_start_conditions": (
            "host; fresh interpreter per run; import function + first Runtime (OPENSEARCH_AUTH=sigv4, "
            "credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN as Lambda sets them) "
            "against an osmem-server process whose index and alias already exist"
        ),
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
        "image_packages_kb": image_packages_kb(IMAGE),
    }
    results.save(NAME, figures)
    return figures


if __name__ == "__main__":
    main()
