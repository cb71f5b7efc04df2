"""External versions for OpenSearch, derived from the stream record, so every write is order-independent.

``version = (int(ApproximateCreationDateTime) << 31) | (int(SequenceNumber) % 2**31)``

Why not the sequence number itself: DynamoDB sequence numbers are numeric strings of 21 to 40 digits, beyond
OpenSearch's signed 64-bit version.

Why this is monotonic per item: DynamoDB Streams puts every modification of one item into the same shard in
the order the modifications happened, and the shard's sequence numbers increase. The record's creation time
(whole seconds) never decreases along that order, so two records of one item created in different seconds are
ordered by the high part alone. Two records of one item created in the same second are ordered by the low 31
bits of their sequence numbers, which increase with them unless the sequence number crosses a multiple of
2**31 between those two writes. That wrap is the residual risk: within one second, for one item, with a
probability of roughly (sequence-number distance between the writes) / 2**31. A wrong order there leaves the
older of two same-second images indexed until the item's next write (or the audit) corrects it.

The high part needs 32 bits (seconds until 2106), so versions stay below 2**63. Writes use
``version_type=external_gte``: a duplicate or replayed record carries an equal version and is accepted as a
no-op re-write; an older record carries a smaller version and is refused with 409, which the indexer counts
as success ("newer data is already indexed"). Deletes are versioned the same way and leave tombstones that
the index keeps for ``index.gc_deletes`` (set beyond the stream's 24 h retention in ``index.json``), so a late
older update cannot bring a deleted document back.
"""

from __future__ import annotations

LOW_BITS = 31
LOW_MASK = (1 << LOW_BITS) - 1
MAX_VERSION = (1 << 63) - 1

SKEW_MARGIN_S = 60
"""Seconds a backfill's snapshot version lies before the scan started: covers clock skew between the machine
running the backfill and DynamoDB's record timestamps, so every record written after the scan started wins."""


def stream_version(created_at_seconds: float, sequence_number: str) -> int:
    """The external version of a stream record (see the module docstring)."""
    seconds = int(created_at_seconds)
    if not 0 <= seconds < (1 << 32):
        raise ValueError(f"ApproximateCreationDateTime {created_at_seconds!r} is not epoch seconds")
    if not sequence_number.isdigit():
        raise ValueError(f"SequenceNumber {sequence_number!r} is not a decimal number")
    return (seconds << LOW_BITS) | (int(sequence_number) & LOW_MASK)


def snapshot_version(read_started_at: float) -> int:
    """The version of a document read by a scan (backfill) started at ``read_started_at`` (epoch seconds).

    It is lower than the version of any stream record created after ``read_started_at - SKEW_MARGIN_S``, so a
    stream update racing the backfill always wins; it beats stream records older than that, which the scan's
    read already reflects.
    """
    return max(0, int(read_started_at) - SKEW_MARGIN_S) << LOW_BITS


def version_seconds(version: int) -> int:
    """The creation second a version encodes (for logs and the audit)."""
    return version >> LOW_BITS
