"""Decoding stream records: every DynamoDB type exactly, keys, and the three event kinds."""

from __future__ import annotations

import base64
import json

import pytest

from indexer.changes import change_from_item, decode_record, plain_item
from indexer.errors import RecordError
from indexer.keys import KeySchema
from support.stream_records import record

KEYS = KeySchema("id")


def test_every_dynamodb_type_becomes_exact_plain_json() -> None:
    item = {
        "s": {"S": "text ünïcode"},
        "big": {"N": "12345678901234567890123456789012345678"},
        "negative": {"N": "-9007199254740993"},
        "exponent": {"N": "1E+3"},
        "fraction": {"N": "0.1"},
        "b": {"B": base64.b64encode(b"\x00\xffbin").decode()},
        "bool": {"BOOL": False},
        "null": {"NULL": True},
        "ss": {"SS": ["pear", "apple", "Zebra"]},
        "ns": {"NS": ["10", "-1", "2.5", "100000000000000000001"]},
        "bs": {"BS": [base64.b64encode(b"\x02").decode(), base64.b64encode(b"\x01").decode()]},
        "l": {"L": [{"N": "1"}, {"S": "x"}, {"L": []}]},
        "m": {"M": {"nested": {"M": {"n": {"N": "3.25"}}}, "empty": {"M": {}}}},
    }
    plain = plain_item(item)
    assert plain == {
        "s": "text ünïcode",
        "big": 12345678901234567890123456789012345678,
        "negative": -9007199254740993,
        "exponent": 1000,
        "fraction": 0.1,
        "b": base64.b64encode(b"\x00\xffbin").decode(),
        "bool": False,
        "null": None,
        "ss": ["Zebra", "apple", "pear"],
        "ns": [-1, 2.5, 10, 100000000000000000001],
        "bs": [base64.b64encode(b"\x01").decode(), base64.b64encode(b"\x02").decode()],
        "l": [1, "x", []],
        "m": {"nested": {"n": 3.25}, "empty": {}},
    }
    assert [type(plain[name]) for name in ("big", "exponent", "fraction")] == [int, int, float]
    json.dumps(plain)  # no Decimal, set or Binary left


def test_binary_from_a_boto3_client_arrives_as_bytes_and_decodes_the_same() -> None:
    as_bytes = plain_item({"b": {"B": b"\x00\xff"}, "bs": {"BS": [b"\x02", b"\x01"]}})
    as_text = plain_item({"b": {"B": "AP8="}, "bs": {"BS": ["Ag==", "AQ=="]}})
    assert as_bytes == as_text == {"b": "AP8=", "bs": ["AQ==", "Ag=="]}


def test_insert_and_modify_index_the_new_image() -> None:
    for name in ("INSERT", "MODIFY"):
        change = decode_record(
            record(
                name,
                {"id": {"S": "b1"}},
                7,
                {"id": {"S": "b1"}, "n": {"N": "2"}, "version": {"N": "3"}},
                1.7e9,
            ),
            KEYS,
            "version",
        )
        assert change.kind == "upsert"
        assert change.image == {"id": "b1", "n": 2, "version": 3}
        assert change.doc_id == "b1"
        assert change.version == 6  # 2 * the item's counter (indexer.versions)


def test_remove_deletes_by_the_keys_and_ignores_any_new_image() -> None:
    change = decode_record(record("REMOVE", {"id": {"S": "b1"}}, 7, {"id": {"S": "other"}}), KEYS)
    assert (change.kind, change.doc_id, change.image, change.key) == ("delete", "b1", None, {"id": "b1"})


def test_keys_only_stream_gives_an_upsert_without_image() -> None:
    change = decode_record(record("INSERT", {"id": {"S": "b1"}}, 7), KEYS)
    assert (change.kind, change.image) == ("upsert", None)


def test_numeric_and_binary_partition_keys_give_canonical_ids() -> None:
    assert decode_record(record("REMOVE", {"id": {"N": "0042"}}, 1), KEYS).doc_id == "42"
    assert decode_record(record("REMOVE", {"id": {"N": "1.50"}}, 1), KEYS).doc_id == "1.5"
    assert decode_record(record("REMOVE", {"id": {"B": "AP8="}}, 1), KEYS).doc_id == "AP8="


def test_composite_keys_join_unambiguously() -> None:
    keys = KeySchema("author", "title")
    ids = {
        keys.doc_id({"author": "a#b", "title": "c"}),
        keys.doc_id({"author": "a", "title": "b#c"}),
        keys.doc_id({"author": 'a","b', "title": "c"}),
        keys.doc_id({"author": "a", "title": 'b","c'}),
        keys.doc_id({"author": "1", "title": "2"}),
        keys.doc_id({"author": 1, "title": 2}),
    }
    assert len(ids) == 6
    assert keys.doc_id({"author": "Ann", "title": 7}) == '["Ann",7]'
    assert json.loads(keys.doc_id({"author": 'q"uote\\', "title": "ü"})) == ['q"uote\\', "ü"]


def test_composite_key_record_uses_both_key_attributes() -> None:
    keys = KeySchema("author", "year")
    change = decode_record(
        record(
            "INSERT",
            {"author": {"S": "Le Guin"}, "year": {"N": "1969"}},
            1,
            {"author": {"S": "Le Guin"}, "year": {"N": "1969"}},
        ),
        keys,
    )
    assert (change.doc_id, change.key) == ('["Le Guin",1969]', {"author": "Le Guin", "year": 1969})


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.update(eventName="UPDATE"), "eventName"),
        (lambda r: r["dynamodb"].pop("SequenceNumber"), "SequenceNumber"),
        (lambda r: r["dynamodb"].pop("ApproximateCreationDateTime"), "ApproximateCreationDateTime"),
        (lambda r: r["dynamodb"].update(Keys={"other": {"S": "x"}}), "key attribute"),
        (lambda r: r["dynamodb"].update(SequenceNumber="12ab"), "SequenceNumber"),
        (lambda r: r["dynamodb"].update(NewImage={"id": {"S": "b1"}, "b": {"B": "not base64!"}}), "base64"),
    ],
)
def test_unusable_records_raise_record_error(mutate, message: str) -> None:
    broken = record("INSERT", {"id": {"S": "b1"}}, 5, {"id": {"S": "b1"}})
    mutate(broken)
    with pytest.raises(RecordError, match=message):
        decode_record(broken, KEYS)


def test_change_from_item_takes_key_and_version_from_the_item_counter() -> None:
    change = change_from_item({"id": {"S": "b1"}, "n": {"N": "5"}}, KEYS, "n")
    assert (change.doc_id, change.kind, change.version, change.image) == (
        "b1",
        "upsert",
        10,
        {"id": "b1", "n": 5},
    )
    assert change.sequence_number is None
