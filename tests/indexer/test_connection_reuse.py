"""One keep-alive connection per container: every batch of a warm runtime reuses the connection the cold start
opened (a new TCP connection per invocation would cost a handshake, and TLS on a real domain, per batch)."""

from __future__ import annotations

from typing import Any

from indexer.batch import Runtime, process_batch
from support.stream_records import LambdaContext, lambda_event, record


def batch(first: int, n: int) -> dict[str, Any]:
    return lambda_event(
        [
            record("INSERT", {"id": {"S": f"b{i}"}}, i, {"id": {"S": f"b{i}"}, "title": {"S": f"t{i}"}})
            for i in range(first, first + n)
        ]
    )


def test_warm_invocations_reuse_one_connection(env: dict[str, str], docs: Any, unique_name: str) -> None:
    runtime = Runtime.from_env({**env, "BULK_MAX_ACTIONS": "3"})
    connection = runtime.client.transport.get_connection()
    pools = connection.session.get_adapter(connection.host).poolmanager.pools
    (pool_key,) = pools.keys()  # the one pool the cold start's index check opened
    pool = pools[pool_key]
    pool.num_requests = 0  # count from here
    for first in range(0, 40, 10):  # four invocations, four bulk requests each
        assert process_batch(batch(first, 10), LambdaContext(), runtime) == {"batchItemFailures": []}
    assert list(pools.keys()) == [pool_key]
    assert pool.num_requests >= 16  # the pool the client sends through (the count proves it is this one)
    assert pool.num_connections == 1  # opened once, at the cold start
    assert len(docs(unique_name)) == 40
