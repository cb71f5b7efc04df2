"""One keep-alive connection per container: every batch of a warm runtime reuses the connection the cold start
opened (a new TCP connection per invocation would cost a handshake, and TLS on a real domain, per batch)."""

from __future__ import annotations

from typing import Any

import pytest
import urllib3.connection

from indexer.batch import Runtime, process_batch
from support.stream_records import LambdaContext, lambda_event, record


def batch(first: int, n: int) -> dict[str, Any]:
    return lambda_event(
        [
            record("INSERT", {"id": {"S": f"b{i}"}}, i, {"id": {"S": f"b{i}"}, "title": {"S": f"t{i}"}})
            for i in range(first, first + n)
        ]
    )


def test_warm_invocations_reuse_one_connection(
    env: dict[str, str], docs: Any, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counts real TCP connects (urllib3 reconnects a closed connection in place, which its pool's
    ``num_connections`` does not count): none after the cold start, however many requests follow."""
    runtime = Runtime.from_env({**env, "BULK_MAX_ACTIONS": "3"})
    connects: list[str] = []
    connect = urllib3.connection.HTTPConnection.connect

    def counting(self: urllib3.connection.HTTPConnection) -> None:
        connects.append(f"{self.host}:{self.port}")
        connect(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", counting)
    requests_before = len(connects)
    for first in range(0, 40, 10):  # four invocations, four bulk requests each
        assert process_batch(batch(first, 10), LambdaContext(), runtime) == {"batchItemFailures": []}
    assert connects[requests_before:] == []
    assert len(docs(unique_name)) == 40


def test_the_connect_counter_sees_the_cold_starts_connection(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counter above can fail: it counts the connection a cold start opens."""
    connects: list[str] = []
    connect = urllib3.connection.HTTPConnection.connect

    def counting(self: urllib3.connection.HTTPConnection) -> None:
        connects.append(f"{self.host}:{self.port}")
        connect(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", counting)
    Runtime.from_env(env)
    assert len(connects) == 1
