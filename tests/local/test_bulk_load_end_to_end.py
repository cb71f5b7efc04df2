"""The distributed bulk load on the stack ``make up`` starts: live/local's bulk-load unit (the state machine
Terraform created from the module's rendered definition, the export function from the indexer's image) on
the stack's moto with its fill-ins, the image's own ``export_function.handler`` behind Lambda's Invoke, the
stack's OpenSearch.

One command (``python -m indexer.ops bulk-load start``) backfills the table through the export and the
Distributed Map; the index then holds exactly the table (judged by the oracle that reads the table directly),
``audit`` is clean, and a second run changes no document. The stream indexer is stopped meanwhile, so only
the bulk load writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from books_local import stack
from books_local.config import StackConfig
from support import index_oracle

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 240
RUN_BOUND_SECONDS = 600


@pytest.fixture(scope="module")
def recorded(local_stack: StackConfig) -> dict[str, Any]:
    return local_stack.state.read_stack()


@pytest.fixture(scope="module")
def quiet_stream(local_stack: StackConfig) -> Iterator[None]:
    """The stream indexer stopped while the test runs (its writes would hide the bulk load's), started again
    afterwards; it resumes from its checkpoints."""
    stack.stop_indexer(local_stack)
    try:
        yield
    finally:
        stack.start_indexer(local_stack)


def session(recorded: dict[str, Any]) -> boto3.session.Session:
    return boto3.session.Session(
        region_name=recorded["region"], aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def tool_environment(recorded: dict[str, Any]) -> dict[str, str]:
    """What the runbook exports for the operations tool on the local stack, and the bulk-load outputs."""
    outputs = recorded["outputs"]
    paths = [str(ROOT / "artifacts" / "update_indices" / "lambda"), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, paths)),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": recorded["region"],
        "AWS_DEFAULT_REGION": recorded["region"],
        "OPENSEARCH_ENDPOINT": recorded["opensearch_url"],
        "OPENSEARCH_AUTH": "none",
        "DYNAMODB_ENDPOINT": recorded["moto_endpoint"],
        "TABLE_NAME": outputs["table"]["table_name"],
        "BULK_LOAD_STATE_MACHINE_ARN": outputs["bulk-load"]["state_machine_arn"],
        "BULK_LOAD_BUCKET": outputs["bulk-load"]["bucket_name"],
    }


def ops(recorded: dict[str, Any], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "indexer.ops", *arguments],
        env=tool_environment(recorded),
        capture_output=True,
        text=True,
        timeout=RUN_BOUND_SECONDS,
        cwd=ROOT,
    )


def last_json(stdout: str) -> dict[str, Any]:
    return json.loads(stdout.strip().splitlines()[-1])


def snapshot(opensearch_url: str, alias: str) -> dict[str, tuple[Any, Any]]:
    """Every document behind the alias with its version and source: what a write of other data would change.
    Not its sequence number: a second run writes each item again at the same external version, which
    ``version_type=external_gte`` accepts ("if the given version is equal to or higher than the version of the
    stored document", OpenSearch's Index document API), so the same document is stored again under a new
    sequence number with nothing in it changed."""
    body = json.dumps(
        {"size": 10000, "version": True, "seq_no_primary_term": True, "query": {"match_all": {}}}
    )
    request = urllib.request.Request(
        f"{opensearch_url}/{alias}/_search", data=body.encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        hits = json.load(response)["hits"]["hits"]
    return {hit["_id"]: (hit["_version"], json.dumps(hit["_source"], sort_keys=True)) for hit in hits}


def test_one_command_backfills_the_table_through_the_export_and_the_map(
    local_stack: StackConfig, recorded: dict[str, Any], quiet_stream: None
) -> None:
    outputs = recorded["outputs"]
    dynamodb = session(recorded).resource("dynamodb", endpoint_url=recorded["moto_endpoint"])
    table = dynamodb.Table(outputs["table"]["table_name"])
    prefix = uuid.uuid4().hex[:8]
    with table.batch_writer() as batch:
        for n in range(ITEMS):
            batch.put_item(
                Item={
                    "id": f"{prefix}-{n}",
                    "title": f"Backfilled book {n}",
                    "author": f"Author {n % 7}",
                    "year": Decimal(1950 + n % 70),
                    "version": Decimal(1 + n % 3),
                }
            )

    run = f"e2e-{prefix}"
    started = ops(recorded, "bulk-load", "start", "--run", run, "--export-poll-seconds", "1")
    assert started.returncode == 0, started.stderr[-3000:] + started.stdout[-3000:]
    status = last_json(started.stdout)
    assert status["run"] == run
    assert status["status"] == "SUCCEEDED", status
    assert status["failed_children"] == 0
    assert status["items_done"] == status["items"] >= ITEMS
    assert status["files_done"] == status["files"] > 1  # the export has several files: the Map fanned out
    (files_map,) = status["map_runs"]
    assert files_map == {
        "status": "SUCCEEDED",
        "done": status["files"],
        "failed": 0,
        "total": status["files"],
    }

    # The export the run read is the one the fill-in laid out as AWS does, under runs/<run>/.
    s3 = session(recorded).client("s3", endpoint_url=recorded["moto_endpoint"])
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=outputs["bulk-load"]["bucket_name"], Prefix=f"runs/{run}/")[
            "Contents"
        ]
    ]
    assert any(key.endswith("/manifest-summary.json") for key in keys)
    assert any(key.startswith(f"runs/{run}/AWSDynamoDB/") and key.endswith(".json.gz") for key in keys)

    function = (
        session(recorded)
        .client("lambda", endpoint_url=recorded["moto_endpoint"])
        .get_function_configuration(FunctionName=outputs["indexer"]["function_name"])
    )
    variables = function["Environment"]["Variables"]
    verdict = index_oracle.judge_table(
        session(recorded).client("dynamodb", endpoint_url=recorded["moto_endpoint"]),
        outputs["table"]["table_name"],
        recorded["opensearch_url"],
        variables["OPENSEARCH_INDEX"],
        include=variables.get("INDEX_INCLUDE_ATTRIBUTES", "").split(","),
        exclude=variables.get("INDEX_EXCLUDE_ATTRIBUTES", "").split(","),
    )
    assert verdict.clean, str(verdict)

    audit = ops(recorded, "audit", "--recheck-after", "0")
    assert audit.returncode == 0, audit.stderr[-3000:] + audit.stdout[-3000:]

    before = snapshot(recorded["opensearch_url"], variables["OPENSEARCH_INDEX"])
    again = ops(recorded, "bulk-load", "start", "--export-poll-seconds", "1")  # a run named by the tool
    assert again.returncode == 0, again.stderr[-3000:] + again.stdout[-3000:]
    assert last_json(again.stdout)["run"].startswith("bl-")
    status_after = ops(recorded, "bulk-load", "status", "--run", run)
    assert status_after.returncode == 0, status_after.stderr[-3000:]
    assert last_json(status_after.stdout)["status"] == "SUCCEEDED"
    assert last_json(again.stdout)["status"] == "SUCCEEDED"
    assert snapshot(recorded["opensearch_url"], variables["OPENSEARCH_INDEX"]) == before
