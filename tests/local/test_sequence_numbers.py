"""AWS-shaped sequence numbers: the local stack's mapping of moto's and the tests' one record builder.

Each rule cites the DynamoDB Streams API reference: StreamRecord (21 to 40 digits, creation time rounded down
to the second), GetRecords (consecutive records ~10^20 apart), DescribeStream (a child shard starts above its
parent).
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from books_local.sequence_numbers import (
    MAX_DIGITS,
    ROOT_SHARD_START,
    STRIDE,
    ShardNumbering,
    is_aws_shaped,
    numbering_of,
)
from support.stream_records import StreamBuilder, sequence_number

MOTO_START = 1100000000017454423009  # moto 5.x's first sequence number of every shard


def test_get_records_example_spacing_and_describe_stream_example_start() -> None:
    # GetRecords example: 300000000000000499659 then 400000000000000499660
    assert int("400000000000000499660") - int("300000000000000499659") == STRIDE
    # DescribeStream example: the first shard starts at 20500000000000000910398
    assert ShardNumbering(MOTO_START).to_aws(MOTO_START) == "20500000000000000910398"


@given(st.integers(min_value=0, max_value=10**6))
def test_moto_numbers_map_in_order_and_back(position: int) -> None:
    numbering = ShardNumbering(MOTO_START)
    aws = numbering.to_aws(MOTO_START + position)
    assert is_aws_shaped(aws)
    assert numbering.to_emulator(aws) == str(MOTO_START + position)
    assert int(numbering.to_aws(MOTO_START + position + 1)) - int(aws) == STRIDE


def test_a_child_shard_starts_above_every_number_of_its_parent() -> None:
    parent = ShardNumbering(MOTO_START)
    child = parent.child(MOTO_START + 500)
    assert int(child.to_aws(MOTO_START + 500)) > int(parent.to_aws(MOTO_START + 10**9))


def test_numbers_that_are_not_of_the_shard_are_refused() -> None:
    numbering = ShardNumbering(MOTO_START)
    with pytest.raises(ValueError, match="not a sequence number of this shard"):
        numbering.to_emulator(str(ROOT_SHARD_START + 1))
    with pytest.raises(ValueError, match="before its shard's start"):
        numbering.to_aws(MOTO_START - 1)
    with pytest.raises(ValueError, match="digits"):
        numbering.to_aws(MOTO_START + 10**MAX_DIGITS // STRIDE)


def test_the_builder_writes_like_a_table_stream() -> None:
    stream = StreamBuilder(writes_per_second=4)
    stream.put({"id": {"S": "a"}, "n": {"N": "1"}})
    stream.put({"id": {"S": "a"}, "n": {"N": "2"}})
    assert stream.delete({"id": {"S": "missing"}}) is None  # DynamoDB writes no record for it
    stream.delete({"id": {"S": "a"}})
    stream.split()
    stream.put({"id": {"S": "a"}, "n": {"N": "3"}})
    insert, modify, remove, again = stream.records
    assert "OldImage" not in again["dynamodb"]  # re-created after the delete: an INSERT
    assert [r["eventName"] for r in stream.records] == ["INSERT", "MODIFY", "REMOVE", "INSERT"]
    assert modify["dynamodb"]["OldImage"] == insert["dynamodb"]["NewImage"]
    assert "NewImage" not in remove["dynamodb"]
    assert remove["dynamodb"]["OldImage"] == modify["dynamodb"]["NewImage"]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in stream.records]
    assert all(is_aws_shaped(str(n)) for n in numbers)
    assert [b - a for a, b in itertools.pairwise(numbers[:3])] == [STRIDE, STRIDE]
    assert numbers[3] > numbers[2] + STRIDE  # the child shard starts above its parent
    seconds = {r["dynamodb"]["ApproximateCreationDateTime"] for r in stream.records}
    assert len(seconds) == 1  # four writes in one second share it
    assert all(isinstance(second, int) for second in seconds)
    assert all(r["dynamodb"]["SizeBytes"] > 0 for r in stream.records)
    assert all(r["eventSourceARN"].endswith("/stream/2026-11-23T00:00:00.000") for r in stream.records)


def test_hand_made_records_sit_at_their_position_of_a_shard() -> None:
    assert sequence_number(0) == str(ROOT_SHARD_START)
    assert int(sequence_number(7)) - int(sequence_number(6)) == STRIDE


def test_shards_as_describe_stream_lists_them_number_children_above_parents() -> None:
    parent = {"ShardId": "p", "SequenceNumberRange": {"StartingSequenceNumber": str(MOTO_START)}}
    child = {
        "ShardId": "c",
        "ParentShardId": "p",
        "SequenceNumberRange": {"StartingSequenceNumber": str(MOTO_START + 40)},
    }
    known = {"p": numbering_of(parent, {})}
    assert known["p"] == ShardNumbering(MOTO_START)
    numbered = numbering_of(child, known)
    assert int(numbered.to_aws(MOTO_START + 40)) > int(known["p"].to_aws(MOTO_START + 10**6))
    assert numbering_of(child, {}) == ShardNumbering(MOTO_START + 40)  # parent unknown (trimmed): a root
