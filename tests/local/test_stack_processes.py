"""Ports, the state directory and process handling of ``make up`` / ``make down``, without Terraform."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from books_local import processes, services, stack
from books_local.config import ROOT, StackConfig
from books_local.errors import StackError
from books_local.ports import free_port
from books_local.state import StateDir


def config_for(state_dir: Path, **environ: str) -> StackConfig:
    ports = {name: str(free_port()) for name in ("BOOKS_API_PORT", "MOTO_PORT", "OPENSEARCH_PORT")}
    return StackConfig.from_env({"BOOKS_STATE_DIR": str(state_dir), **ports, **environ})


def test_a_busy_port_fails_before_anything_starts_and_names_its_variable(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        config = config_for(tmp_path / "state", OPENSEARCH_PORT=str(busy))
        with pytest.raises(StackError, match=rf"port {busy} \(OPENSEARCH_PORT\) is busy") as raised:
            stack.up(config, say=lambda line: None)
    assert "OPENSEARCH_PORT=" in str(raised.value).splitlines()[-1]  # a copy-paste way out
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("value", ["http", "0", "70000", "-1"])
def test_a_port_that_is_not_a_port_is_refused_by_name(tmp_path, value):
    with pytest.raises(StackError, match=f"MOTO_PORT={value!r} is not a port"):
        config_for(tmp_path, MOTO_PORT=value)


def test_moto_and_the_embedded_opensearch_start_detached_and_down_removes_everything(tmp_path):
    config = config_for(tmp_path / "state")
    config.state.create()
    services.start_moto(config)
    url, which = services.start_opensearch(config)
    services.wait_for_moto(config)
    services.wait_for_opensearch(config, url)
    assert "osmem" in which
    alive = stack.running(config)
    assert set(alive) == {"moto", "opensearch"}
    assert (config.state.logs / "moto.log").exists()

    lines: list[str] = []
    stack.down(config, say=lines.append)
    assert not config.state.path.exists()
    assert all(not processes.is_alive(pid) for pid in alive.values())
    assert "stopped opensearch, moto" in lines[0]


def test_a_recycled_pid_is_never_taken_for_ours(tmp_path):
    state = StateDir(tmp_path)
    state.create()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        # The premise is a pid now running another program: wait until its command line is readable
        # (right after exec it reads empty, which processes.py rightly takes for "still starting").
        cmdline = Path(f"/proc/{sleeper.pid}/cmdline")
        deadline = time.monotonic() + 10
        while not cmdline.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        state.pid_file("moto").write_text(f'{sleeper.pid}\n["moto_server", "-p", "1"]\n')
        assert processes.running(state, "moto") is None
        assert processes.stop(state, "moto") is False
        assert sleeper.poll() is None  # still running: not ours, not killed
    finally:
        sleeper.kill()
        sleeper.wait()


def test_down_without_a_stack_says_so(tmp_path):
    lines: list[str] = []
    stack.down(config_for(tmp_path / "absent"), say=lines.append)
    assert "nothing to stop" in lines[0]


def test_the_command_line_reports_errors_without_a_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "books_local", "up"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "local"), "MOTO_PORT": "nope"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr == "error: MOTO_PORT='nope' is not a port: use a number from 1 to 65535\n"


def test_a_process_is_running_from_the_moment_it_is_spawned(tmp_path):
    """Right after exec a process's command line can read empty: that is not 'exited while starting'."""
    state = StateDir(tmp_path)
    for _ in range(20):
        processes.spawn(state, "sleeper", [sys.executable, "-c", "import time; time.sleep(5)"])
        try:
            assert processes.running(state, "sleeper") is not None
        finally:
            assert processes.stop(state, "sleeper", hard=True)


def test_the_image_step_switch_starts_the_registry_and_down_stops_it(tmp_path):
    subprocess.run([str(ROOT / "tests" / "images" / "registry.sh")], check=True, capture_output=True)
    config = config_for(tmp_path / "state", BOOKS_IMAGE_STEP="on", BOOKS_REGISTRY_PORT=str(free_port()))
    assert config.image_step
    assert config.ports_to_open()["BOOKS_REGISTRY_PORT"] == config.registry_port
    assert "BOOKS_REGISTRY_PORT" not in config_for(tmp_path / "other").ports_to_open()  # off by default
    config.state.create()
    services.start_registry(config)
    assert processes.http_answers(f"http://{config.registry}/v2/")
    alive = stack.running(config)
    assert set(alive) == {"registry"}
    stack.down(config, say=lambda line: None)
    assert not processes.is_alive(alive["registry"])
