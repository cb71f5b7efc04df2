"""``make logs``: the tail of every process's log, prefixed with its name; ``--follow`` keeps reading."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from books_local.state import StateDir


def show(state: StateDir, names: Sequence[str], *, lines: int, follow: bool, out: TextIO) -> None:
    files = _log_files(state, names)
    if not files:
        out.write(f"no logs in {state.logs} (is the stack up? `make up`)\n")
        return
    width = max(len(name) for name in files)
    positions: dict[str, int] = {}
    for name, path in files.items():
        text = path.read_bytes()
        positions[name] = len(text)
        for line in text.decode(errors="replace").splitlines()[-lines:]:
            out.write(f"{name:<{width}} | {line}\n")
    while follow:
        out.flush()
        time.sleep(0.5)
        for name, path in _log_files(state, names).items():
            with path.open("rb") as handle:
                handle.seek(positions.get(name, 0))
                chunk = handle.read()
            positions[name] = positions.get(name, 0) + len(chunk)
            for line in chunk.decode(errors="replace").splitlines():
                out.write(f"{name:<{width}} | {line}\n")


def _log_files(state: StateDir, names: Sequence[str]) -> dict[str, Path]:
    if not state.logs.exists():
        return {}
    found = {path.stem: path for path in sorted(state.logs.glob("*.log"))}
    return {name: path for name, path in found.items() if not names or name in names}
