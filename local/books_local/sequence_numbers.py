"""DynamoDB Streams sequence numbers shaped like AWS's, and moto's numbers presented in that shape.

AWS's numbers (DynamoDB Streams API reference):
- ``StreamRecord``: ``SequenceNumber`` is a string of 21 to 40 digits
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html);
- ``GetRecords`` example: consecutive records of one shard are ``300000000000000499659`` then
  ``400000000000000499660``, about 10^20 apart
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html);
- ``DescribeStream`` example: a shard starts at ``20500000000000000910398``, its child after a split at
  ``820400000000000001192334``, above every number of its parent
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_DescribeStream.html).

moto's numbers start at ``1100000000017454423009`` and grow by 1, which hides every bug that assumes small
gaps (a version built from ``SequenceNumber mod 2**31`` stays ordered). ``ShardNumbering`` maps moto's n-th
record of a shard to ``start + n * STRIDE``: the same order, AWS's spacing, and invertible, so a checkpoint
kept in AWS's shape still positions moto's iterator exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# 400000000000000499660 - 300000000000000499659: the GetRecords example's gap between consecutive records.
STRIDE = 10**20 + 1
# The DescribeStream example's first shard; a child shard starts this far above its parent's start.
ROOT_SHARD_START = 20_500_000_000_000_000_910_398
CHILD_SHARD_OFFSET = 10**37
MIN_DIGITS, MAX_DIGITS = 21, 40


def is_aws_shaped(sequence_number: str) -> bool:
    """Whether ``sequence_number`` is a decimal string of 21 to 40 digits, as StreamRecord documents."""
    return sequence_number.isdigit() and MIN_DIGITS <= len(sequence_number) <= MAX_DIGITS


@dataclass(frozen=True)
class ShardNumbering:
    """AWS-shaped numbers for one shard whose emulator numbers start at ``emulator_start`` and grow by 1."""

    emulator_start: int
    start: int = ROOT_SHARD_START

    def child(self, emulator_start: int) -> ShardNumbering:
        """The numbering of a shard split from this one: it starts above every number of this shard."""
        return ShardNumbering(emulator_start, self.start + CHILD_SHARD_OFFSET)

    def to_aws(self, emulator_number: str | int) -> str:
        position = int(emulator_number) - self.emulator_start
        if position < 0:
            raise ValueError(f"{emulator_number} is before its shard's start {self.emulator_start}")
        number = str(self.start + position * STRIDE)
        if len(number) > MAX_DIGITS:
            raise ValueError(f"shard position {position} does not fit in {MAX_DIGITS} digits")
        return number

    def to_emulator(self, aws_number: str | int) -> str:
        offset = int(aws_number) - self.start
        position, remainder = divmod(offset, STRIDE)
        if offset < 0 or remainder:
            raise ValueError(f"{aws_number} is not a sequence number of this shard")
        return str(self.emulator_start + position)


def numbering_of(shard: Mapping[str, Any], known: Mapping[str, ShardNumbering]) -> ShardNumbering:
    """The numbering of a shard as DescribeStream lists it; a child of a ``known`` shard starts above it."""
    start = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
    parent = known.get(shard.get("ParentShardId") or "")
    return parent.child(start) if parent is not None else ShardNumbering(start)
