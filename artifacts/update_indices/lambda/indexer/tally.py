"""What one invocation counts and which records failed: filled by the flat and the folding paths alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Failure:
    """A record that failed, by the sequence number Lambda restarts from."""

    sequence_number: str
    reason: str
    key: dict[str, Any] | None = None
    status: int | None = None
    retryable: bool = False


@dataclass
class Tally:
    records: int = 0
    indexed: int = 0
    deleted: int = 0
    skipped: int = 0
    conflicts: int = 0
    rebuilt: int = 0  # folded documents rebuilt from the table and written
    table_reads: int = 0  # Query pages read for them
    read_units: float = 0.0  # their consumed read capacity units
    failures: list[Failure] = field(default_factory=list)
