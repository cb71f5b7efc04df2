"""Fixtures for the infrastructure tests: Terraform's CLI config, a moto of their own, and the CI-only
OpenSearch full create/destroy path that runs in the background while the rest of the suite runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from books_local import terragrunt
from support import fill_in_moto

ROOT = Path(__file__).resolve().parents[2]
FULL_PATH_TEST = "test_opensearch_full_create_and_destroy_path"


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A moto server as a plain process from .venv (no Docker needed), on a free port: the local stack's,
    with its fill-ins (Step Functions validates and executes definitions, as the local stack's does)."""
    moto = fill_in_moto.start(log)
    return moto.process, moto.endpoint


@pytest.fixture(scope="session")
def terraform_env() -> dict[str, str]:
    """Environment for terraform commands: the provider mirror's CLI config (made when missing)."""
    return terragrunt.terraform_env()


@pytest.fixture(scope="session")
def infra_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto of the infra tests' own: live/local's fixed names must not meet other tests' resources on
    the shared session moto, and destroy must be able to prove that nothing is left."""
    process, endpoint = start_moto(tmp_path_factory.mktemp("infra-moto") / "moto.log")
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def module_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto of one test module's own, stopped with it: what it applies never meets infra_moto's tests
    (which prove that destroy leaves nothing), and it needs no destroy."""
    process, endpoint = start_moto(tmp_path_factory.mktemp("module-moto") / "moto.log")
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


# ---- CI only: the provider's real OpenSearch create/delete path (ten-minute sleeps each way) ------------
#
# Started as a subprocess when collection ends, so its twenty-odd minutes of provider sleeps overlap the rest
# of the suite; test_opensearch_full_path.py (moved to the end of the run) waits for it and checks its result.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    last = [item for item in items if item.name == FULL_PATH_TEST]
    items[:] = [item for item in items if item.name != FULL_PATH_TEST] + last


def pytest_collection_finish(session: pytest.Session) -> None:
    if not os.environ.get("CI") or not any(item.name == FULL_PATH_TEST for item in session.items):
        return
    workdir = Path(tempfile.mkdtemp(prefix="opensearch-full-path-"))
    log = workdir / "run.log"
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("opensearch_full_path.py")), str(workdir)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "local"), str(ROOT / "tests")]),
            # its own plugin cache: concurrent inits racing on one cache directory can fail
            "TF_PLUGIN_CACHE_DIR": str(workdir / "plugins"),
        },
        start_new_session=True,  # its own process group: terraform and moto go down with it
    )
    session.config.stash[FULL_PATH_KEY] = (process, log, time.monotonic())


FULL_PATH_KEY = pytest.StashKey[tuple[subprocess.Popen[bytes], Path, float]]()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Never leave the background job behind (a run stopped early, or the test deselected)."""
    job = config.stash.get(FULL_PATH_KEY, None)
    if job is not None and job[0].poll() is None:
        os.killpg(job[0].pid, signal.SIGTERM)
        job[0].wait(timeout=30)


@pytest.fixture
def opensearch_full_path_job(request: pytest.FixtureRequest) -> tuple[subprocess.Popen[bytes], Path, float]:
    job = request.config.stash.get(FULL_PATH_KEY, None)
    if job is None:
        pytest.fail("the background OpenSearch full-path job was not started (CI is set?)")
    return job


# ---- The AWS conformance suite: plans of live/dev and live/prod with mocks (tests/infra/live_plans.py) -----


@pytest.fixture(scope="session")
def live_plans(tmp_path_factory: pytest.TempPathFactory, infra_moto: str) -> dict[str, dict[str, Any]]:
    """{environment: {unit: Plan}} for live/dev and live/prod, planned once per session."""
    import live_plans as plans

    workdir = tmp_path_factory.mktemp("live-plans")
    return {env: plans.plan_environment(env, infra_moto, workdir / env) for env in ("dev", "prod")}
