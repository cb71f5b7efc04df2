"""BOOKS_STACK (``make up STACK=orders``): which environment a local stack applies, where it lives and
listens, and that the two stacks never take each other's state; ``load-orders`` refuses without an orders
stack. No stack is started here (test_orders_end_to_end.py runs the orders stack)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from books_local import cli, processes, stack
from books_local.config import ROOT, STACKS, StackConfig
from books_local.errors import StackError
from books_local.state import StateDir


def test_the_books_stack_is_the_default_and_applies_live_local() -> None:
    config = StackConfig.from_env({})
    assert config.stack is STACKS["books"]
    assert config.stack.environment == "live/local"
    assert config.state.path == ROOT / ".state"
    assert (config.moto_port, config.opensearch_port) == (4566, 9200)
    assert set(config.ports_to_open()) == {"BOOKS_API_PORT", "MOTO_PORT", "OPENSEARCH_PORT"}


def test_the_orders_stack_applies_live_local_orders_beside_the_books_stack() -> None:
    """Its own state directory and default ports, so `make up` and `make up STACK=orders` run side by side;
    no API, so no API port."""
    config = StackConfig.from_env({"BOOKS_STACK": "orders"})
    assert (ROOT / config.stack.environment / "env.hcl").is_file()
    assert config.stack.environment == "live/local-orders"
    assert not config.stack.api
    books = StackConfig.from_env({})
    assert config.state.path == ROOT / ".state-orders" != books.state.path
    assert set(config.ports_to_open()) == {"MOTO_PORT", "OPENSEARCH_PORT"}
    assert not set(config.ports_to_open().values()) & set(books.ports_to_open().values())
    assert not (ROOT / config.stack.environment / "api").exists()


def test_every_stack_applies_an_environment_with_or_without_an_api_as_it_says() -> None:
    for choice in STACKS.values():
        environment = ROOT / choice.environment
        assert (environment / "indexer" / "terragrunt.hcl").is_file(), choice.name
        assert (environment / "api" / "terragrunt.hcl").is_file() == choice.api, choice.name


def test_an_unknown_stack_is_refused_by_name() -> None:
    with pytest.raises(StackError, match=r"BOOKS_STACK='order' is not a stack: use books or orders"):
        StackConfig.from_env({"BOOKS_STACK": "order"})


def test_a_stack_never_takes_over_the_state_of_the_other(tmp_path: Path) -> None:
    """`up` of one stack in a state directory where the other one runs stops, naming it, and touches
    nothing (a sleeping process of ours plays the running stack's moto)."""
    state = StateDir(tmp_path / "state")
    state.create()
    state.write_stack({"stack": "books", "api_url": "http://127.0.0.1:1", "opensearch_url": "http://x"})
    processes.spawn(state, "moto", [sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        config = StackConfig.from_env({"BOOKS_STACK": "orders", "BOOKS_STATE_DIR": str(state.path)})
        assert "moto" in stack.running(config)
        with pytest.raises(StackError, match="the books stack runs in"):
            stack.up(config, say=lambda line: None)
        assert json.loads(state.stack_file.read_text())["stack"] == "books"
        assert "moto" in stack.running(config)
    finally:
        processes.stop(state, "moto", hard=True)


def test_load_orders_without_an_orders_stack_says_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOOKS_STATE_DIR", str(tmp_path / "nothing"))
    assert cli.main(["load-orders"]) == 1
    error = capsys.readouterr().err
    assert "no orders stack runs in" in error
    assert "`make up STACK=orders` first" in error
