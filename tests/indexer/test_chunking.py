"""Bulk requests bounded by bytes and by count, counted on the wire through the proxy."""

from __future__ import annotations

from typing import Any

from indexer.batch import Runtime, process_batch
from support.fault_proxy import FaultProxy
from support.stream_records import LambdaContext, lambda_event, record


def batch_of(n: int, padding: int) -> dict[str, Any]:
    return lambda_event(
        [
            record(
                "INSERT",
                {"id": {"S": f"b{i:03}"}},
                i,
                {"id": {"S": f"b{i:03}"}, "text": {"S": "x" * padding}},
            )
            for i in range(n)
        ]
    )


def test_requests_are_bounded_by_bytes(
    env: dict[str, str], proxy: FaultProxy, docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url, "BULK_MAX_BYTES": "4096"})
    assert process_batch(batch_of(20, 900), LambdaContext(), runtime) == {"batchItemFailures": []}
    bulks = proxy.bulk_requests()
    assert len(bulks) >= 5  # 20 documents of ~1 KB in at most 4 KiB each
    assert all(len(r.body) <= 4096 for r in bulks)
    assert sorted(i for r in bulks for i in r.bulk_ids()) == [f"b{i:03}" for i in range(20)]
    assert len(docs(unique_name)) == 20


def test_requests_are_bounded_by_count(
    env: dict[str, str], proxy: FaultProxy, docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url, "BULK_MAX_ACTIONS": "7"})
    assert process_batch(batch_of(20, 10), LambdaContext(), runtime) == {"batchItemFailures": []}
    assert [len(r.bulk_ids()) for r in proxy.bulk_requests()] == [7, 7, 6]
    assert len(docs(unique_name)) == 20


def test_no_refresh_is_requested(env: dict[str, str], proxy: FaultProxy) -> None:
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url})
    process_batch(batch_of(3, 10), LambdaContext(), runtime)
    assert not [r for r in proxy.requests if "refresh" in r.path]
