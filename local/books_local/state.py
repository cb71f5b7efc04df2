"""The state directory: every file the running stack owns, in one place that ``down`` removes."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StateDir:
    """Layout of the state directory (``.state/`` by default, ``BOOKS_STATE_DIR`` to move it)."""

    path: Path

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def pids(self) -> Path:
        return self.path / "pids"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def terraform(self) -> Path:
        return self.path / "terraform"

    @property
    def stack_file(self) -> Path:
        """What ``up`` learned (endpoints, Terraform outputs); the stream runner and API server read it."""
        return self.path / "stack.json"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.pids / f"{name}.pid"

    def ready_file(self, name: str) -> Path:
        return self.pids / f"{name}.ready"

    def create(self) -> None:
        for directory in (self.logs, self.pids, self.checkpoints, self.terraform):
            directory.mkdir(parents=True, exist_ok=True)

    def read_stack(self) -> dict[str, Any]:
        return json.loads(self.stack_file.read_text())

    def write_stack(self, stack: dict[str, Any]) -> None:
        write_json_atomically(self.stack_file, stack)


def write_json_atomically(path: Path, value: Any) -> None:
    """Write ``value`` so that a reader (or a crash) sees the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
