"""``up``, ``down``, ``status`` and the indexer's stop/start: the stack's processes and their order.

Order of ``up``: moto and OpenSearch (in parallel) → Terraform applies the stack's environment
(``live/local``; ``live/local-orders`` with BOOKS_STACK=orders) against moto → the indexer process (stream
runner) → the API server (a stack without an api unit has none). ``down`` stops them in reverse and removes
the state directory; moto keeps everything in memory, so nothing outlives it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from books_local import apply_cache, infrastructure, processes, services
from books_local.config import ROOT, StackConfig, aws_environment
from books_local.errors import StackError

PROCESSES = ("registry", "moto", "opensearch", "indexer", "api")
INDEXER = "indexer"
API = "api"

Say = Callable[[str], None]


@dataclass(frozen=True)
class Started:
    api_url: str | None  # None for a stack without an API (BOOKS_STACK=orders)
    seconds: float
    already_running: bool = False
    opensearch_url: str | None = None


def python_environment(config: StackConfig) -> dict[str, str]:
    """Environment of the stack's Python processes: fake AWS credentials and the project's import paths."""
    env = aws_environment(config)
    paths = [str(ROOT / "local"), str(ROOT / "artifacts" / "update_indices" / "lambda")]
    env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def running(config: StackConfig) -> dict[str, int]:
    return {name: pid for name in PROCESSES if (pid := processes.running(config.state, name)) is not None}


def up(config: StackConfig, say: Say = print) -> Started:
    started_at = time.monotonic()
    alive = running(config)
    if alive:
        expected = {"moto", INDEXER} | ({API} if config.stack.api else set())
        expected |= {"opensearch"} if _runs_own_opensearch(config) else set()
        expected |= {"registry"} if config.image_step else set()
        recorded = config.state.read_stack() if config.state.stack_file.exists() else {}
        if recorded and recorded.get("stack", "books") != config.stack.name:
            raise StackError(
                f"the {recorded.get('stack', 'books')} stack runs in {config.state.path}: stop it first, or "
                "give this one another BOOKS_STATE_DIR"
            )
        if set(alive) >= expected and recorded:
            url = recorded["api_url"] or recorded["opensearch_url"]
            say(f"already running: {url} (`make down` stops it)")
            return Started(recorded["api_url"], 0.0, True, recorded["opensearch_url"])
        raise StackError(
            f"part of the stack runs ({', '.join(sorted(alive))}), not all of it: `make down`, then `make up`"
        )
    from books_local.ports import require_free

    require_free(config.ports_to_open(), config.host)
    if config.state.path.exists():
        shutil.rmtree(config.state.path)  # leftovers of a stack that died: nothing in them is still valid
    config.state.create()
    try:
        _start(config, say, started_at)
    except BaseException:
        _stop_processes(config)
        say(f"start failed; logs are in {config.state.logs} (`make down` removes them)")
        raise
    seconds = time.monotonic() - started_at
    api_url = config.api_url if config.stack.api else None
    return Started(api_url, seconds, False, config.state.read_stack()["opensearch_url"])


def _start(config: StackConfig, say: Say, started_at: float) -> None:
    def step(message: str) -> None:
        say(f"[{time.monotonic() - started_at:5.1f}s] {message}")

    step(f"starting moto on {config.moto_endpoint} and OpenSearch")
    services.start_moto(config)
    opensearch_url, which = services.start_opensearch(config)
    services.wait_for_moto(config)
    services.wait_for_opensearch(config, opensearch_url)
    step(f"{which} answers on {opensearch_url}")
    if config.image_step:
        services.start_registry(config)
        step(f"BOOKS_IMAGE_STEP=on: the registry on {config.registry} stands in for ECR's")

    outputs = _apply(config, step)
    config.state.write_stack(
        {
            "region": config.region,
            "moto_endpoint": config.moto_endpoint,
            "opensearch_url": opensearch_url,
            "stack": config.stack.name,
            "api_url": config.api_url if config.stack.api else None,
            "api_port": config.api_port if config.stack.api else None,
            "outputs": outputs,
        }
    )

    step("starting the indexer on the table's stream")
    start_indexer(config)
    if config.stack.api:
        step(f"serving the API on {config.api_url}")
        _start_api(config)
    step("ready")


def _apply(config: StackConfig, step: Say) -> dict[str, Any]:
    # a replayed apply builds and pushes nothing: the image step always applies
    cache_key = apply_cache.key(config) if config.apply_cache and not config.image_step else None
    if cache_key is not None:
        outputs = apply_cache.replay(config, cache_key, say=step)
        if outputs is not None:
            step(f"replayed the cached apply {cache_key} into moto (BOOKS_APPLY_CACHE=off applies)")
            return outputs
        apply_cache.start_recording(config)
    step(f"applying {config.stack.environment} with Terraform against moto")
    outputs = infrastructure.apply(config, say=lambda line: step(f"  {line}"))
    if cache_key is not None:
        apply_cache.save(config, cache_key, outputs)
    return outputs


def _runs_own_opensearch(config: StackConfig) -> bool:
    return config.opensearch_url is None and config.opensearch_image is None


def start_indexer(config: StackConfig, timeout: float = 60) -> None:
    """Start the stream runner; it resumes from its checkpoints."""
    if processes.running(config.state, INDEXER) is not None:
        return
    command = [sys.executable, "-m", "books_local", "_indexer", "--state-dir", str(config.state.path)]
    processes.spawn(config.state, INDEXER, command, env=python_environment(config), cwd=ROOT)
    processes.wait_until(
        lambda: config.state.ready_file(INDEXER).exists(),
        what="the indexer (stream runner)",
        timeout=timeout,
        alive=lambda: processes.running(config.state, INDEXER) is not None,
        log=config.state.log(INDEXER),
    )


def stop_indexer(config: StackConfig, *, hard: bool = False) -> bool:
    """Stop the stream runner: SIGTERM lets a batch in flight finish; ``hard`` kills it at once."""
    return processes.stop(config.state, INDEXER, hard=hard)


def _start_api(config: StackConfig, timeout: float = 30) -> None:
    command = [sys.executable, "-m", "books_local", "_api", "--state-dir", str(config.state.path)]
    processes.spawn(config.state, API, command, env=python_environment(config), cwd=ROOT)
    processes.wait_until(
        lambda: processes.http_answers(f"{config.api_url}/books/readiness-probe"),
        what=f"the API on {config.api_url}",
        timeout=timeout,
        alive=lambda: processes.running(config.state, API) is not None,
        log=config.state.log(API),
    )


def _stop_processes(config: StackConfig) -> list[str]:
    stopped = [name for name in reversed(PROCESSES) if processes.stop(config.state, name)]
    if config.state.path.exists() and services.stop_opensearch_container(config):
        stopped.append("opensearch container")
    return stopped


def down(config: StackConfig, say: Say = print) -> None:
    if not config.state.path.exists():
        say(f"nothing to stop ({config.state.path} does not exist)")
        return
    stopped = _stop_processes(config)
    shutil.rmtree(config.state.path)
    say(f"stopped {', '.join(stopped) or 'nothing (no process was running)'}; removed {config.state.path}")


def status(config: StackConfig, say: Say = print) -> bool:
    alive = running(config)
    for name in PROCESSES if config.stack.api else [n for n in PROCESSES if n != API]:
        pid = alive.get(name)
        say(f"  {name:<10} {'running, pid ' + str(pid) if pid else 'not running'}")
    if config.state.stack_file.exists():
        recorded = config.state.read_stack()
        if recorded["api_url"]:
            say(f"  API: {recorded['api_url']}")
        say(f"  OpenSearch: {recorded['opensearch_url']}")
    return bool(alive)
