"""Properties over generated values: decoding is exact, ids are injective, versions keep stream order."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.changes import plain_item
from indexer.keys import KeySchema
from indexer.versions import delete_version, upsert_version

# DynamoDB numbers: up to 38 significant digits
integers = st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1)
texts = st.text(max_size=20)
scalars = st.one_of(integers, texts, st.booleans(), st.none(), st.binary(max_size=8))
values = st.recursive(
    st.one_of(
        scalars,
        st.sets(integers, min_size=1, max_size=5),
        st.sets(texts, min_size=1, max_size=5),
        st.sets(st.binary(max_size=4), min_size=1, max_size=4),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


def expected_plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, set):
        return [expected_plain(v) for v in sorted(value)]
    if isinstance(value, list):
        return [expected_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: expected_plain(v) for k, v in value.items()}
    return value


def to_dynamodb(value: Any) -> Any:
    """Python value -> what TypeSerializer accepts (ints as Decimal, bytes as-is)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, set):
        return {to_dynamodb(v) for v in value}
    if isinstance(value, list):
        return [to_dynamodb(v) for v in value]
    if isinstance(value, dict):
        return {k: to_dynamodb(v) for k, v in value.items()}
    return value


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=6))
def test_every_generated_item_decodes_to_exact_plain_json(item: dict[str, Any]) -> None:
    serializer = TypeSerializer()
    dynamodb_json = {name: serializer.serialize(to_dynamodb(value)) for name, value in item.items()}
    plain = plain_item(dynamodb_json)
    assert plain == expected_plain(item)
    assert json.loads(json.dumps(plain)) == plain


key_parts = st.one_of(st.text(max_size=12), st.integers(min_value=-(10**20), max_value=10**20))


@settings(max_examples=300, deadline=None)
@given(key_parts, key_parts, key_parts, key_parts)
def test_composite_ids_are_injective_and_reversible(a: Any, b: Any, c: Any, d: Any) -> None:
    keys = KeySchema("pk", "sk")
    first, second = keys.doc_id({"pk": a, "sk": b}), keys.doc_id({"pk": c, "sk": d})
    assert json.loads(first) == [a, b]
    assert (first == second) == ((type(a), a, type(b), b) == (type(c), c, type(d), d))


@settings(max_examples=500, deadline=None)
@given(
    st.integers(0, 2**40), st.lists(st.tuples(st.booleans(), st.integers(1, 2**20)), min_size=1, max_size=10)
)
def test_counter_versions_follow_the_items_history(first: int, steps: list[tuple[bool, int]]) -> None:
    """One item's history: updates raise the counter, a delete removes the last image, a re-creation continues
    the counter (indexer.versions). Versions strictly increase, whatever the sequence numbers' gaps."""
    counter, history = first, [upsert_version(first)]
    for delete, gap in steps:
        if delete:  # deleted, then re-created
            history.append(delete_version(counter))
        counter += gap
        history.append(upsert_version(counter))
    assert history == sorted(set(history))
