"""The bulk writer's pre-built NDJSON body: the same JSON, the same lines and the same chunks as
opensearch-py's ``streaming_bulk`` (with the exact serializer) would have sent; Decimals and integers of any
size keep every digit (DynamoDB numbers: up to 38 significant digits,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opensearchpy.helpers.actions import _ActionChunker, expand_action

from indexer.bulk import _chunks, _Encoded
from indexer.exact_json import ExactJSONSerializer, dumps_bytes, dumps_exact


@st.composite
def dynamodb_numbers(draw: st.DrawFn) -> Decimal:
    """Any DynamoDB number: 1 to 38 significant digits, adjusted exponent -130..125, either sign; the digits
    as a Decimal can carry them (``1.50`` keeps its trailing zero)."""
    significant = draw(st.integers(1, 38))
    coefficient = draw(st.integers(10 ** (significant - 1), 10**significant - 1))
    adjusted = draw(st.one_of(st.integers(-130, 125), st.integers(-8, 40)))
    sign = draw(st.sampled_from([1, -1]))
    return Decimal(sign * coefficient).scaleb(adjusted - (significant - 1))


# Integers beyond 64 bits (orjson refuses them natively) and DynamoDB-sized ones, beside everyday values.
big_integers = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.integers(min_value=-(2**64) - 2, max_value=-(2**63) + 2),
    st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1),
)
exact_values = st.recursive(
    st.one_of(st.none(), st.booleans(), big_integers, st.text(), dynamodb_numbers()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)),
    max_leaves=15,
)


@settings(max_examples=400, deadline=None)
@given(exact_values)
def test_the_fast_encoder_writes_the_exact_encoders_bytes(value: Any) -> None:
    """orjson with Decimal fragments, or the exact encoder for integers beyond 64 bits: byte for byte what
    ``dumps_exact`` writes, so Decimal digits (``1.50``, ``1E+40`` in plain notation) reach ``_source``."""
    assert dumps_bytes(value) == dumps_exact(value).encode("utf-8")


def test_decimals_and_integers_beyond_64_bits_keep_their_digits() -> None:
    document = {
        "price": Decimal("1.50"),
        "tiny": Decimal("-1E-130"),
        "huge": Decimal("1E+40"),
        "digits": Decimal("1234567890.1234567890123456789012345678"),
        "count": 2**64 + 1,
        "negative": -(10**38) + 1,
        "small": 7,
    }
    body = dumps_bytes(document)
    assert b'"price":1.50' in body
    assert b'"tiny":-0.' + b"0" * 129 + b"1" in body
    assert b'"huge":1' + b"0" * 40 in body
    assert b'"digits":1234567890.1234567890123456789012345678' in body
    assert b'"count":18446744073709551617' in body
    assert b'"negative":-' + b"9" * 38 in body
    assert json.loads(body, parse_float=Decimal) == document


def streaming_bulk_lines(action: dict[str, Any]) -> bytes:
    """What streaming_bulk sent for one action: expand_action's lines through the client's serializer."""
    serializer = ExactJSONSerializer()
    meta, source = expand_action(action)
    lines = serializer.dumps(meta) + "\n"
    if source is not None:
        lines += serializer.dumps(source) + "\n"
    return lines.encode("utf-8")


actions = st.fixed_dictionaries(
    {"_id": st.text(min_size=1, max_size=30)},
    optional={
        "_op_type": st.sampled_from(["index", "create", "delete"]),
        "version": big_integers.filter(lambda n: 0 <= n < 2**63),
        "version_type": st.sampled_from(["external_gte", "external"]),
        "_routing": st.text(max_size=5),
        "if_seq_no": st.integers(0, 2**40),
        "_source": st.dictionaries(st.text(max_size=8), exact_values, max_size=5),
    },
)


@settings(max_examples=300, deadline=None)
@given(actions)
def test_each_action_becomes_the_lines_streaming_bulk_sent(action: dict[str, Any]) -> None:
    encoded = _Encoded.of(action)  # type: ignore[arg-type]
    expected = streaming_bulk_lines(action)
    assert len(encoded.lines) == len(expected)  # the byte bound chunks exactly as before
    decoded = [json.loads(line, parse_float=Decimal) for line in encoded.lines.splitlines()]
    assert decoded == [json.loads(line, parse_float=Decimal) for line in expected.splitlines()]
    assert list(decoded[0][encoded.op_type]) == list(json.loads(expected.splitlines()[0])[encoded.op_type])
    assert (encoded.doc_id, encoded.op_type) == (action["_id"], action.get("_op_type", "index"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 3000), min_size=1, max_size=60),
    st.integers(1, 12),
    st.integers(1, 8000),
)
def test_chunks_are_streaming_bulks_chunks(sizes: list[int], max_actions: int, max_bytes: int) -> None:
    """Count and byte bounds as ``_ActionChunker`` applies them (a larger action goes alone)."""
    batch = [{"_id": f"d{i}", "_source": {"text": "x" * size}} for i, size in enumerate(sizes)]
    chunker = _ActionChunker(max_actions, max_bytes, ExactJSONSerializer())
    expected: list[list[str]] = []
    for action in batch:
        full = chunker.feed(*expand_action(action))
        if full:
            expected.append([meta["index"]["_id"] for meta, *_ in full[0]])
    if chunker.bulk_data:
        expected.append([meta["index"]["_id"] for meta, *_ in chunker.bulk_data])
    chunks = _chunks([_Encoded.of(a) for a in batch], max_actions, max_bytes)  # type: ignore[arg-type]
    assert [[a.doc_id for a in chunk] for chunk in chunks] == expected
