"""Detached processes with a pid file and a log file each, stopped by their own pid only."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from books_local.errors import StackError
from books_local.state import StateDir


def spawn(
    state: StateDir,
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``command`` in its own session (it outlives ``make up``); output goes to ``logs/<name>.log``."""
    state.create()
    with state.log(name).open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    # The command line goes with the pid, so a recycled pid is never mistaken for ours (and never killed).
    state.pid_file(name).write_text(f"{process.pid}\n{json.dumps(list(command))}\n")
    return process.pid


def read_pid(state: StateDir, name: str) -> int | None:
    """The pid recorded for ``name``, when that pid still runs the command recorded with it."""
    try:
        pid_line, command_line = state.pid_file(name).read_text().splitlines()[:2]
        pid, command = int(pid_line), json.loads(command_line)
    except (FileNotFoundError, ValueError):
        return None
    raw = b""
    for _ in range(40):  # right after exec the command line reads empty for a moment: wait it out
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        if raw:
            break
        time.sleep(0.0125)
    if not raw:  # a zombie: ours to reap
        return pid
    running_command = [part.decode(errors="replace") for part in raw.rstrip(b"\0").split(b"\0")]
    return pid if running_command == command else None


def is_alive(pid: int) -> bool:
    """True while ``pid`` runs; reaps it first when it is our exited child (a zombie is not alive)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def children(parent: int) -> list[int]:
    """Pids of the direct children of ``parent``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def running(state: StateDir, name: str) -> int | None:
    """The pid of ``name`` when it runs, else None."""
    pid = read_pid(state, name)
    return pid if pid is not None and is_alive(pid) else None


def stop(state: StateDir, name: str, *, timeout: float = 10.0, hard: bool = False) -> bool:
    """Stop ``name`` (SIGTERM, SIGKILL after ``timeout``; SIGKILL at once when ``hard``). True if it ran."""
    pid = running(state, name)
    state.pid_file(name).unlink(missing_ok=True)
    state.ready_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    _signal(pid, signal.SIGKILL if hard else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() > deadline:
            _signal(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)
    return True


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    alive: Callable[[], bool] | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``check`` until it is true; fail early when the process behind it died, showing its log's tail."""
    deadline = time.monotonic() + timeout
    while not check():
        if alive is not None and not alive():
            raise StackError(f"{what} exited while starting{_tail(log)}")
        if time.monotonic() > deadline:
            raise StackError(f"{what} not ready after {timeout:.0f} s{_tail(log)}")
        time.sleep(0.05)


def http_answers(url: str) -> bool:
    """True once ``url`` answers HTTP at all (any status below 500)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (OSError, ValueError):
        return False


def _tail(log: Path | None, lines: int = 20) -> str:
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"; last lines of {log}:\n" + "\n".join(f"  {line}" for line in text)
