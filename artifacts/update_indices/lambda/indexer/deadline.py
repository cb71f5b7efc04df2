"""The time an invocation may still spend writing: Lambda's remaining time minus a margin for reporting."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    expires_at: float  # a clock() value; math.inf when unbounded
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)  # injectable for tests

    @classmethod
    def from_context(cls, context: Any, margin_seconds: float) -> Deadline:
        """From a Lambda context; unbounded without one (a command-line backfill has no Lambda timeout).

        The margin is at most a quarter of the remaining time, so a short function timeout still leaves time
        to write (a 3 s function with the default 3 s margin would otherwise never send anything).
        Time is Lambda's own countdown (``get_remaining_time_in_millis`` at every ``remaining()``), not this
        process's clock, so a context with an injected clock moves the deadline too.
        """
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if remaining_ms is None:
            return cls.unbounded()
        remaining = remaining_ms() / 1000.0

        def elapsed() -> float:
            return remaining - remaining_ms() / 1000.0

        return cls(remaining - min(margin_seconds, remaining / 4), elapsed)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    @classmethod
    def unbounded(cls) -> Deadline:
        return cls(float("inf"))

    def remaining(self) -> float:
        """Seconds left (may be negative)."""
        return self.expires_at - self.clock()
