"""Counter versions: exact per item, within OpenSearch's range, independent of sequence numbers and clocks."""

from __future__ import annotations

import pytest

from indexer.changes import change_from_item, decode_record
from indexer.errors import RecordError
from indexer.keys import KeySchema
from indexer.settings import Settings
from indexer.versions import (
    MAX_COUNTER,
    MAX_VERSION,
    counter_of,
    delete_version,
    is_delete_version,
    upsert_version,
)
from support.stream_records import record

KEYS = KeySchema("id")
# Shaped like the sequence numbers in AWS's DynamoDB Streams API reference (GetRecords example): consecutive
# records of a shard are ~10**20 apart, so their value modulo 2**31 does not grow with them.
FIRST_SEQ, NEXT_SEQ = "300000000000000499659", "400000000000000499660"


def aws_record(name: str, seq: str, new: dict | None = None, old: dict | None = None) -> dict:
    """A Lambda DynamoDB Streams record (NEW_AND_OLD_IMAGES), whole-second creation time."""
    return record(name, {"id": {"S": "b1"}}, 0, new, 1_700_000_000, old_image=old, sequence=seq)


def image(counter: int) -> dict:
    return {"id": {"S": "b1"}, "version": {"N": str(counter)}}


def test_a_delete_sorts_between_the_image_it_removes_and_the_next_one() -> None:
    assert upsert_version(4) < delete_version(4) < upsert_version(5)
    assert is_delete_version(delete_version(4))
    assert not is_delete_version(upsert_version(4))


def test_the_largest_counter_fits_in_a_signed_long() -> None:
    assert delete_version(MAX_COUNTER) == MAX_VERSION
    with pytest.raises(ValueError, match="counter"):
        upsert_version(MAX_COUNTER + 1)


def test_same_second_records_far_apart_in_sequence_are_ordered_by_their_counters() -> None:
    """The issue's case: the old scheme's low bits (sequence number mod 2**31) went down between these two."""
    assert int(NEXT_SEQ) % 2**31 < int(FIRST_SEQ) % 2**31  # why the derived version failed
    create = decode_record(aws_record("INSERT", FIRST_SEQ, image(1)), KEYS, "version")
    update = decode_record(aws_record("MODIFY", NEXT_SEQ, image(2), image(1)), KEYS, "version")
    assert create.version is not None
    assert update.version is not None
    assert update.version > create.version


def test_remove_takes_its_version_from_the_old_image_ttl_deletes_included() -> None:
    ttl = aws_record("REMOVE", NEXT_SEQ, None, image(7))
    ttl["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}  # a TTL delete
    change = decode_record(ttl, KEYS, "version")
    assert (change.kind, change.version) == ("delete", delete_version(7))


def test_records_without_a_counter_are_left_to_the_sequence_guard() -> None:
    plain = {"id": {"S": "b1"}}
    assert decode_record(aws_record("INSERT", FIRST_SEQ, plain), KEYS, "version").version is None
    assert decode_record(aws_record("REMOVE", NEXT_SEQ, None, plain), KEYS, "version").version is None
    assert decode_record(aws_record("REMOVE", NEXT_SEQ), KEYS, "version").version is None  # no OldImage
    assert decode_record(aws_record("INSERT", FIRST_SEQ, image(3)), KEYS, None).version is None


def test_a_scanned_item_carries_its_own_counter_no_clock() -> None:
    item = {"id": {"S": "b1"}, "version": {"N": "12"}}
    assert change_from_item(item, KEYS, "version").version == upsert_version(12)
    assert change_from_item({"id": {"S": "b1"}}, KEYS, "version").version is None


@pytest.mark.parametrize("value", [{"S": "3"}, {"N": "1.5"}, {"N": "-1"}, {"BOOL": True}, {"N": str(2**62)}])
def test_a_counter_no_writer_of_the_contract_writes_fails_naming_the_setting(value: dict) -> None:
    with pytest.raises(RecordError, match="VERSION_ATTRIBUTE"):
        decode_record(aws_record("INSERT", FIRST_SEQ, {"id": {"S": "b1"}, "version": value}), KEYS, "version")


def test_counter_of_reads_plain_images() -> None:
    assert counter_of({"version": 3}, "version") == 3
    assert counter_of({"other": 3}, "version") is None
    assert counter_of(None, "version") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "version"), ("", "version"), ("rev", "rev"), ("none", None), ("NONE", None)],
)
def test_version_attribute_setting(value: str | None, expected: str | None) -> None:
    environ = {"OPENSEARCH_ENDPOINT": "http://localhost:9200", "OPENSEARCH_AUTH": "none"}
    if value is not None:
        environ["VERSION_ATTRIBUTE"] = value
    assert Settings.from_env(environ).version_attribute == expected
