"""Pacing a scan in read capacity units per second, from the capacity DynamoDB reports it consumed.

A scan page's cost is only known after it returns (``ReturnConsumedCapacity``), so the limiter charges each
page afterwards and makes the next caller wait until the running average is back under the rate. All segment
threads share one limiter, so ``--rate`` bounds the whole backfill, not each segment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CapacityLimiter:
    def __init__(
        self,
        units_per_second: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if units_per_second is not None and units_per_second <= 0:
            raise ValueError(
                f"--rate must be a positive number of read capacity units, got {units_per_second}"
            )
        self.rate = units_per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._free_at = clock()  # when the capacity spent so far has been "paid back"
        self.consumed = 0.0

    def charge(self, units: float) -> None:
        """Records ``units`` consumed; the rate applies from the next ``wait``."""
        with self._lock:
            self.consumed += units
            if self.rate is None:
                return
            self._free_at = max(self._free_at, self._clock()) + units / self.rate

    def wait(self) -> None:
        """Blocks until the capacity already spent fits under the rate."""
        if self.rate is None:
            return
        with self._lock:
            delay = self._free_at - self._clock()
        if delay > 0:
            self._sleep(delay)
