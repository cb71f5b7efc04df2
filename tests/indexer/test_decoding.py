"""Decoding stream records: every DynamoDB type exactly, keys, and the three event kinds."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from indexer.changes import change_from_item, decode_record, plain_item
from indexer.errors import RecordError, SettingsError
from indexer.exact_json import ExactJSONSerializer
from indexer.keys import RAW_ID_FIELD, KeySchema, document_id, is_hashed
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
        "fraction": Decimal("0.1"),
        "b": base64.b64encode(b"\x00\xffbin").decode(),
        "bool": False,
        "null": None,
        "ss": ["Zebra", "apple", "pear"],
        "ns": [-1, Decimal("2.5"), 10, 100000000000000000001],
        "bs": [base64.b64encode(b"\x01").decode(), base64.b64encode(b"\x02").decode()],
        "l": [1, "x", []],
        "m": {"nested": {"n": Decimal("3.25")}, "empty": {}},
    }
    assert [type(plain[name]) for name in ("big", "exponent", "fraction")] == [int, int, Decimal]
    assert ExactJSONSerializer().dumps(plain)  # no set or Binary left; Decimals are written exactly


def test_non_integral_numbers_keep_every_digit_into_the_bulk_body() -> None:
    """DynamoDB numbers carry up to 38 significant digits, magnitudes from 1E-130 to below 1E+126
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number).
    """
    texts = [
        "12345678901234567890.123456789012345678",  # 38 significant digits
        "-0.00000000000000000000000000000000000012345678901234567890123456789012345678",
        "0.0000001",
        "1.50",
        "-9.9999999999999999999999999999999999999",
    ]
    image = plain_item({"id": {"S": "x"}, **{f"n{i}": {"N": t} for i, t in enumerate(texts)}})
    body = ExactJSONSerializer().dumps(image)
    assert body == '{"id":"x",' + ",".join(f'"n{i}":{t}' for i, t in enumerate(texts)) + "}"
    assert json.loads(body, parse_float=Decimal) == image
    assert ExactJSONSerializer().dumps({"n": [1, 2.5, {"k": Decimal("1E+3")}]}) == '{"n":[1,2.5,{"k":1000}]}'


def test_huge_numbers_in_plain_notation_decode_exactly() -> None:
    """DynamoDB writes numbers without an exponent, so 1.2E+125 arrives as 126 digits; boto3's own 38-digit
    context refuses that text (decimal.Rounded) although the number has two significant digits."""
    huge = "12" + "0" * 124
    plain = plain_item({"n": {"N": huge}, "ns": {"NS": ["1" + "0" * 40, "-5"]}, "tiny": {"N": "-1E-130"}})
    assert plain == {"n": int(huge), "ns": [-5, 10**40], "tiny": Decimal("-1E-130")}
    with pytest.raises(RecordError, match="undecodable attribute value"):
        plain_item({"n": {"N": "twelve"}})


def test_numeric_keys_differing_beyond_float_precision_get_different_ids() -> None:
    """DynamoDB trims leading and trailing zeros, so 1, 1.0 and 01.00 are one number and one id."""
    first = "0.12345678901234567890123456789012345678"
    second = "0.12345678901234567890123456789012345679"
    ids = {decode_record(record("REMOVE", {"id": {"N": t}}, 1), KEYS).doc_id for t in (first, second)}
    assert ids == {first, second}
    same = {decode_record(record("REMOVE", {"id": {"N": t}}, 1), KEYS).doc_id for t in ("1", "1.0", "01.00")}
    assert same == {"1"}
    assert decode_record(record("REMOVE", {"id": {"N": "0.0000001"}}, 1), KEYS).doc_id == "0.0000001"
    keys = KeySchema("pk", "sk")
    assert keys.doc_id({"pk": "a", "sk": Decimal("2.50")}) == '["a",2.5]'


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


def test_ids_over_512_bytes_are_hashed_deterministically_and_never_collide_with_a_raw_id() -> None:
    """OpenSearch refuses an _id over 512 bytes of UTF-8
    (https://docs.opensearch.org/latest/mappings/metadata-fields/id/); DynamoDB partition keys reach 2,048
    bytes and sort keys 1,024 (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html)."""
    assert document_id("a" * 512) == "a" * 512  # 512 bytes fit
    assert document_id("é" * 256) == "é" * 256  # 512 bytes of UTF-8 fit
    long_key = "é" * 257  # 514 bytes, 257 characters
    hashed = document_id(long_key)
    assert hashed == document_id(long_key)
    assert is_hashed(hashed)
    assert len(hashed.encode()) <= 512
    assert hashed.startswith("é" * 80)  # a readable prefix, cut at a character boundary
    assert document_id("é" * 258) != hashed
    assert document_id(hashed) not in (hashed, long_key)  # a key that looks hashed is hashed itself
    assert not is_hashed("b1")
    assert not is_hashed("x#sha256=abc")


def test_a_composite_key_of_3072_bytes_gets_a_hashed_id_and_keeps_its_full_id_in_a_field() -> None:
    keys = KeySchema("pk", "sk")
    item = {"pk": {"S": "p" * 2048}, "sk": {"S": "s" * 1024}, "title": {"S": "t"}}
    change = decode_record(record("INSERT", {"pk": item["pk"], "sk": item["sk"]}, 1, item), keys)
    assert is_hashed(change.doc_id)
    assert json.loads(keys.raw_id(change.key)) == ["p" * 2048, "s" * 1024]
    assert RAW_ID_FIELD == "dynamodb_document_id"


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
        (lambda r: r["dynamodb"].pop("Keys"), "Keys"),
        (lambda r: r["dynamodb"].update(SequenceNumber="12ab"), "SequenceNumber"),
        (lambda r: r["dynamodb"].update(NewImage={"id": {"S": "b1"}, "b": {"B": "not base64!"}}), "base64"),
    ],
)
def test_unusable_records_raise_record_error(mutate, message: str) -> None:
    broken = record("INSERT", {"id": {"S": "b1"}}, 5, {"id": {"S": "b1"}})
    mutate(broken)
    with pytest.raises(RecordError, match=message):
        decode_record(broken, KEYS)


@pytest.mark.parametrize(
    ("keys", "record_keys", "message"),
    [
        (KeySchema("author"), {"author": {"S": "Le Guin"}, "year": {"N": "1969"}}, r"TABLE_SORT_KEY='year'"),
        (KeySchema("id"), {"other": {"S": "x"}}, r"TABLE_PARTITION_KEY/TABLE_SORT_KEY.*\['other'\]"),
        (KeySchema("author", "year"), {"author": {"S": "Le Guin"}}, r"keyed by \['author'\]"),
    ],
    ids=["forgotten-sort-key", "other-partition-key", "sort-key-the-table-lacks"],
)
def test_keys_other_than_the_configured_key_schema_are_a_settings_error(
    keys: KeySchema, record_keys: dict[str, Any], message: str
) -> None:
    """Every record of a table carries its key schema in ``Keys`` (StreamRecord: "The primary key
    attribute(s) for the DynamoDB item that was modified"), so a mismatch is the settings' fault."""
    wrong = record("INSERT", record_keys, 5, record_keys)
    with pytest.raises(SettingsError, match=message):
        decode_record(wrong, keys)


def test_change_from_item_takes_key_and_version_from_the_item_counter() -> None:
    change = change_from_item({"id": {"S": "b1"}, "n": {"N": "5"}}, KEYS, "n")
    assert (change.doc_id, change.kind, change.version, change.image) == (
        "b1",
        "upsert",
        10,
        {"id": "b1", "n": 5},
    )
    assert change.sequence_number is None
