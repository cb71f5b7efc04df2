"""Fixtures for the operations tool: a streamed table on moto, the stream Lambda's path, a live writer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from opensearchpy import OpenSearch
from ops.traffic import StreamConsumer, Table, Writer

from indexer import batch
from indexer.ops.target import Target, open_target, settings_from
from support.streams import clients, create_streamed_table

FAST_RETRIES = {
    "RETRY_INITIAL_BACKOFF_SECONDS": "0.01",
    "RETRY_MAX_BACKOFF_SECONDS": "0.05",
    "RETRY_DEADLINE_MARGIN_SECONDS": "0.5",
}


@pytest.fixture
def env(
    strict_opensearch_url: str, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The indexer's settings for a fresh alias and table; also in os.environ, as the Lambda sees them."""
    values = {
        "OPENSEARCH_ENDPOINT": strict_opensearch_url,  # refuses explicit indices, as the domain does
        "OPENSEARCH_AUTH": "none",
        "OPENSEARCH_INDEX": unique_name,
        "INDEX_EXCLUDE_ATTRIBUTES": "secret",
        "AWS_REGION": "us-east-1",
        "TABLE_NAME": unique_name,
        **FAST_RETRIES,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    batch.reset_runtime()
    yield values
    batch.reset_runtime()


@pytest.fixture
def search(opensearch_url: str) -> OpenSearch:
    return OpenSearch(hosts=[opensearch_url])


@pytest.fixture
def table(env: dict[str, str], moto_endpoint: str) -> Table:
    dynamodb, streams = clients(moto_endpoint)
    stream_arn = create_streamed_table(dynamodb, env["TABLE_NAME"])
    resource = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    return Table(env["TABLE_NAME"], dynamodb, streams, stream_arn, resource.Table(env["TABLE_NAME"]))


@pytest.fixture
def target(env: dict[str, str], table: Table, moto_endpoint: str) -> Target:
    return open_target(settings_from(env), table.name, dynamodb_endpoint=moto_endpoint)


@pytest.fixture
def consumer(table: Table) -> Iterator[Callable[[], StreamConsumer]]:
    started: list[StreamConsumer] = []

    def make() -> StreamConsumer:
        running = StreamConsumer(table.reader()).start()
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def writer(table: Table) -> Iterator[Callable[[list[str]], Writer]]:
    started: list[Writer] = []

    def make(ids: list[str]) -> Writer:
        running = Writer(table, ids).start()
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
