"""The local stack's Lambda fill-in (``books_local.aws_fill_ins.lambda_images``): an image function whose
``ImageConfig.Command`` is ``export_function.handler`` runs that handler, with the function's configuration,
and answers as Lambda's Invoke API does (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).

The handler here is the stand-in of tests/local/image_handlers (it does what each event says); the image's
own handler runs in tests/local/test_bulk_load_end_to_end.py. Calls go over HTTP to moto started as
``make up`` starts it.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from books_local.aws_fill_ins.lambda_images import (
    PAYLOAD_LIMIT_BYTES,
    ImageFunctions,
    ImageFunctionSettings,
)
from support.fill_in_moto import FillInMoto

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/books-indexer@sha256:" + "0" * 64
ENVIRONMENT = {"OPENSEARCH_ENDPOINT": "https://search-books.example", "OPENSEARCH_AUTH": "sigv4"}
ENVIRONMENT |= {"OPENSEARCH_INDEX": "books", "TABLE_NAME": "books-table"}
POLL_BOUND_SECONDS = 20.0


def lambda_client(endpoint: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
        config=Config(read_timeout=120, retries={"max_attempts": 0}),
    )


def make_function(
    endpoint: str, *, timeout: int = 30, command: str = "export_function.handler", **extra: Any
) -> str:
    name = f"export-{uuid.uuid4().hex[:8]}"
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_client(endpoint).create_function(
        FunctionName=name,
        Role=role,
        PackageType="Image",
        Code={"ImageUri": IMAGE},
        ImageConfig={"Command": [command]},
        Timeout=timeout,
        MemorySize=1024,
        Environment={"Variables": ENVIRONMENT},
        **extra,
    )
    return name


def invoke(endpoint: str, name: str, event: Any, **extra: Any) -> tuple[dict[str, Any], Any]:
    response = lambda_client(endpoint).invoke(FunctionName=name, Payload=json.dumps(event).encode(), **extra)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


def wait_for(path: Path) -> str:
    deadline = time.monotonic() + POLL_BOUND_SECONDS
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {POLL_BOUND_SECONDS:.0f} s"
        time.sleep(0.05)
    return path.read_text()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"


def test_the_handler_runs_with_the_functions_environment_and_the_local_overrides(
    stand_in_moto: FillInMoto, opensearch_url: str
) -> None:
    """The function's Environment.Variables, except what the local stack points elsewhere (as the stream
    runner does: the local OpenSearch without SigV4), every AWS endpoint at this moto, and the variables
    Lambda defines for every function ("Defined runtime environment variables",
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)."""
    name = make_function(stand_in_moto.endpoint, timeout=30)
    response, answer = invoke(stand_in_moto.endpoint, name, {"do": "echo", "run": "r1"})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert answer["event"] == {"do": "echo", "run": "r1"}
    assert answer["environment"] == {
        "OPENSEARCH_ENDPOINT": opensearch_url,
        "OPENSEARCH_AUTH": "none",
        "OPENSEARCH_INDEX": "books",
        "TABLE_NAME": "books-table",
        "AWS_ENDPOINT_URL": stand_in_moto.endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_ACCESS_KEY_ID": "testing",
    }
    assert answer["function_arn"].endswith(f":function:{name}")
    # the context's remaining time counts down from the function's timeout
    assert 25_000 < answer["remaining_ms"] <= 30_000


def test_a_warm_environment_serves_the_next_invocation_until_the_configuration_changes(
    stand_in_moto: FillInMoto,
) -> None:
    """Lambda reuses an execution environment between invocations, and a new configuration gets new ones
    ("Understanding the Lambda execution environment lifecycle",
    https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html)."""
    endpoint = stand_in_moto.endpoint
    name = make_function(endpoint)
    _, first = invoke(endpoint, name, {})
    _, second = invoke(endpoint, name, {})
    assert second["pid"] == first["pid"]
    assert (first["invocations"], second["invocations"]) == (1, 2)
    assert second["request_id"] != first["request_id"]
    lambda_client(endpoint).update_function_configuration(
        FunctionName=name, Environment={"Variables": {**ENVIRONMENT, "TABLE_NAME": "another-table"}}
    )
    _, third = invoke(endpoint, name, {})
    assert third["pid"] != first["pid"]
    assert third["invocations"] == 1
    assert third["environment"]["TABLE_NAME"] == "another-table"


def test_an_exception_in_the_handler_is_an_unhandled_function_error(stand_in_moto: FillInMoto) -> None:
    """Invoke: "FunctionError: If present, indicates that an error occurred during function execution.
    Details about the error are included in the response payload" (Lambda's errorMessage/errorType)."""
    name = make_function(stand_in_moto.endpoint)
    response, answer = invoke(stand_in_moto.endpoint, name, {"do": "raise", "value": 7})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "ValueError"
    assert answer["errorMessage"] == "bad input 7"
    assert answer["stackTrace"]
    assert answer["requestId"]


