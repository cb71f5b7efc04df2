"""One local stack per session, started by the same code as ``make up`` on free ports in a temporary state
directory, and stopped by the same code as ``make down``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from books_local import stack
from books_local.config import StackConfig
from books_local.errors import StackError
from books_local.ports import free_port
from support import fill_in_moto
from support.fill_in_moto import FillInMoto


def _started(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[StackConfig]:
    environ = {
        **os.environ,
        "BOOKS_STACK": name,
        "BOOKS_STATE_DIR": str(tmp_path_factory.mktemp(f"local-stack-{name}") / "state"),
        "BOOKS_API_PORT": str(free_port()),
        "MOTO_PORT": str(free_port()),
        "OPENSEARCH_PORT": str(free_port()),
    }
    environ.pop("OPENSEARCH_URL", None)
    config = StackConfig.from_env(environ)
    progress: list[str] = []
    try:
        stack.up(config, say=progress.append)
    except StackError as error:
        pytest.fail(f"make up (BOOKS_STACK={name}) failed:\n" + "\n".join(progress) + f"\n{error}")
    print("\n".join(progress))
    try:
        yield config
    finally:
        stack.down(config, say=lambda line: None)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    """The books stack (``make up``)."""
    yield from _started(tmp_path_factory, "books")


@pytest.fixture(scope="session")
def orders_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    """The orders example (``make up STACK=orders``: live/local-orders, no API)."""
    yield from _started(tmp_path_factory, "orders")


@pytest.fixture(scope="session")
def stand_in_moto(tmp_path_factory: pytest.TempPathFactory, opensearch_url: str) -> Iterator[FillInMoto]:
    """moto as ``make up`` runs it (``books_local.moto_server``), whose routed image functions run the
    stand-in handler of tests/local/image_handlers instead of the image's."""
    log_dir = tmp_path_factory.mktemp("stand-in-moto")
    arguments = [
        "--task-root",
        str(Path(__file__).with_name("image_handlers")),
        "--opensearch-url",
        opensearch_url,
        "--function-log-dir",
        str(log_dir),
    ]
    with fill_in_moto.running(log_dir / "moto.log", arguments) as moto:
        yield moto
