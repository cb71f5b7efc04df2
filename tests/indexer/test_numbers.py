"""Numbers kept exactly, against the stand-in over the wire: DynamoDB's decimal text reaches ``_source``
digit for digit, ids come from canonical decimal text, and the mapping policy keeps field types independent of
the first value seen.

DynamoDB numbers: up to 38 significant digits, magnitudes from 1E-130 to below 1E+126, leading and trailing
zeros trimmed (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number).
OpenSearch maps a new whole number as ``long`` and a new fraction as ``float`` unless a dynamic template says
otherwise (https://docs.opensearch.org/latest/mappings/dynamic-templates/).
"""

from __future__ import annotations

import urllib.request
from typing import Any

from opensearchpy import OpenSearch

from indexer.batch import Runtime, process_batch
from indexer.keys import KeySchema
from support.streams import LambdaContext, StreamReader, create_streamed_table, lambda_event, record

NO_FAILURES = {"batchItemFailures": []}
BASE_SEQ = 300000000000000499659
STEP = 10**20  # consecutive records of a shard are about 10^20 apart on AWS


def insert(i: int, keys: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    return record("INSERT", keys, BASE_SEQ + i * STEP, {**keys, **attributes}, 1_764_000_000)


def raw_source(opensearch_url: str, alias: str, doc_id: str) -> str:
    """The document's JSON text as the server returns it (no float parsing on our side)."""
    with urllib.request.urlopen(f"{opensearch_url}/{alias}/_doc/{doc_id}") as answer:
        return answer.read().decode()


def test_decimal_text_reaches_the_index_unchanged(
    env: dict[str, str], opensearch_url: str, unique_name: str
) -> None:
    runtime = Runtime.from_env(env)
    numbers = {
        "price": "12345678901234567890.123456789012345678",  # 38 significant digits
        "tiny": "0.0000001",
        "negative": "-1.5",
        "beyond_64_bits": "123456789012345678901234567890",  # > 2^64: 'long' would refuse the item
        "smallest": "0." + "0" * 129 + "1",  # 1E-130
    }
    image = {name: {"N": text} for name, text in numbers.items()}
    response = process_batch(
        lambda_event([insert(0, {"id": {"S": "b1"}}, **image)]), LambdaContext(), runtime
    )
    assert response == NO_FAILURES
    text = raw_source(opensearch_url, unique_name, "b1")
    for name, digits in numbers.items():
        assert f'"{name}":{digits}' in text


def test_field_types_do_not_follow_the_first_value_seen(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    runtime = Runtime.from_env(env)
    events = [
        insert(0, {"id": {"S": "b1"}}, rating={"N": "10"}),
        insert(1, {"id": {"S": "b2"}}, rating={"N": "10.5"}),
        insert(2, {"id": {"S": "b3"}}, rating={"N": "18446744073709551617"}),  # 2^64 + 1
    ]
    assert process_batch(lambda_event(events), LambdaContext(), runtime) == NO_FAILURES
    mapping = search.indices.get_mapping(index=unique_name)
    (properties,) = [m["mappings"]["properties"] for m in mapping.values()]
    assert properties["rating"]["type"] == "double"
    search.indices.refresh(index=unique_name)
    query = {"query": {"range": {"rating": {"gt": 10.2}}}, "sort": [{"rating": "asc"}]}
    hits = search.search(index=unique_name, body=query)["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["b2", "b3"]  # 10.5 was not truncated to 10


def test_numeric_keys_beyond_float_precision_are_two_documents(
    env: dict[str, str], search: OpenSearch, unique_name: str
) -> None:
    runtime = Runtime.from_env({**env, "TABLE_PARTITION_KEY": "pk"})
    first, second = "0.12345678901234567890123456789012345678", "0.12345678901234567890123456789012345679"
    events = [
        insert(0, {"pk": {"N": first}}),
        insert(1, {"pk": {"N": second}}),
        insert(2, {"pk": {"N": "1.0"}}),
    ]
    assert process_batch(lambda_event(events), LambdaContext(), runtime) == NO_FAILURES
    search.indices.refresh(index=unique_name)
    hits = search.search(index=unique_name, body={"size": 10})["hits"]["hits"]
    assert sorted(hit["_id"] for hit in hits) == sorted([first, second, "1"])
    assert KeySchema("pk").doc_id({"pk": 1}) == "1"  # 1.0 and 1 are one DynamoDB number, one document


def test_numbers_from_moto_stream_records_reach_the_index_exactly(
    env: dict[str, str], dynamo: tuple[Any, Any], opensearch_url: str, unique_name: str
) -> None:
    """The same through real stream records (moto's DynamoDB Streams), not hand-made ones."""
    dynamodb, streams = dynamo
    stream_arn = create_streamed_table(dynamodb, unique_name)
    numbers = {"price": "98765432109876543210.987654321098765432", "ratio": "-0.000000000000000000000001"}
    item = {"id": {"S": "b1"}, **{name: {"N": text} for name, text in numbers.items()}}
    dynamodb.put_item(TableName=unique_name, Item=item)
    runtime = Runtime.from_env(env)
    event = StreamReader(streams, stream_arn).event()
    assert process_batch(event, LambdaContext(), runtime) == NO_FAILURES
    text = raw_source(opensearch_url, unique_name, "b1")
    for name, digits in numbers.items():
        assert f'"{name}":{digits}' in text
