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
from indexer.deadline import Deadline
from indexer.ops.patient_transport import Backoff, PatientTransport, bound_retries
from indexer.ops.target import ops_client, settings_from
from support.fault_proxy import FaultProxy, RequestFault

FAULTS = (RequestFault("drop"), RequestFault("status", 429), RequestFault("status", 503))


@pytest.fixture
def proxy(opensearch_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(opensearch_url, strict=False) as running:
        yield running


@pytest.fixture
def search(opensearch_url: str) -> OpenSearch:
    return OpenSearch(hosts=[opensearch_url])


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


def test_the_tools_client_sends_a_search_again_after_a_drop_a_429_and_a_503(
    proxy: FaultProxy, search: OpenSearch, unique_name: str
) -> None:
    search.index(index=unique_name, id="a", body={"title": "t"}, params={"refresh": "true"})
    client = ops_client(_settings(proxy.url))
    assert isinstance(client.transport, PatientTransport)
    proxy.fail_next(*FAULTS)
    answer = client.search(index=unique_name, body={"query": {"match_all": {}}})
    assert [hit["_id"] for hit in answer["hits"]["hits"]] == ["a"]
    assert [r.fault for r in proxy.requests] == [*FAULTS, None]


def test_the_stream_lambdas_client_does_not(proxy: FaultProxy, unique_name: str) -> None:
    client = make_client(_settings(proxy.url))
    proxy.fail_next(RequestFault("drop"))
    with pytest.raises(TransportConnectionError):
        client.search(index=unique_name, body={"query": {"match_all": {}}})
    assert len(proxy.requests) == 1


def test_it_gives_up_after_the_configured_attempts(proxy: FaultProxy, unique_name: str) -> None:
    client = ops_client(_settings(proxy.url, attempts=3))
    proxy.fail_next(*[RequestFault("status", 503)] * 5)
    with pytest.raises(TransportError) as raised:
        client.mget(index=unique_name, body={"ids": ["a"]})
    assert raised.value.status_code == 503
    assert len(proxy.requests) == 3


def test_an_answer_that_is_not_transient_is_not_sent_again(proxy: FaultProxy, unique_name: str) -> None:
    client = ops_client(_settings(proxy.url))
    with pytest.raises(NotFoundError):
        client.get(index=f"{unique_name}-absent", id="x")
    assert len(proxy.requests) == 1


def test_each_attempt_keeps_the_calls_ignore_and_timeout(proxy: FaultProxy, unique_name: str) -> None:
    """opensearch-py's Transport pops ``ignore`` and ``request_timeout`` out of the params it is given:
    a retry with the same dict would raise the 404 the caller ignores."""
    client = ops_client(_settings(proxy.url))
    proxy.fail_next(RequestFault("status", 503))
    answer = client.get(index=f"{unique_name}-absent", id="x", params={"ignore": 404, "request_timeout": 5})
    assert answer["status"] == 404
    assert len(proxy.requests) == 2


@pytest.mark.parametrize("call", ["scroll", "aliases", "create", "delete", "bulk"])
def test_requests_that_must_not_run_twice_are_not_retried(
    proxy: FaultProxy, search: OpenSearch, unique_name: str, call: str
) -> None:
    """A scroll's next page (the server moved on: a retry would skip a page, "Subsequent scroll requests
    return only the next batch of hits", https://docs.opensearch.org/latest/api-reference/search-apis/scroll/),
    an alias change, an index creation or deletion (done once, refused the second time) and ``_bulk``."""
    search.index(index=unique_name, id="a", body={"title": "t"}, params={"refresh": "true"})
    client = ops_client(_settings(proxy.url))
    scroll_id = client.search(index=unique_name, body={"size": 1}, params={"scroll": "1m"})["_scroll_id"]
    body = json.dumps({"index": {"_id": "b"}}) + "\n" + json.dumps({"title": "t"}) + "\n"
    calls = {
        "scroll": lambda: client.scroll(body={"scroll_id": scroll_id, "scroll": "1m"}),
        "aliases": lambda: client.indices.update_aliases(
            body={"actions": [{"add": {"index": unique_name, "alias": f"{unique_name}-x"}}]}
        ),
        "create": lambda: client.indices.create(index=f"{unique_name}-new"),
        "delete": lambda: client.indices.delete(index=unique_name),
        "bulk": lambda: client.transport.perform_request("POST", f"/{unique_name}/_bulk", body=body),
    }
    proxy.clear_records()
    proxy.fail_next(RequestFault("status", 503))
    with pytest.raises(TransportError):
        calls[call]()
    assert len(proxy.requests) == 1


def test_no_retry_starts_that_could_not_end_before_the_deadline(proxy: FaultProxy, unique_name: str) -> None:
    client = ops_client(_settings(proxy.url))
    bound_retries(client, Deadline.after(0.5))  # less than one request's timeout
    proxy.fail_next(RequestFault("status", 503))
    with pytest.raises(TransportError):
        client.search(index=unique_name, body={"query": {"match_all": {}}})
    assert len(proxy.requests) == 1


def test_the_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    class Highest:
        def uniform(self, low: float, high: float) -> float:
            return high

    backoff = Backoff(attempts=6, initial_seconds=0.2, max_seconds=1.0)
    assert [backoff.delay(n, Highest()) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.0, 1.0]  # type: ignore[arg-type]
