"""The indexer process of the local stack: the stream runner driving ``indexer.batch.process_event``.

It reads what ``up`` recorded in the state directory (the table's stream, the function's name and the
``event_source_mapping`` output), takes the function's environment, timeout and memory from the function
Terraform created on moto, points the indexer at the local OpenSearch, and polls until SIGTERM.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3

from books_local.checkpoints import CheckpointStore
from books_local.failure_destination import send_to_queue
from books_local.mapping import MappingSettings
from books_local.state import StateDir
from books_local.stream_runner import Function, StreamRunner

NAME = "indexer"
INDEXER_SOURCE = Path(__file__).resolve().parents[2] / "artifacts" / "update_indices" / "lambda"

log = logging.getLogger("books_local.indexer_process")


def local_overrides(opensearch_url: str, moto_endpoint: str) -> dict[str, str]:
    """What differs from the function's Terraform environment: the local OpenSearch, reached without SigV4,
    and DynamoDB on moto for the table reads of folded documents (boto3's endpoint resolution reads
    ``AWS_ENDPOINT_URL_DYNAMODB``; on AWS the function reaches DynamoDB's own endpoint)."""
    return {
        "OPENSEARCH_ENDPOINT": opensearch_url,
        "OPENSEARCH_AUTH": "none",
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
    }


def function_environment(
    configuration: Mapping[str, Any], opensearch_url: str, moto_endpoint: str
) -> dict[str, str]:
    variables = dict(configuration.get("Environment", {}).get("Variables", {}))
    variables.update(local_overrides(opensearch_url, moto_endpoint))
    return variables


def build_runner(state: StateDir, stop: threading.Event) -> StreamRunner:
    stack = state.read_stack()
    endpoint, region = stack["moto_endpoint"], stack["region"]
    outputs = stack["outputs"]
    settings = MappingSettings.from_output(outputs["indexer"]["event_source_mapping"])
    session = boto3.session.Session(region_name=region)
    lambda_client = session.client("lambda", endpoint_url=endpoint)
    configuration = lambda_client.get_function_configuration(FunctionName=outputs["indexer"]["function_name"])

    # The indexer reads its settings from the environment at cold start, as it does in Lambda.
    os.environ.update(function_environment(configuration, stack["opensearch_url"], endpoint))
    os.environ.setdefault("AWS_REGION", region)
    if str(INDEXER_SOURCE) not in sys.path:
        sys.path.insert(0, str(INDEXER_SOURCE))
    from indexer.batch import process_event

    function = Function(
        name=configuration["FunctionName"],
        arn=configuration["FunctionArn"],
        timeout_seconds=float(configuration.get("Timeout", 3)),
        memory_mb=int(configuration.get("MemorySize", 128)),
        handler=process_event,
    )
    sqs = session.client("sqs", endpoint_url=endpoint)
    destination = settings.destination_arn

    def send_failure(message: Mapping[str, Any]) -> None:
        if destination is not None:
            send_to_queue(sqs, destination, message)

    return StreamRunner(
        streams=session.client("dynamodbstreams", endpoint_url=endpoint),
        stream_arn=outputs["table"]["table_stream_arn"],
        region=region,
        settings=settings,
        function=function,
        checkpoints=CheckpointStore(state.checkpoints, outputs["table"]["table_stream_arn"]),
        send_failure=send_failure if destination else None,
        stop=stop,
    )


def cold_start() -> None:
    """Build the indexer's runtime now, as its first invocation would: settings validated, index created
    behind its alias. A bad setting fails ``make up`` here, and search works before the first write."""
    from indexer.batch import get_runtime

    log.info("indexer runtime ready, writing to %s", get_runtime().index)


def main(state_dir: Path) -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    state = StateDir(state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runner = build_runner(state, stop)
    cold_start()
    state.ready_file(NAME).write_text(f"{os.getpid()}\n")
    log.info("polling the table's stream")
    runner.run()
    log.info("stopped after %d invocations", runner.invocations)
    return 0
