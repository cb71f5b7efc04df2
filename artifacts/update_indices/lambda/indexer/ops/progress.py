"""Counters shared by the worker threads, a progress line on stderr and the final summary."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Counts:
    scanned: int = 0
    indexed: int = 0  # written, or already newer in the index (version conflict): both leave it correct
    skipped: int = 0  # the projection or the hook dropped the item
    failed: int = 0
    conflicts: int = 0  # part of indexed: the index already held a newer version
    retryable: int = 0  # part of failed: 429, 5xx, a timeout or a dropped connection (worth trying later)

    def add(self, other: Counts) -> None:
        self.scanned += other.scanned
        self.indexed += other.indexed
        self.skipped += other.skipped
        self.failed += other.failed
        self.conflicts += other.conflicts
        self.retryable += other.retryable


@dataclass
class Progress:
    """Thread-safe totals; ``tick`` prints at most one line per ``interval`` seconds."""

    label: str
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    interval: float = 2.0
    clock: Callable[[], float] = time.monotonic
    counts: Counts = field(default_factory=Counts)
    show: tuple[str, ...] = ("scanned", "indexed", "skipped", "failed")

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.started = self.clock()
        self._last_print = self.started
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def add(self, counts: Counts) -> None:
        with self._lock:
            self.counts.add(counts)
            now = self.clock()
            if now - self._last_print >= self.interval:
                self._last_print = now
                self._print(self._line(now), final=False)

    def elapsed(self) -> float:
        return max(self.clock() - self.started, 1e-9)

    def rate(self) -> float:
        return self.counts.scanned / self.elapsed()

    def summary(self) -> dict[str, float | int]:
        c = self.counts
        return {
            "scanned": c.scanned,
            "indexed": c.indexed,
            "skipped": c.skipped,
            "failed": c.failed,
            "conflicts": c.conflicts,
            "seconds": round(self.elapsed(), 3),
            "items_per_second": round(self.rate(), 1),
        }

    def finish(self) -> None:
        with self._lock:
            self._print(self._line(self.clock()), final=True)

    def _line(self, now: float) -> str:
        counters = " ".join(f"{name} {getattr(self.counts, name)}" for name in self.show)
        elapsed = max(now - self.started, 1e-9)
        return f"{self.label}: {counters} ({self.counts.scanned / elapsed:.0f} items/s, {elapsed:.0f}s)"

    def _print(self, line: str, *, final: bool) -> None:
        if self._tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
