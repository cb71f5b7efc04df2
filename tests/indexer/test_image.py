"""The Lambda image: built from artifacts/update_indices on the stand-in base, run as Lambda runs it (its
runtime interface client, fed by a Runtime API with real deadlines) against OpenSearch."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from indexer.tombstones import ALIAS_FILTER
from support import emf
from support.containers import Server
from support.lambda_runtime_api import RuntimeApi
from support.stream_records import lambda_event, record

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
BASE_IMAGE = os.environ.get("LAMBDA_BASE_IMAGE", "local/lambda-python:3.11")
TAG = os.environ.get("INDEXER_TEST_IMAGE", "local/books-indexer:test")
ADDED_MB_BUDGET = 30  # issue 12: the indexer adds at most 30 MB to the base image


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


@contextlib.contextmanager
def function_container(image: str, env: dict[str, str]) -> Iterator[RuntimeApi]:
    """The image as Lambda runs it: its own entrypoint (the runtime interface client) and CMD, fed
    invocations with real deadlines through a Runtime API on the host."""
    name = f"books-indexer-test-{uuid.uuid4().hex[:8]}"
    with RuntimeApi() as api:
        command = [DOCKER, "run", "-d", "--rm", "--name", name, "--network", "host"]
        for key, value in {**env, "AWS_LAMBDA_RUNTIME_API": api.address}.items():
            command += ["-e", f"{key}={value}"]
        subprocess.run([*command, image], check=True, capture_output=True, timeout=60)
        try:
            yield api
        finally:
            logs = subprocess.run([DOCKER, "logs", name], capture_output=True, text=True, timeout=30)
            api.container_stdout = logs.stdout  # type: ignore[attr-defined]  # what Lambda ships to CloudWatch
            print(logs.stdout[-4000:], logs.stderr[-4000:])
            subprocess.run([DOCKER, "kill", name], capture_output=True, timeout=60)


@contextlib.contextmanager
def silent_server(alias: str) -> Iterator[str]:
    """An OpenSearch that answers the cold start's alias check (``GET .../_alias...``: the alias with its
    tombstone filter) and never answers anything else: every write runs into its timeout."""
    index = f"{alias}-v1"
    answer = json.dumps({index: {"aliases": {alias: {"filter": ALIAS_FILTER, "is_write_index": True}}}})

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if "/_alias" not in self.path:
                time.sleep(HOLD_SECONDS)
                return
            body = answer.encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            time.sleep(HOLD_SECONDS)

        do_PUT = do_HEAD = do_POST

        def log_message(self, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


HOLD_SECONDS = 30


def test_image_runs_the_handler_against_opensearch(
    image: str, opensearch: Server, docs: Any, unique_name: str
) -> None:
    event = lambda_event(
        [
            record(
                "INSERT",
                {"id": {"S": "b1"}},
                0,
                {"id": {"S": "b1"}, "title": {"S": "Dune"}, "n": {"N": "9007199254740993"}},
            ),
            record("INSERT", {"id": {"S": "b2"}}, 1, {"id": {"S": "b2"}, "title": {"S": "Emma"}}),
            record("REMOVE", {"id": {"S": "b2"}}, 2),
        ]
    )
    env = {"OPENSEARCH_ENDPOINT": opensearch.url, "OPENSEARCH_AUTH": "none", "OPENSEARCH_INDEX": unique_name}
    with function_container(image, env) as api:
        outcome = api.invoke(event, timeout_seconds=60)
    assert outcome.error is None, outcome.error
    assert outcome.response == {"batchItemFailures": []}
    assert outcome.in_time
    assert docs(unique_name) == {"b1": {"id": "b1", "title": "Dune", "n": 9007199254740993}}


def test_image_writes_one_emf_metrics_line_per_invocation_on_stdout(
    image: str, opensearch: Server, unique_name: str
) -> None:
    """In the image, under the Lambda runtime interface client, each invocation writes one line to stdout
    that is an EMF document by itself ("On Lambda ... Writing JSON to standard out in the embedded metric
    format is sufficient", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
    dimensioned by the function's name as Lambda sets it (AWS_LAMBDA_FUNCTION_NAME, "Defined runtime
    environment variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html)."""
    env = {
        "OPENSEARCH_ENDPOINT": opensearch.url,
        "OPENSEARCH_AUTH": "none",
        "OPENSEARCH_INDEX": unique_name,
        "AWS_LAMBDA_FUNCTION_NAME": "books-dev-indexer",
    }
    events = [
        lambda_event([record("INSERT", {"id": {"S": f"m{i}"}}, i, {"id": {"S": f"m{i}"}}) for i in range(3)]),
        lambda_event([record("REMOVE", {"id": {"S": "m0"}}, 3)]),
    ]
    with function_container(image, env) as api:
        for event in events:
            assert api.invoke(event, timeout_seconds=60).response == {"batchItemFailures": []}
    lines = [emf.parse(line) for line in api.container_stdout.splitlines() if emf.is_emf(line)]
    assert [line.value("RecordsIn") for line in lines] == [3, 1]
    assert [(line.value("DocumentsWritten"), line.value("TombstonesWritten")) for line in lines] == [
        (3, 0),
        (0, 1),
    ]
    assert {m.dimensions["FunctionName"] for line in lines for m in line.metrics} == {"books-dev-indexer"}


def test_image_answers_before_a_real_deadline_when_opensearch_never_does(image: str) -> None:
    """With a context whose remaining time is real, the handler stops writing in time and reports the
    earliest record (ReportBatchItemFailures) instead of running into Lambda's timeout. The items carry
    the API's write counter (``version``), as every book does."""
    first = record("INSERT", {"id": {"S": "h1"}}, 0, {"id": {"S": "h1"}, "version": {"N": "1"}})
    second = record("INSERT", {"id": {"S": "h2"}}, 1, {"id": {"S": "h2"}, "version": {"N": "1"}})
    with silent_server("never-answered") as endpoint:
        env = {
            "OPENSEARCH_ENDPOINT": endpoint,
            "OPENSEARCH_AUTH": "none",
            "OPENSEARCH_INDEX": "never-answered",
            "CREATE_INDEX": "false",
            "RETRY_DEADLINE_MARGIN_SECONDS": "1",
        }
        with function_container(image, env) as api:
            outcome = api.invoke(lambda_event([first, second]), timeout_seconds=6)
    assert outcome.error is None, outcome.error
    assert outcome.in_time, f"answered {outcome.answered_at - outcome.deadline:.1f} s after the deadline"
    earliest = first["dynamodb"]["SequenceNumber"]
    assert outcome.response == {"batchItemFailures": [{"itemIdentifier": earliest}]}


