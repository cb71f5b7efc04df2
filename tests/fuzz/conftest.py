"""The API under fuzzing: the api module's OpenAPI document, rendered by Terraform, served by the local
gateway (``books_local.apigateway``, what ``make up`` serves) over a fresh table on the session moto and an
index on the session OpenSearch. Only the pieces the API touches are started, so fuzzing costs seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import schemathesis
from fuzz_api import FuzzTarget, SigV4

from books_local.api_credentials import issue
from books_local.api_server import make_server
from books_local.openapi_document import render_openapi_document
from indexer.client import make_client
from indexer.index_setup import ensure_index
from indexer.settings import Settings
from support.api_tables import create_books_table, create_idempotency_table


@pytest.fixture(scope="session")
def fuzz_target(moto_endpoint: str, opensearch_url: str) -> Iterator[FuzzTarget]:
    name = f"books-fuzz-{uuid.uuid4().hex[:10]}"
    document = render_openapi_document(table_name=name, opensearch_index=name, authorization="AWS_IAM")
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    create_books_table(dynamodb, name)
    create_idempotency_table(dynamodb, f"{name}-idempotency")
    # The index behind the alias, as the indexer creates it at its first cold start.
    settings = Settings.from_env(
        {"OPENSEARCH_ENDPOINT": opensearch_url, "OPENSEARCH_AUTH": "none", "OPENSEARCH_INDEX": name}
    )
    ensure_index(make_client(settings), settings)
    consumer = issue(
        moto_endpoint, "us-east-1", "arn:aws:execute-api:us-east-1:123456789012:fuzz", user_name=name
    )
    server = make_server(
        document, moto_endpoint, opensearch_url, credentials=consumer.secrets, identities=consumer.identities
    )
    server.start()
    try:
        yield FuzzTarget(server.url, document, name, dynamodb, SigV4(consumer))
    finally:
        server.close()


@pytest.fixture(scope="session")
def api_schema(fuzz_target: FuzzTarget) -> Any:
    return schemathesis.openapi.from_dict(fuzz_target.document)
