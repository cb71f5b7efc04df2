"""The Lambda image: built from artifacts/update_indices on the stand-in base, run against OpenSearch."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.containers import Server
from support.streams import lambda_event, record

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
BASE_IMAGE = os.environ.get("LAMBDA_BASE_IMAGE", "local/lambda-python:3.11")
TAG = "local/books-indexer:test"
RUN_HANDLER = """
import json, sys
import function
print("RESULT " + json.dumps(function.handler(json.loads(sys.argv[1]), None)))
"""


@pytest.fixture(scope="module")
def image() -> str:
    built = subprocess.run(
        [str(ROOT / "artifacts/update_indices/build-image.sh"), TAG, BASE_IMAGE],
        env={**os.environ, "DOCKER": DOCKER},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, f"image build failed:\n{built.stdout}\n{built.stderr}"
    return TAG


def run_handler(image: str, env: dict[str, str], event: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    command = [DOCKER, "run", "--rm", "--entrypoint", "/var/lang/bin/python"]
    for name, value in env.items():
        command += ["-e", f"{name}={value}"]
    return subprocess.run(
        [*command, image, "-c", RUN_HANDLER, json.dumps(event)], capture_output=True, text=True, timeout=120
    )


def test_image_runs_the_handler_against_opensearch(
    image: str, opensearch: Server, docs: Any, unique_name: str
) -> None:
    event = lambda_event(
        [
            record(
                "INSERT",
                {"id": {"S": "b1"}},
                1,
                {"id": {"S": "b1"}, "title": {"S": "Dune"}, "n": {"N": "9007199254740993"}},
            ),
            record("INSERT", {"id": {"S": "b2"}}, 2, {"id": {"S": "b2"}, "title": {"S": "Emma"}}),
            record("REMOVE", {"id": {"S": "b2"}}, 3),
        ]
    )
    env = {
        "OPENSEARCH_ENDPOINT": opensearch.internal_url,
        "OPENSEARCH_AUTH": "none",
        "OPENSEARCH_INDEX": unique_name,
    }
    result = run_handler(image, env, event)
    assert result.returncode == 0, result.stderr
    answer = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert answer == ['RESULT {"batchItemFailures": []}']
    batch_line = next(json.loads(line) for line in result.stdout.splitlines() if '"message": "batch"' in line)
    assert (batch_line["indexed"], batch_line["skipped"]) == (1, 1)
    assert docs(unique_name) == {"b1": {"id": "b1", "title": "Dune", "n": 9007199254740993}}


def test_image_fails_fast_with_a_named_setting(image: str) -> None:
    result = run_handler(image, {"OPENSEARCH_AUTH": "none"}, lambda_event([]))
    assert result.returncode != 0
    assert "SettingsError: OPENSEARCH_ENDPOINT: required" in result.stderr


def test_image_is_a_lambda_image_without_build_leftovers(image: str) -> None:
    config = json.loads(subprocess.check_output([DOCKER, "image", "inspect", image]))[0]["Config"]
    assert config["Cmd"] == ["function.handler"]
    listing = subprocess.run(
        [
            DOCKER,
            "run",
            "--rm",
            "--entrypoint",
            "/bin/sh",
            image,
            "-c",
            "ls /tmp/build /var/task/function.py",
        ],
        capture_output=True,
        text=True,
    )
    assert "/var/task/function.py" in listing.stdout
    assert "No such file" in listing.stderr  # /tmp/build (requirements and CA bundle) is gone