def test_a_run_past_the_timeout_is_stopped_and_answered_as_timed_out(
    stand_in_moto: FillInMoto, tmp_path: Path
) -> None:
    """Lambda stops an invocation at the function's timeout: the environment is gone and nothing more of the
    invocation happens ("Troubleshoot invocation issues in Lambda", Sandbox.Timedout,
    https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html)."""
    name = make_function(stand_in_moto.endpoint, timeout=2)
    started, after = tmp_path / "started", tmp_path / "after"
    event = {"do": "sleep", "seconds": 60, "mark": str(started), "after": str(after)}
    response, answer = invoke(stand_in_moto.endpoint, name, event)
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Sandbox.Timedout"
    assert answer["errorMessage"].endswith("Task timed out after 2.00 seconds")
    pid = int(started.read_text())
    assert not alive(pid), "the timed-out environment still runs"
    assert not after.exists()
    _, fresh = invoke(stand_in_moto.endpoint, name, {})
    assert fresh["pid"] != pid


def test_an_environment_that_exits_is_a_runtime_exit_error(stand_in_moto: FillInMoto) -> None:
    name = make_function(stand_in_moto.endpoint)
    response, answer = invoke(stand_in_moto.endpoint, name, {"do": "exit"})
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Runtime.ExitError"
    assert answer["errorMessage"].endswith("exit status 3")
    _, recovered = invoke(stand_in_moto.endpoint, name, {})
    assert recovered["invocations"] == 1


def test_the_handlers_own_output_stays_out_of_the_answer(stand_in_moto: FillInMoto) -> None:
    name = make_function(stand_in_moto.endpoint)
    response, answer = invoke(stand_in_moto.endpoint, name, {"do": "print"})
    assert "FunctionError" not in response
    assert answer["event"] == {"do": "print"}


def test_payloads_over_six_megabytes_are_refused_as_lambda_refuses_them(stand_in_moto: FillInMoto) -> None:
    """ "Invocation payload (request and response): 6 MB each for request and response (synchronous)"
    ("Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The export
    handler's answers are a few hundred bytes; Step Functions would refuse anything over 256 KiB anyway."""
    name = make_function(stand_in_moto.endpoint)
    response, answer = invoke(stand_in_moto.endpoint, name, {"do": "big", "bytes": PAYLOAD_LIMIT_BYTES})
    assert response["FunctionError"] == "Unhandled"
    assert answer["errorType"] == "Function.ResponseSizeTooLarge"
    # moto's own response check cuts at 6,000,000 bytes, a little below Lambda's 6 MB (local/README.md)
    response, answer = invoke(stand_in_moto.endpoint, name, {"do": "big", "bytes": 5_000_000})
    assert "FunctionError" not in response
    assert len(answer) == 5_000_000
    with pytest.raises(ClientError) as raised:
        invoke(stand_in_moto.endpoint, name, {"do": "echo", "padding": "x" * PAYLOAD_LIMIT_BYTES})
    assert raised.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_reserved_concurrency_throttles_the_invocation_over_it(
    stand_in_moto: FillInMoto, tmp_path: Path
) -> None:
    """A function with reserved concurrency N runs at most N invocations at once; the next is throttled
    with TooManyRequestsException, which the state machine's Task states retry
    ("Lambda function scaling", https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html)."""
    endpoint = stand_in_moto.endpoint
    name = make_function(endpoint)
    lambda_client(endpoint).put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    started = tmp_path / "started"
    slow = threading.Thread(
        target=invoke, args=(endpoint, name, {"do": "sleep", "seconds": 3, "mark": str(started)})
    )
    slow.start()
    try:
        wait_for(started)
        with pytest.raises(ClientError) as raised:
            invoke(endpoint, name, {})
        assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    finally:
        slow.join()
    response, _ = invoke(endpoint, name, {})
    assert response["StatusCode"] == 200


def test_event_invocations_are_accepted_and_run_in_the_background(
    stand_in_moto: FillInMoto, tmp_path: Path
) -> None:
    name = make_function(stand_in_moto.endpoint)
    mark = tmp_path / "ran"
    response, _ = invoke(stand_in_moto.endpoint, name, {"mark": str(mark)}, InvocationType="Event")
    assert response["StatusCode"] == 202
    assert wait_for(mark).strip().isdigit()


class _Config:
    def __init__(self, cmd: list[str]) -> None:
        self.cmd = cmd


class _Function:
    def __init__(self, package_type: str, cmd: list[str]) -> None:
        self.package_type = package_type
        self.image_config = _Config(cmd)


@pytest.mark.parametrize(
    ("package_type", "command", "routed"),
    [
        ("Image", ["export_function.handler"], True),
        ("Image", ["function.handler"], False),  # the stream indexer: moto's own behaviour
        ("Image", [], False),
        ("Zip", ["export_function.handler"], False),
        ("Image", ["export_function.handler", "extra"], False),
    ],
)
def test_only_image_functions_with_the_export_command_are_routed(
    package_type: str, command: list[str], routed: bool
) -> None:
    functions = ImageFunctions(ImageFunctionSettings(moto_endpoint="http://127.0.0.1:1"))
    assert functions.routes(_Function(package_type, command)) is routed
