"""Session-wide servers: one OpenSearch and one moto for the whole run.

Tests isolate themselves by name (a fresh index, alias or table per test), never by restarting servers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

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


# `make test` runs three sessions side by side (Makefile): BOOKS_TEST_SESSION=infra-a and =infra-b share
# tests/infra and tests/asl (they mostly wait on Terraform, the provider's polling, moto and Docker builds, so
# a third session fills the cores the others leave idle), =rest runs everything else; unset, a session runs
# all it collects. Two infrastructure files that mostly wait on applies run in the rest's session.
ROOT = Path(__file__).resolve().parents[1]
INFRA = ("tests/infra/", "tests/asl/")
RUN_WITH_THE_REST = ("tests/infra/test_apply_local.py", "tests/infra/test_apply_local_orders.py")
INFRA_B = tuple(
    f"tests/infra/test_{name}"
    for name in (
        "iam_exercised.py",
        "image_step.py",
        "lambda_entities.py",
        "lock_files.py",
        "modules.py",
        "opensearch_",
        "scan_findings.py",
        "terragrunt_",
    )
)
SESSIONS = ("infra-a", "infra-b", "rest")


def session_of(path: str) -> str:
    if not path.startswith(INFRA) or path in RUN_WITH_THE_REST:
        return "rest"
    return "infra-b" if path.startswith(INFRA_B) else "infra-a"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = os.environ.get("BOOKS_TEST_SESSION")
    if session not in SESSIONS:
        return
    keep: list[pytest.Item] = []
    other: list[pytest.Item] = []
    for item in items:
        path = item.path.resolve().relative_to(ROOT).as_posix()
        (keep if session_of(path) == session else other).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = keep


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
