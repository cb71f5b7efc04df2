"""Properties over generated values: decoding is exact, ids are injective, versions keep stream order."""

from __future__ import annotations

import base64
import json
from decimal import Context, Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.changes import plain_item
from indexer.exact_json import ExactJSONSerializer, dumps_exact
from indexer.keys import KeySchema, document_id, is_hashed
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


# --- numbers beyond float precision and ids beyond 512 bytes ---------------------------------------------
# DynamoDB numbers: up to 38 significant digits, positive magnitudes 1E-130 to 9.99...E+125, negatives
# alike; leading and trailing zeros trimmed
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number).


@st.composite
def dynamodb_numbers(draw: st.DrawFn) -> Decimal:
    """Any DynamoDB number: 1 to 38 significant digits, adjusted exponent -130..125, either sign."""
    significant = draw(st.integers(1, 38))
    coefficient = draw(st.integers(10 ** (significant - 1), 10**significant - 1))
    adjusted = draw(st.one_of(st.integers(-130, 125), st.integers(-8, 40)))  # tiny, huge and everyday
    sign = draw(st.sampled_from([1, -1]))
    return Decimal(sign * coefficient).scaleb(adjusted - (significant - 1))


def dynamodb_text(number: Decimal) -> str:
    """The number as DynamoDB sends it: plain notation, no leading or trailing zeros."""
    return format(number.normalize(Context(prec=38)), "f")


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), dynamodb_numbers(), min_size=1, max_size=6))
def test_every_dynamodb_number_reaches_the_bulk_body_exactly(numbers: dict[str, Decimal]) -> None:
    texts = {name: dynamodb_text(number) for name, number in numbers.items()}
    plain = plain_item({name: {"N": text} for name, text in texts.items()})
    body = ExactJSONSerializer().dumps(plain)
    parsed = json.loads(body, parse_float=Decimal)
    assert parsed == numbers  # the same values, compared exactly (int or Decimal, never float)
    for name, text in texts.items():
        assert json.dumps(name, ensure_ascii=False) + ":" + text in body  # DynamoDB's digits, unchanged
        if Decimal(text) != Decimal(text).to_integral_value():
            assert isinstance(plain[name], Decimal)


@settings(max_examples=400, deadline=None)
@given(dynamodb_numbers(), dynamodb_numbers())
def test_numeric_ids_are_equal_exactly_when_the_numbers_are(a: Decimal, b: Decimal) -> None:
    keys = KeySchema("n")
    id_a = keys.doc_id(plain_item({"n": {"N": dynamodb_text(a)}}))
    id_b = keys.doc_id(plain_item({"n": {"N": dynamodb_text(b)}}))
    assert (id_a == id_b) == (a == b)
    assert Decimal(id_a) == a  # canonical text of the same value
    assert "E" not in id_a
    assert "e" not in id_a


def key_text(max_bytes: int) -> st.SearchStrategy[str]:
    """Key strings up to DynamoDB's byte limit, often beyond OpenSearch's 512-byte _id, multi-byte too."""
    long = st.text(alphabet=st.characters(codec="utf-8"), min_size=120, max_size=max_bytes // 2)
    return st.one_of(st.text(min_size=1, max_size=12), long).filter(
        lambda text: 1 <= len(text.encode()) <= max_bytes
    )


@settings(max_examples=300, deadline=None)
@given(key_text(2048), key_text(1024), key_text(2048), key_text(1024))
def test_ids_fit_512_bytes_and_stay_injective_for_keys_up_to_dynamodb_limits(
    pk_a: str, sk_a: str, pk_b: str, sk_b: str
) -> None:
    """Partition keys reach 2,048 bytes and sort keys 1,024
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html);
    OpenSearch refuses an _id over 512 bytes (https://docs.opensearch.org/latest/mappings/metadata-fields/id/)."""
    for keys, a, b in (
        (KeySchema("pk"), {"pk": pk_a}, {"pk": pk_b}),
        (KeySchema("pk", "sk"), {"pk": pk_a, "sk": sk_a}, {"pk": pk_b, "sk": sk_b}),
    ):
        id_a, id_b = keys.doc_id(a), keys.doc_id(b)
        assert len(id_a.encode()) <= 512
        assert (id_a == id_b) == (a == b)
        raw = keys.raw_id(a)
        assert is_hashed(id_a) == (len(raw.encode()) > 512)
        assert id_a == (document_id(raw))
        if keys.sort_key is not None:
            assert json.loads(raw) == [pk_a, sk_a]


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(json_values, dynamodb_numbers())
def test_the_exact_encoder_writes_what_json_writes_and_decimals_exactly(value: Any, number: Decimal) -> None:
    """The slow path (documents holding a Decimal) must agree with the standard library on everything else."""
    assert dumps_exact(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    document = {"other": value, "n": number}
    body = ExactJSONSerializer().dumps(document)
    assert json.loads(body, parse_float=Decimal) == json.loads(
        json.dumps({"other": value}), parse_float=Decimal
    ) | {"n": number}
