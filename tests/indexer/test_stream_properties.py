"""Properties over AWS-shaped stream histories: whatever the gaps between sequence numbers (2^31 and more),
however many writes share a second, across a shard split, with or without the items' write counter, the
index ends equal to the table, in order and after any replay. Judged by the independent oracle."""

from __future__ import annotations

import random
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from books_local.sequence_numbers import is_aws_shaped
from indexer.batch import Runtime, process_batch, reset_runtime
from support import index_oracle
from support.stream_records import LambdaContext, batches, lambda_event
from support.stream_strategies import History, histories

NO_FAILURES = {"batchItemFailures": []}


def decoded(history: History) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    decode = TypeDeserializer().deserialize
    return {doc_id: {k: decode(v) for k, v in item.items()} for doc_id, item in history.items.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories(), seed=st.integers(0, 2**32), batch_size=st.integers(1, 12))
def test_any_delivery_of_an_aws_shaped_history_ends_with_the_table(
    env: dict[str, str], opensearch_url: str, history: History, seed: int, batch_size: int
) -> None:
    assert all(is_aws_shaped(r["dynamodb"]["SequenceNumber"]) for r in history.records)
    alias = f"prop-{uuid.uuid4().hex[:12]}"
    reset_runtime()
    runtime = Runtime.from_env({**env, "OPENSEARCH_INDEX": alias})
    for event in batches(history.records, batch_size):  # in stream order, as Lambda delivers a shard
        assert process_batch(event, LambdaContext(), runtime) == NO_FAILURES
    verdict = index_oracle.judge(decoded(history), index_oracle.served_documents(opensearch_url, alias))
    assert verdict.clean, str(verdict)

    rng = random.Random(seed)  # then any replay: duplicated, shuffled, in batches of any size
    replay = history.records + rng.sample(history.records, len(history.records) // 2)
    rng.shuffle(replay)
    while replay:
        size = rng.randint(1, 12)
        batch, replay = replay[:size], replay[size:]
        assert process_batch(lambda_event(batch), LambdaContext(), runtime) == NO_FAILURES
    verdict = index_oracle.judge(decoded(history), index_oracle.served_documents(opensearch_url, alias))
    assert verdict.clean, str(verdict)
