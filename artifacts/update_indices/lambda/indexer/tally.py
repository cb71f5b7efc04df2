"""What one invocation counts and which records failed: filled by the flat and the folding paths alike.

Each failure carries its cause from where it happened (``Cause``), never parsed back out of its reason text,
so the metrics (``indexer.metrics``) count it under the right name whatever the reason says, and the records
it stands for: one for a flat record, every record that touched a folded document for a failed rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Cause = Literal["undecodable", "hook", "entity_rules", "rejected", "retryable"]
"""Why a record failed, from a closed list:

- ``undecodable``: the record (or a row read for a folded document) cannot be decoded;
- ``hook``: DOCUMENT_HOOK raised or returned something that is not a JSON object;
- ``entity_rules``: the row breaks ENTITY_CONFIG's rules (it matches two entities, or its folded document
  exceeds a bound such as ``max_children``);
- ``rejected``: OpenSearch refused the write for good (a mapping conflict, a document too large);
- ``retryable``: 429/5xx/timeouts or a lost race still failing when time or rounds ran out, or not sent
  before the deadline; Lambda delivers the record again.
"""


@dataclass
class Failure:
    """A failure, reported by the sequence number Lambda restarts from (the earliest of its records)."""

    sequence_number: str
    reason: str
    cause: Cause
    key: dict[str, Any] | None = None
    status: int | None = None
    records: tuple[str, ...] = ()  # every record it stands for; empty: just sequence_number's

    @property
    def retryable(self) -> bool:
        return self.cause == "retryable"

    @property
    def sequence_numbers(self) -> frozenset[str]:
        """The records this failure fails: Lambda delivers each of them again."""
        return frozenset(self.records or (self.sequence_number,))


@dataclass
class Tally:
    records: int = 0
    indexed: int = 0
    deleted: int = 0
    skipped: int = 0
    conflicts: int = 0  # records not written because the index already holds a newer version
    rebuilt: int = 0  # folded documents rebuilt from the table (each at least once, whatever the outcome)
    rebuild_retries: int = 0  # rebuilds read and written again because another write came first
    table_reads: int = 0  # Query pages read for them
    read_units: float = 0.0  # their consumed read capacity units
    failures: list[Failure] = field(default_factory=list)
