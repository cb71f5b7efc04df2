"""``make status`` on the local stack: the lag rises while the indexer is stopped and falls after it resumes,
read from the same sources as on AWS (the indexer's EMF lines, the stream, the queue, the index).

Writes go straight to the table on moto (the stream is what the indexer reads; the API is not involved).
Every wait polls with a stated bound; no assertion is about elapsed time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import boto3

from books_local import pipeline_status, stack
from books_local.config import ROOT, StackConfig
from books_local.pipeline_status import PipelineStatus

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], what: str, bound: float = 30.0) -> T:
    """The first non-None ``probe()``, polled every 0.2 s for at most ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while True:
        found = probe()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"not within {bound} s: {what}"
        time.sleep(0.2)


def status(config: StackConfig) -> PipelineStatus:
    return pipeline_status.collect(config, stack.INDEXER in stack.running(config))


def status_cli(config: StackConfig) -> dict[str, Any]:
    """``make status --json`` as a developer runs it, against this stack's state directory and ports."""
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "local"),
        "BOOKS_STATE_DIR": str(config.state.path),
        "BOOKS_API_PORT": str(config.api_port),
        "MOTO_PORT": str(config.moto_port),
        "OPENSEARCH_PORT": str(config.opensearch_port),
    }
    done = subprocess.run(
        [sys.executable, "-m", "books_local", "status", "--json"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def put_books(config: StackConfig, count: int) -> None:
    stack_file = config.state.read_stack()
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=stack_file["moto_endpoint"],
        region_name=stack_file["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for _ in range(count):
        item = {
            "id": {"S": uuid.uuid4().hex},
            "title": {"S": "Waiting for the indexer"},
            "author": {"S": "Status"},
            "version": {"N": "1"},
        }
        dynamodb.put_item(TableName=stack_file["outputs"]["table"]["table_name"], Item=item)


def test_the_lag_rises_while_the_indexer_is_stopped_and_falls_after_it_resumes(
    local_stack: StackConfig,
) -> None:
    before = eventually(
        lambda: s if (s := status(local_stack)).backlog.waiting == 0 else None, "the stack is caught up"
    )
    assert before.lag_now_seconds == 0
    assert before.index is not None

    assert stack.stop_indexer(local_stack)
    try:
        put_books(local_stack, 3)
        first = eventually(
            lambda: s if (s := status(local_stack)).backlog.waiting >= 3 else None, "3 records waiting"
        )
        assert not first.indexer_running
        assert first.indexer.invocations == before.indexer.invocations  # nothing measures the lag meanwhile
        rising = eventually(
            lambda: s if (s := status(local_stack)).lag_now_seconds > first.lag_now_seconds + 1 else None,
            "the lag rising while the indexer is stopped",
        )
        assert rising.backlog.oldest_created_at == first.backlog.oldest_created_at  # the same oldest record
        shown = pipeline_status.render(rising)
        assert "STOPPED" in shown
        assert "3 record(s) waiting" in shown
        cli = status_cli(local_stack)
        assert cli["pipeline"]["backlog"]["waiting"] == 3
        assert cli["pipeline"]["lag_now_seconds"] >= rising.lag_now_seconds
        assert "indexer" not in cli["processes"]
    finally:
        stack.start_indexer(local_stack)

    after = eventually(
        lambda: (
            s
            if (s := status(local_stack)).backlog.waiting == 0
            and s.index.searchable >= before.index.searchable + 3
            else None
        ),
        "the indexer caught up after it resumed",
    )
    assert after.lag_now_seconds == 0 < rising.lag_now_seconds
    assert after.indexer_running
    grew = {name: after.indexer.totals[name] - before.indexer.totals[name] for name in after.indexer.totals}
    assert grew["RecordsIn"] >= 3
    assert grew["DocumentsWritten"] >= 3
    assert grew["RecordsFailed"] == 0
    assert after.dead_letter_messages == before.dead_letter_messages
    assert after.index.searchable == before.index.searchable + 3
    # The indexer measured those records at their acknowledgement, later than the stream's age was read.
    lines = pipeline_status.metric_lines(local_stack.state.log("indexer").read_text().splitlines())
    new = lines[before.indexer.invocations :]
    assert max(line.get("IndexLagMax", 0) for line in new) >= rising.lag_now_seconds * 1000
