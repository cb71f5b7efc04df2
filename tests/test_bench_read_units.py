"""The read units the folding benchmark prices Query pages with: AWS's documented rules, and moto not
following them (so the benchmark cannot take moto's ConsumedCapacity as what DynamoDB would charge).

Rules and examples quoted from "DynamoDB item sizes and formats"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html) and
"DynamoDB read and write operations"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
"""

from __future__ import annotations

import base64
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.read_units import item_size, number_size, query_read_units, value_size  # noqa: E402
from support.streams import clients  # noqa: E402

KB = 1024


# ---- "DynamoDB item sizes and formats" ------------------------------------------------------------------


def test_a_string_is_its_utf8_bytes_and_so_is_the_attribute_name() -> None:
    # "The size of a string is (number of UTF-8-encoded bytes of attribute name) + (number of UTF-8-encoded
    # bytes)."
    assert item_size({"name": {"S": "Ann"}}) == 4 + 3
    assert item_size({"nämé": {"S": "Zoë"}}) == 6 + 4  # ä, é, ë take two bytes each


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("7", 2),  # one significant digit: 1 + 1
        ("12.50", 3),  # trailing zero trimmed: 125, three digits: 2 + 1
        ("-0.00120", 2),  # leading and trailing zeroes trimmed: 12
        ("100000", 2),  # 1
        ("12345678901234567890123456789012345678", 20),  # 38 significant digits: 19 + 1
        ("0", 2),
    ],
)
def test_a_number_is_one_byte_per_two_significant_digits_plus_one(text: str, size: int) -> None:
    # "Numbers are variable length, with up to 38 significant digits. Leading and trailing zeroes are
    # trimmed. The size of a number is approximately (...) + (1 byte per two significant digits) + (1 byte)."
    assert number_size(text) == size
    assert value_size({"N": text}) == size


def test_a_binary_value_counts_its_raw_bytes_not_its_base64_text() -> None:
    # "the value's raw byte length is used for calculating size"
    raw = bytes(range(30))
    assert value_size({"B": base64.b64encode(raw).decode()}) == 30  # as Lambda's events carry it
    assert value_size({"B": raw}) == 30  # as boto3's client returns it


def test_null_and_boolean_are_one_byte() -> None:
    assert item_size({"ok": {"BOOL": True}, "gone": {"NULL": True}}) == (2 + 1) + (4 + 1)


def test_lists_and_maps_carry_three_bytes_and_one_byte_per_element() -> None:
    # "An attribute of type List or Map requires 3 bytes of overhead, regardless of its contents"; the page
    # adds 1 byte of overhead for each element, and sizes an empty one as its name + 3 bytes.
    assert item_size({"l": {"L": []}}) == 1 + 3
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (2 + 1) + (2 + 1)
    assert item_size({"m": {"M": {"key": {"S": "ab"}}}}) == 1 + 3 + (3 + 2 + 1)
    nested = {"M": {"inner": {"L": [{"BOOL": False}]}}}
    assert value_size(nested) == 3 + (5 + (3 + (1 + 1)) + 1)


def test_a_value_that_is_not_dynamodb_json_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown DynamoDB JSON type 'X'"):
        value_size({"X": "1"})
    with pytest.raises(ValueError, match="exactly one type key"):
        value_size({"S": "a", "N": "1"})


# ---- "DynamoDB read and write operations" ---------------------------------------------------------------


def test_a_query_totals_its_items_and_rounds_up_to_the_next_4_kb() -> None:
    # "All items returned are treated as a single read operation, where DynamoDB computes the total size of
    # all items and then rounds up to the next 4 KB boundary. For example, suppose your query returns 10
    # items whose combined size is 40.8 KB. DynamoDB rounds the item size for the operation to 44 KB. If a
    # query returns 1500 items of 64 bytes each, the cumulative size is 96 KB."
    assert query_read_units([round(40.8 * KB / 10)] * 10) == 11  # 44 KB, strongly consistent
    assert query_read_units([64] * 1500) == 24  # 96 KB
    # "reading a 3,500-byte item consumes the same throughput as reading a 4 KB item"
    assert query_read_units([3500]) == 1
    assert query_read_units([4 * KB]) == 1
    assert query_read_units([4 * KB + 1]) == 2


def test_eventually_consistent_reads_cost_half() -> None:
    # "For an eventually consistent read, if the total item size is 80 KB, the operation consumes only 10
    # capacity units."
    assert query_read_units([80 * KB], consistent=False) == 10


def test_a_query_that_finds_nothing_still_costs_a_unit() -> None:
    # "If you perform a read operation on an item that does not exist, DynamoDB still consumes provisioned
    # read throughput: A strongly consistent read request consumes one read capacity unit, while an
    # eventually consistent read request consumes 0.5 of a read capacity unit."
    assert query_read_units([]) == 1
    assert query_read_units([], consistent=False) == 0.5


# ---- moto is kinder than DynamoDB here --------------------------------------------------------------------


def test_moto_reports_one_read_unit_per_query_whatever_its_size(moto_endpoint: str) -> None:
    """So the folding benchmark's tally (ReturnConsumedCapacity as moto answers it) is not what DynamoDB
    charges, and the benchmark prices every Query page by the rules above as well. If moto starts following
    them, this fails and the benchmark's notes about moto's figures must change."""
    dynamodb, _ = clients(moto_endpoint)
    table = f"ru-{uuid.uuid4().hex[:10]}"
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    items: list[dict[str, Any]] = [
        {"PK": {"S": "ORDER#1"}, "SK": {"S": f"ITEM#{n:02d}"}, "description": {"S": "d" * 4000}}
        for n in range(10)
    ]
    for item in items:
        dynamodb.put_item(TableName=table, Item=item)
    answer = dynamodb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "ORDER#1"}},
        ConsistentRead=True,
        ReturnConsumedCapacity="TOTAL",
    )
    assert len(answer["Items"]) == 10
    charged = query_read_units(item_size(item) for item in answer["Items"])
    assert charged == 10  # 10 items of 4,029 bytes (keys, name, value): 40,290 bytes, rounded up to 40 KB
    assert answer["ConsumedCapacity"]["CapacityUnits"] == 1.0
