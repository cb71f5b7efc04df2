"""Fixtures for the indexer's tests: settings pointing at the session OpenSearch, moto clients, a reader."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opensearchpy import OpenSearch

from indexer import batch
from support.fault_proxy import FaultProxy
from support.streams import clients

FAST_RETRIES = {
    "RETRY_INITIAL_BACKOFF_SECONDS": "0.01",
    "RETRY_MAX_BACKOFF_SECONDS": "0.05",
    "RETRY_DEADLINE_MARGIN_SECONDS": "0.5",
}


@pytest.fixture
def env(strict_opensearch_url: str, unique_name: str) -> dict[str, str]:
    """Indexer settings for a fresh alias on the session OpenSearch, no auth, fast retries."""
    return {
        "OPENSEARCH_ENDPOINT": strict_opensearch_url,  # refuses explicit indices, as the domain does
        "OPENSEARCH_AUTH": "none",
        "OPENSEARCH_INDEX": unique_name,
        "AWS_REGION": "us-east-1",
        **FAST_RETRIES,
    }


@pytest.fixture
def search(opensearch_url: str) -> OpenSearch:
    """A plain client for checking the index, never through the proxy."""
    return OpenSearch(hosts=[opensearch_url])


@pytest.fixture
def proxy(opensearch_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(opensearch_url) as running:
        yield running


@pytest.fixture
def dynamo(moto_endpoint: str) -> tuple[Any, Any]:
    """(dynamodb, dynamodbstreams) clients on the session moto."""
    return clients(moto_endpoint)


@pytest.fixture(autouse=True)
def _fresh_container() -> Iterator[None]:
    """Each test starts as a cold container: no runtime left over from another test."""
    batch.reset_runtime()
    yield
    batch.reset_runtime()


@pytest.fixture
def docs(search: OpenSearch) -> Callable[[str], dict[str, dict[str, Any]]]:
    """docs(alias): every document behind the alias by id, as the API's search returns them (refreshed first,
    as a real OpenSearch needs; the indexer's own ``indexer_*`` fields excluded, as search.request.vtl does).
    """

    def read(alias: str) -> dict[str, dict[str, Any]]:
        search.indices.refresh(index=alias)
        body = {
            "query": {"match_all": {}},
            "size": 1000,
            "version": True,
            "_source": {"excludes": ["indexer_*"]},
        }
        hits = search.search(index=alias, body=body)["hits"]["hits"]
        return {hit["_id"]: hit["_source"] for hit in hits}

    return read
