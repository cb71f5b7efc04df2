"""Session-wide servers: one OpenSearch and one moto for the whole run.

Tests isolate themselves by name (a fresh index, alias or table per test), never by restarting servers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from support.containers import Server, start_moto, start_opensearch
from support.fault_proxy import FaultProxy

# Fake credentials for moto; never real ones. Set before any boto3 client is made.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value


@pytest.fixture(scope="session")
def opensearch() -> Iterator[Server]:
    server = start_opensearch()
    try:
        yield server
    finally:
        server.container.stop()


@pytest.fixture(scope="session")
def opensearch_url(opensearch: Server) -> str:
    return opensearch.url


@pytest.fixture(scope="session")
def strict_opensearch_url(opensearch_url: str) -> Iterator[str]:
    """The stand-in behind a proxy that refuses what the production domain refuses: a ``_bulk``/``_mget``
    naming an ``_index`` in its body (``rest.action.multi.allow_explicit_index=false``) or sent to the root
    path (see ``support.fault_proxy``). The indexer's and the operations tool's tests write through it."""
    with FaultProxy(opensearch_url, record=False) as proxy:
        yield proxy.url


@pytest.fixture(scope="session")
def moto() -> Iterator[Server]:
    server = start_moto()
    try:
        yield server
    finally:
        server.container.stop()


@pytest.fixture(scope="session")
def moto_endpoint(moto: Server) -> str:
    return moto.url


@pytest.fixture
def unique_name() -> str:
    """A lowercase name no other test uses: for indices, aliases, tables and queues."""
    return f"t-{uuid.uuid4().hex[:12]}"
