"""Applies ``live/local`` against moto with ``books_local.terragrunt`` and returns each unit's outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from books_local.config import StackConfig


def apply(config: StackConfig, say: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    raise NotImplementedError("waiting for books_local.terragrunt")
