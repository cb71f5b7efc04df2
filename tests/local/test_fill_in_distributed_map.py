"""The local stack's Distributed Map fill-in (``books_local.aws_fill_ins.distributed_map``): a Map Run fails
when its failed children exceed the tolerated threshold, which defaults to zero, and DescribeMapRun counts
the run's items from its start.

"Tolerated failure threshold for Distributed Map state"
(https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html): "The default percentage
value is zero, which means the workflow fails if any one of its child workflow executions fails or times
out", with the error ``States.ExceedToleratedFailureThreshold``. The bulk-load definition sets no threshold,
so one file that keeps failing fails the run (and a redrive or resume picks it up), never a silent gap.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3
from moto import mock_aws

from support.fill_in_moto import FillInMoto

POLL_BOUND_SECONDS = 60.0


def client(endpoint: str | None, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )


def definition(bucket: str, key: str, child: dict[str, Any], max_concurrency: int = 2) -> str:
    return json.dumps(
        {
            "StartAt": "Files",
            "States": {
                "Files": {
                    "Type": "Map",
                    "ItemReader": {
                        "Resource": "arn:aws:states:::s3:getObject",
                        "ReaderConfig": {"InputType": "JSON"},
                        "Parameters": {"Bucket": bucket, "Key": key},
                    },
                    "ItemSelector": {"item.$": "$$.Map.Item.Value", "run.$": "$.run"},
                    "MaxConcurrency": max_concurrency,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "Child",
                        "States": {"Child": {**child, "End": True}},
                    },
                    "ResultWriter": {
                        "Resource": "arn:aws:states:::s3:putObject",
                        "Parameters": {"Bucket": bucket, "Prefix": "results"},
                    },
                    "ResultPath": None,
                    "End": True,
                }
            },
        }
    )


def lambda_child(function_arn: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload.$": "$.item"},
        "ResultSelector": {"status.$": "$.Payload.status"},
    }


def make_function(endpoint: str) -> str:
    name = f"map-{uuid.uuid4().hex[:8]}"
    role = client(endpoint, "iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return client(endpoint, "lambda").create_function(
        FunctionName=name,
        Role=role,
        PackageType="Image",
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/books-indexer:1"},
        ImageConfig={"Command": ["export_function.handler"]},
        Timeout=30,
    )["FunctionArn"]


def run(
    endpoint: str, items: list[dict[str, Any]], child: dict[str, Any], max_concurrency: int = 2
) -> tuple[Any, str]:
    s3, sfn = client(endpoint, "s3"), client(endpoint, "stepfunctions")
    bucket = f"map-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="items.json", Body=json.dumps(items).encode())
    role = client(endpoint, "iam").create_role(RoleName=bucket, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = sfn.create_state_machine(
        name=bucket, definition=definition(bucket, "items.json", child, max_concurrency), roleArn=role
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"run": "r"}))["executionArn"]
    return sfn, execution


def finished(sfn: Any, execution: str) -> dict[str, Any]:
    deadline = time.monotonic() + POLL_BOUND_SECONDS
    while True:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{execution} still running after {POLL_BOUND_SECONDS:.0f} s"
        time.sleep(0.2)


def map_run(sfn: Any, execution: str) -> dict[str, Any]:
    (entry,) = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    return sfn.describe_map_run(mapRunArn=entry["mapRunArn"])


def test_one_failed_child_fails_the_map_run_and_the_execution(stand_in_moto: FillInMoto) -> None:
    endpoint = stand_in_moto.endpoint
    function = make_function(endpoint)
    items = [{"do": "status", "status": "done"}] * 4 + [{"do": "raise", "value": "file-4"}]
    sfn, execution = run(endpoint, items, lambda_child(function))
    described = finished(sfn, execution)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.ExceedToleratedFailureThreshold"
    assert "1 of 5 items failed" in described["cause"]
    described_run = map_run(sfn, execution)
    assert described_run["status"] == "FAILED"
    assert (described_run["toleratedFailurePercentage"], described_run["toleratedFailureCount"]) == (0.0, 0)
    counts = described_run["itemCounts"]
    assert {k: counts[k] for k in ("total", "succeeded", "failed", "pending", "running")} == {
        "total": 5,
        "succeeded": 4,
        "failed": 1,
        "pending": 0,
        "running": 0,
    }
    assert described_run["executionCounts"]["running"] == 0


def test_a_map_run_whose_children_all_succeed_succeeds(stand_in_moto: FillInMoto) -> None:
    function = make_function(stand_in_moto.endpoint)
    sfn, execution = run(
        stand_in_moto.endpoint, [{"do": "status", "status": "done"}] * 3, lambda_child(function)
    )
    assert finished(sfn, execution)["status"] == "SUCCEEDED"
    counts = map_run(sfn, execution)["itemCounts"]
    assert (counts["total"], counts["succeeded"], counts["failed"], counts["resultsWritten"]) == (3, 3, 0, 3)


def test_the_map_run_counts_every_item_from_its_start(stand_in_moto: FillInMoto) -> None:
    """DescribeMapRun's itemCounts: "total" is "the total number of items processed in all the child
    workflow executions started by a Map Run", and "pending" the items "that are not yet started"
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_MapRunItemCounts.html): while one
    child of four runs, three items are pending and the total is four, which is what a progress bar's ETA
    needs."""
    function = make_function(stand_in_moto.endpoint)
    items = [{"do": "sleep", "seconds": 1}] * 4
    sfn, execution = run(
        stand_in_moto.endpoint, items, lambda_child(function) | {"ResultSelector": {}}, max_concurrency=1
    )
    deadline = time.monotonic() + POLL_BOUND_SECONDS
    while (
        not sfn.list_map_runs(executionArn=execution)["mapRuns"]
        or map_run(sfn, execution)["itemCounts"]["running"] == 0
    ):
        assert time.monotonic() < deadline, "the Map Run did not start a child"
        time.sleep(0.05)
    counts = map_run(sfn, execution)["itemCounts"]
    assert counts["total"] == 4
    assert counts["running"] == 1
    assert counts["pending"] + counts["succeeded"] == 3
    assert finished(sfn, execution)["status"] == "SUCCEEDED"


FAILING_PASS_CHILD = {
    "Type": "Choice",
    "Choices": [{"Variable": "$.item.bad", "BooleanEquals": True, "Next": "Bad"}],
    "Default": "Good",
}


def test_moto_alone_lets_a_map_run_with_a_failed_child_succeed() -> None:
    """Why the fill-in exists: moto 5.2.5 executing the same kind of Map (with execute_state_machine) ignores
    the threshold. This test fails the day moto enforces it, and the fill-in can go."""
    child = {
        "StartAt": "Check",
        "States": {
            "Check": FAILING_PASS_CHILD,
            "Bad": {"Type": "Fail", "Error": "ItemsFailed", "Cause": "bad item"},
            "Good": {"Type": "Succeed"},
        },
    }
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        s3, sfn = client(None, "s3"), client(None, "stepfunctions")
        s3.create_bucket(Bucket="plain-moto-map")
        s3.put_object(
            Bucket="plain-moto-map", Key="items.json", Body=json.dumps([{"bad": False}, {"bad": True}])
        )
        body = json.loads(definition("plain-moto-map", "items.json", {"Type": "Pass"}))
        body["States"]["Files"]["ItemProcessor"].update(child)
        machine = sfn.create_state_machine(
            name="plain", definition=json.dumps(body), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"run": "r"}))[
            "executionArn"
        ]
        described = finished(sfn, execution)
        counts = map_run(sfn, execution)["itemCounts"]
    assert described["status"] == "SUCCEEDED"
    assert counts["failed"] == 1
