"""Fixtures for the api tests: the document as Terraform renders it, a table on moto, a local gateway."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from api_http_client import Api

from books_local.api_credentials import ApiCredentials, issue
from books_local.api_server import LocalApiServer, make_server
from books_local.openapi_document import render_openapi_document
from indexer.client import make_client
from indexer.index_setup import ensure_index
from indexer.settings import Settings
from support.api_tables import create_books_table, create_idempotency_table

EXECUTION_ARN = "arn:aws:execute-api:us-east-1:123456789012:booksapitest"


@pytest.fixture(scope="session")
def api_names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return {
        "table_name": f"books-api-{suffix}",
        "opensearch_index": f"books-api-{suffix}",
        "idempotency_table_name": f"books-api-{suffix}-idempotency",
    }


@pytest.fixture(scope="session")
def openapi_document(api_names: dict[str, str]) -> dict[str, Any]:
    """The document exactly as the api module deploys it to dev and prod (AWS_IAM), rendered by Terraform."""
    return render_openapi_document(authorization="AWS_IAM", **api_names)


@pytest.fixture(scope="session")
def consumer(moto_endpoint: str) -> ApiCredentials:
    """An access key of an IAM user allowed execute-api:Invoke, issued on moto as the local stack does."""
    return issue(moto_endpoint, "us-east-1", EXECUTION_ARN, user_name=f"consumer-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def other_consumer(moto_endpoint: str) -> ApiCredentials:
    """A second IAM user allowed to invoke the API: another caller, whose Idempotency-Keys are its own."""
    return issue(moto_endpoint, "us-east-1", EXECUTION_ARN, user_name=f"other-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def dynamodb(moto_endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture(scope="session")
def books_table(dynamodb: Any, api_names: dict[str, str]) -> str:
    create_books_table(dynamodb, api_names["table_name"])
    create_idempotency_table(dynamodb, api_names["idempotency_table_name"])
    return api_names["table_name"]


@pytest.fixture(scope="session")
def api(
    openapi_document: dict[str, Any],
    books_table: str,
    dynamodb: Any,
    moto_endpoint: str,
    opensearch_url: str,
    api_names: dict[str, str],
    consumer: ApiCredentials,
    other_consumer: ApiCredentials,
) -> Iterator[Api]:
    # The index behind its alias, with the indexer's mapping, as the indexer creates it at its first start.
    settings = Settings.from_env(
        {
            "OPENSEARCH_ENDPOINT": opensearch_url,
            "OPENSEARCH_AUTH": "none",
            "OPENSEARCH_INDEX": api_names["opensearch_index"],
        }
    )
    ensure_index(make_client(settings), settings)
    server: LocalApiServer = make_server(
        openapi_document,
        moto_endpoint,
        opensearch_url,
        credentials=consumer.secrets | other_consumer.secrets,
        identities=consumer.identities | other_consumer.identities,
    )
    server.start()
    try:
        yield Api(server.url, books_table, api_names["opensearch_index"], dynamodb, consumer)
    finally:
        server.close()