def test_image_fails_fast_with_a_named_setting(image: str) -> None:
    with function_container(image, {"OPENSEARCH_AUTH": "none"}) as api:
        outcome = api.invoke(lambda_event([]), timeout_seconds=30)
    errors = [outcome.error, *api.init_errors]
    assert any("OPENSEARCH_ENDPOINT: required" in json.dumps(error) for error in errors if error), errors


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


def _in_image(image: str, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOCKER, "run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_image_takes_the_aws_sdk_from_the_base_image(image: str) -> None:
    """AWS's Python base image carries boto3/botocore in /var/runtime ("Your code runs in an environment that
    includes the SDK for Python (Boto3)": https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html),
    and an image locks that version (https://docs.aws.amazon.com/lambda/latest/operatorguide/sdks-functions.html),
    so the indexer ships none (35 MB); nor opensearch-py's gRPC dependencies, which it never imports."""
    done = _in_image(
        image,
        "cd /var/task && python -c 'import boto3, botocore, function;"
        " print(boto3.__file__, botocore.__file__)' && ls /var/task",
    )
    assert done.returncode == 0, done.stderr
    first, *listing = done.stdout.split()
    assert (first, listing[0]) == ("/var/runtime/boto3/__init__.py", "/var/runtime/botocore/__init__.py")
    shipped = set(listing[1:])
    assert not shipped & {"boto3", "botocore", "s3transfer", "jmespath", "grpc", "google", "opensearch"}
    assert {"opensearchpy", "requests_aws4auth", "indexer", "function.py"} <= shipped


def test_image_adds_at_most_its_budget_to_the_base(image: str) -> None:
    """What the indexer's layers add to the base image (docker image inspect), within the issue's budget."""

    def size(name: str) -> int:
        out = subprocess.check_output([DOCKER, "image", "inspect", "--format", "{{.Size}}", name], text=True)
        return int(out.strip())

    added_mb = (size(image) - size(BASE_IMAGE)) / 1e6
    assert 0 < added_mb <= ADDED_MB_BUDGET, f"the indexer adds {added_mb:.1f} MB"
