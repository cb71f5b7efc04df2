"""The operations tools' client retries a single request that fails transiently (``ops.patient_transport``),
with backoff; the stream Lambda's client does not (its bulk writer retries in time). Over the fault proxy to
the OpenSearch stand-in: the proxy drops connections and answers 429/503 as a domain under load or in a
blue/green deployment does (Amazon OpenSearch Service answers 429 when its write or search queues are full
and 503 while shards are unavailable: https://docs.aws.amazon.com/opensearch-service/latest/developerguide/
handling-errors.html)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError

from indexer.client import make_client
from indexer.ops.patient_transport import Backoff, PatientTransport
from indexer.ops.target import ops_client, settings_from
from support.fault_proxy import FaultProxy, RequestFault

FAULTS = (RequestFault("drop"), RequestFault("status", 429), RequestFault("status", 503))


@pytest.fixture
def proxy(opensearch_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(opensearch_url) as running:
        yield running


def _settings(url: str, attempts: int = 6) -> object:
    return settings_from(
        {
            "OPENSEARCH_ENDPOINT": url,
            "OPENSEARCH_AUTH": "none",
            "OPENSEARCH_INDEX": "patient",
            "AWS_REGION": "us-east-1",
            "RETRY_MAX_ATTEMPTS": str(attempts),
            "RETRY_INITIAL_BACKOFF_SECONDS": "0.01",
            "RETRY_MAX_BACKOFF_SECONDS": "0.05",
        }
    )


def _bulk(client: OpenSearch, index: str) -> object:
    """A single request the proxy can fault as a whole (it faults ``_bulk`` requests)."""
    body = json.dumps({"index": {"_id": "a"}}) + "\n" + json.dumps({"title": "t"}) + "\n"
    return client.transport.perform_request("POST", f"/{index}/_bulk", body=body)


def test_the_tools_client_sends_a_request_again_after_a_drop_a_429_and_a_503(
    proxy: FaultProxy, unique_name: str
) -> None:
    client = ops_client(_settings(proxy.url))
    assert isinstance(client.transport, PatientTransport)
    proxy.fail_requests(*FAULTS)
    answer = _bulk(client, unique_name)
    assert answer["items"][0]["index"]["status"] in (200, 201)
    assert [r.fault for r in proxy.bulk_requests()] == [*FAULTS, None]


def test_the_stream_lambdas_client_does_not(proxy: FaultProxy, unique_name: str) -> None:
    client = make_client(_settings(proxy.url))
    proxy.fail_requests(RequestFault("drop"))
    with pytest.raises(TransportConnectionError):
        _bulk(client, unique_name)
    assert len(proxy.bulk_requests()) == 1


def test_it_gives_up_after_the_configured_attempts(proxy: FaultProxy, unique_name: str) -> None:
    client = ops_client(_settings(proxy.url, attempts=3))
    proxy.fail_requests(*[RequestFault("status", 503)] * 5)
    with pytest.raises(TransportError) as raised:
        _bulk(client, unique_name)
    assert raised.value.status_code == 503
    assert len(proxy.bulk_requests()) == 3


def test_an_answer_that_is_not_transient_is_not_sent_again(proxy: FaultProxy, unique_name: str) -> None:
    client = ops_client(_settings(proxy.url))
    with pytest.raises(NotFoundError):
        client.get(index=f"{unique_name}-absent", id="x")
    assert len([r for r in proxy.requests if r.method == "GET"]) == 1


def test_the_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    class Highest:
        def uniform(self, low: float, high: float) -> float:
            return high

    backoff = Backoff(attempts=6, initial_seconds=0.2, max_seconds=1.0)
    assert [backoff.delay(n, Highest()) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.0, 1.0]  # type: ignore[arg-type]
