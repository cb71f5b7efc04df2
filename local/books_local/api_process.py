"""The API process of the local stack: ``books_local.apigateway`` serving the api unit's OpenAPI document.

The document is the api unit's ``openapi_document`` output, exactly what Terraform imported into API Gateway
on moto; DynamoDB calls go to moto and search calls to the local OpenSearch. Operations that require AWS_IAM
accept requests signed with the consumer key issued here (:mod:`books_local.api_credentials`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from books_local import api_credentials
from books_local.api_server import LocalApiServer
from books_local.apigateway import Gateway
from books_local.state import StateDir

log = logging.getLogger("books_local.api_process")


class ApiServer(LocalApiServer):
    """The local gateway with a listen backlog for bursts: socketserver's default of 5 resets connections
    when dozens of clients connect at once, which API Gateway never does."""

    request_queue_size = 256


def main(state_dir: Path) -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    stack = StateDir(state_dir).read_stack()
    api = stack["outputs"]["api"]
    credentials = _consumer_credentials(state_dir, stack)
    gateway = Gateway(
        api["openapi_document"],
        dynamodb_endpoint=stack["moto_endpoint"],
        opensearch_url=stack["opensearch_url"],
        stage=api.get("stage_name") or "local",
        region=stack["region"],
        credentials=credentials.secrets,
        identities=credentials.identities,
        host_names=_execute_api_host_names(api, stack["region"]),
    )
    server = ApiServer(("127.0.0.1", int(stack["api_port"])), gateway)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    log.info("serving %s on %s", api.get("rest_api_id"), server.url)
    while not stop.wait(1):
        pass
    server.close()
    log.info("stopped")
    return 0


def _execute_api_host_names(api: dict[str, Any], region: str) -> list[str]:
    """The API's AWS host name (``<rest_api_id>.execute-api.<region>.amazonaws.com``), which a client may
    send as ``Host`` as it would to API Gateway; the server adds its own address."""
    rest_api_id = api.get("rest_api_id")
    return [f"{rest_api_id}.execute-api.{region}.amazonaws.com"] if rest_api_id else []


def _consumer_credentials(state_dir: Path, stack: dict[str, Any]) -> api_credentials.ApiCredentials:
    """The key issued at the first start of this stack; a restarted API process keeps accepting it."""
    path = api_credentials.credentials_file(state_dir)
    if path.exists():
        return api_credentials.load(path)
    api = stack["outputs"]["api"]
    execution_arn = (
        api.get("rest_api_execution_arn") or f"arn:aws:execute-api:{stack['region']}:000000000000:local"
    )
    credentials = api_credentials.issue(stack["moto_endpoint"], stack["region"], execution_arn)
    api_credentials.save(path, credentials)
    log.info(
        "issued the consumer key %s (execute-api:Invoke on %s/*)", credentials.access_key_id, execution_arn
    )
    return credentials
