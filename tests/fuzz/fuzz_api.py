"""The API under fuzzing, as the fixtures hand it to the tests (a module of its own: test modules cannot
import ``conftest`` reliably when several test folders each have one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FuzzTarget:
    url: str
    document: dict[str, Any]
    table: str
    dynamodb: Any
