"""Fixtures for the api tests: the document as Terraform renders it, a table on moto, a local gateway."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from books_local.apigateway import LocalApiServer, make_server, render_openapi_document


@dataclass(frozen=True)
class Api:
    """The local gateway under test and the table and index behind it."""

    url: str
    table_name: str
    index: str
    dynamodb: Any

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=headers or {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return Reply(answer.status, answer.read(), dict(answer.headers))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read(), dict(error.headers))

    def stored_items(self) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=self.table_name, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="session")
def api_names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return {"table_name": f"books-api-{suffix}", "opensearch_index": f"books-api-{suffix}"}


@pytest.fixture(scope="session")
def openapi_document(api_names: dict[str, str]) -> dict[str, Any]:
    """The document exactly as the api module deploys it (Terraform renders it, about a second)."""
    return render_openapi_document(**api_names)


@pytest.fixture(scope="session")
def dynamodb(moto_endpoint: str) -> Any:
    return boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")


def create_books_table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture(scope="session")
def books_table(dynamodb: Any, api_names: dict[str, str]) -> str:
    create_books_table(dynamodb, api_names["table_name"])
    return api_names["table_name"]


@pytest.fixture(scope="session")
def api(
    openapi_document: dict[str, Any],
    books_table: str,
    dynamodb: Any,
    moto_endpoint: str,
    opensearch_url: str,
    api_names: dict[str, str],
) -> Iterator[Api]:
    server: LocalApiServer = make_server(openapi_document, moto_endpoint, opensearch_url)
    server.start()
    try:
        yield Api(server.url, books_table, api_names["opensearch_index"], dynamodb)
    finally:
        server.close()
