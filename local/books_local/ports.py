"""Which ports the stack listens on, and a clear error when one is taken."""

from __future__ import annotations

import socket
from collections.abc import Mapping

from books_local.errors import StackError

HOST = "127.0.0.1"


def port_from_env(environ: Mapping[str, str], variable: str, default: int) -> int:
    raw = environ.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise StackError(f"{variable}={raw!r} is not a port: use a number from 1 to 65535")
    return int(raw)


def is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def require_free(ports: Mapping[str, int], host: str = HOST) -> None:
    """Fail before starting anything when a port is busy, naming the variable that moves it."""
    busy = [(variable, port) for variable, port in ports.items() if not is_free(port, host)]
    if busy:
        lines = [f"port {port} ({variable}) is busy on {host}" for variable, port in busy]
        example = " ".join(f"{variable}={free_port()}" for variable, _ in busy)
        raise StackError(
            "\n".join(lines)
            + f"\nstop whatever listens there (e.g. `ss -ltnp | grep :{busy[0][1]}`) or pick other ports:"
            + f"\n  {example} make up"
        )


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now (for tests and for suggestions in error messages)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
