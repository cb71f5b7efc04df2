"""The fast decoder (``attribute_values``) equals the boto3-based one (``reference_decoder``, boto3's
``TypeDeserializer`` underneath) on every DynamoDB type, well-formed or not.

Types and limits as AWS documents them (Supported data types, Number: 38 significant digits, positive 1E-130
to 9.9999999999999999999999999999999999999E+125; Binary as base64 in the JSON wire format):
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
and the AttributeValue of DynamoDB Streams records ("B": base64-encoded binary, "N": a number sent as a
string, "BS"/"NS"/"SS" sets, "L", "M", "NULL", "BOOL"):
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_AttributeValue.html.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.attribute_values import plain_value
from indexer.changes import plain_item
from indexer.errors import RecordError
from support.reference_decoder import PlainDeserializer

ORACLE = PlainDeserializer()
DECODE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, ArithmeticError)


@st.composite
def number_texts(draw: st.DrawFn) -> str:
    """DynamoDB number text: plain digits, 38-digit values, exponents (1E+40, -1E-130), beyond 64 bits."""
    special = st.sampled_from(
        ["0", "-0", "1E+40", "-1E-130", "1E-130", "9.9999999999999999999999999999999999999E+125", "1.50"]
    )
    significant = draw(st.integers(1, 38))
    coefficient = draw(st.integers(10 ** (significant - 1), 10**significant - 1))
    exponent = draw(st.integers(-130, 125))
    sign = draw(st.sampled_from(["", "-"]))
    plain = str(coefficient)
    scaled = format(Decimal(sign + plain).scaleb(exponent - (significant - 1)), "f")
    big = str(draw(st.integers(2**63 - 5, 10**38 - 1)))
    return draw(
        st.one_of(
            special, st.just(sign + plain), st.just(scaled), st.just(big), st.just(f"{plain}E{exponent}")
        )
    )


binaries = st.binary(max_size=8)
base64_texts = binaries.map(lambda b: base64.b64encode(b).decode())
scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=10)),
    st.builds(lambda n: {"N": n}, number_texts()),
    st.builds(lambda b: {"B": b}, st.one_of(binaries, base64_texts, binaries.map(Binary))),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda v: {"SS": v}, st.lists(st.text(max_size=6), min_size=1, max_size=5, unique=True)),
    st.builds(lambda v: {"NS": v}, st.lists(number_texts(), min_size=1, max_size=5)),
    st.builds(lambda v: {"BS": v}, st.lists(st.one_of(binaries, base64_texts), min_size=1, max_size=4)),
)
attribute_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.builds(lambda v: {"L": v}, st.lists(inner, max_size=4)),
        st.builds(lambda v: {"M": v}, st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    ),
    max_leaves=15,
)
# Malformed or unusual input: lower-case and unknown tags, several keys, wrong value types, bad numbers.
odd_values = st.recursive(
    st.dictionaries(
        st.sampled_from(["S", "N", "B", "s", "n", "Bool", "NULL", "SS", "NS", "BS", "X", "", "M", "L"]),
        st.one_of(
            st.text(max_size=6),
            number_texts(),
            st.sampled_from(["NaN", "Infinity", "1_000", " 7", "٣", "²", "1e5", "abc", "AP8=", "!!"]),
            st.integers(),
            st.booleans(),
            st.none(),
            st.lists(st.text(max_size=3), max_size=3),
        ),
        max_size=2,
    ),
    lambda inner: st.one_of(
        st.dictionaries(st.sampled_from(["M", "L", "m"]), st.lists(inner, max_size=3), max_size=1),
        st.dictionaries(st.just("M"), st.dictionaries(st.text(max_size=3), inner, max_size=3), max_size=1),
    ),
    max_leaves=8,
)


def outcome(decode: Any, value: Any) -> tuple[str, str]:
    """The decoded value's repr (types and Decimal digits included), or that decoding failed."""
    try:
        return ("value", repr(decode(value)))
    except RecordError:
        return ("error", "RecordError")
    except DECODE_ERRORS:
        return ("error", "decode error")


@settings(max_examples=1000, deadline=None)
@given(attribute_values)
def test_every_dynamodb_type_decodes_as_boto3_does(value: dict[str, Any]) -> None:
    expected = ORACLE.deserialize(value)
    decoded = plain_value(value)
    assert repr(decoded) == repr(expected)  # int vs Decimal and Decimal("1.50") vs Decimal("1.5") differ


@settings(max_examples=1000, deadline=None)
@given(odd_values)
def test_malformed_values_fail_or_decode_exactly_as_boto3_does(value: dict[str, Any]) -> None:
    assert outcome(plain_value, value) == outcome(ORACLE.deserialize, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"N": "12345678901234567890123456789012345678"}, 12345678901234567890123456789012345678),
        ({"N": "18446744073709551617"}, 2**64 + 1),
        ({"N": "1E+40"}, 10**40),
        ({"N": "-1E-130"}, Decimal("-1E-130")),
        ({"N": "1.50"}, Decimal("1.50")),
        ({"B": Binary(b"\x00\xff")}, "AP8="),
        ({"NS": ["10", "-1", "2.5"]}, [-1, Decimal("2.5"), 10]),
    ],
)
def test_the_edges_of_dynamodb_numbers_and_boto3_binary(value: dict[str, Any], expected: Any) -> None:
    assert repr(plain_value(value)) == repr(expected) == repr(ORACLE.deserialize(value))


def test_undecodable_values_are_record_errors() -> None:
    for bad in ({}, {"X": "1"}, {"N": "NaN"}, {"N": "twelve"}, {"B": "!!"}):
        with pytest.raises(RecordError):
            plain_item({"a": bad})
