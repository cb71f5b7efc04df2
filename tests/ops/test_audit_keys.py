"""Keys the audit and the table replay match exactly: 38-digit numbers stay two keys, a hashed id keeps the
key the scan saw.

DynamoDB numbers carry up to 38 significant digits, and ``1``, ``1.0`` and ``01.00`` are one number
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
#HowItWorks.DataTypes.Number); Python's default decimal context keeps 28, so two keys differing in the 38th
digit must not be normalised through it. Partition keys reach 2,048 bytes
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-partition-sort-keys)
while OpenSearch's ``_id`` stops at 512 (https://docs.opensearch.org/latest/mappings/metadata-fields/id/), so
such a document's ``_id`` is a hash that cannot be turned back into its key.

Everything runs against moto and the OpenSearch stand-in; the verdict comes from the independent oracle
(``support.index_oracle``), which reads the table with boto3 and the index over plain HTTP.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
from opensearchpy import OpenSearch
from ops.traffic import on_failure_message

from indexer.index_setup import ensure_index
from indexer.keys import RAW_ID_FIELD, document_id, is_hashed
from indexer.ops.audit import AuditOptions, audit
from indexer.ops.backfill import BackfillOptions, backfill
from indexer.ops.dlq import ReplayOptions, replay_dlq
from indexer.ops.reads import get_items
from indexer.ops.target import Target, open_target, settings_from
from support import index_oracle
from support.streams import StreamReader, clients, create_streamed_table

# Two 38-digit keys that Python's default 28-digit context rounds to the same number.
BIG = (
    Decimal("12345678901234567890123456789012345671"),
    Decimal("12345678901234567890123456789012345672"),
)
LONG_ID = "k" * 600  # over OpenSearch's 512-byte _id: the document's _id is hashed


def numbers_table(env: dict[str, str], moto_endpoint: str) -> tuple[Target, Any]:
    """A table keyed by the number ``n``, and the tool's target for it."""
    name = f"{env['TABLE_NAME']}-n"
    dynamodb, _ = clients(moto_endpoint)
    create_streamed_table(dynamodb, name, partition_key=("n", "N"))
    settings = settings_from({**env, "TABLE_PARTITION_KEY": "n"})
    resource = boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    return open_target(settings, name, dynamodb_endpoint=moto_endpoint), resource.Table(name)


def tamper(search: OpenSearch, alias: str, doc_id: str) -> None:
    """Make the document differ from its item, at its own version (the repair's write then wins)."""
    doc = search.get(index=alias, id=doc_id)
    search.index(
        index=alias,
        id=doc_id,
        body={**doc["_source"], "title": "not what the table says"},
        params={"version": doc["_version"], "version_type": "external_gte"},
    )


def verdict(target: Target, key: str) -> index_oracle.Verdict:
    """The oracle's verdict for a table keyed by ``key`` alone: the id is the key's text, hashed beyond 512
    bytes with the full id kept in ``dynamodb_document_id``, as the indexer's README states."""
    settings = target.settings

    def project(item: dict[str, Any]) -> dict[str, Any]:
        document = {k: v for k, v in item.items() if k not in settings.exclude_attributes}
        if len(str(item[key]).encode()) > 512:
            document[RAW_ID_FIELD] = str(item[key])
        return document

    return index_oracle.judge(
        index_oracle.table_items(target.dynamodb, target.table, lambda item: document_id(str(item[key]))),
        index_oracle.served_documents(settings.opensearch_endpoint, target.alias),
        project=project,
    )


def test_batch_get_item_answers_are_matched_to_38_digit_keys_exactly(
    env: dict[str, str], moto_endpoint: str
) -> None:
    target, table = numbers_table(env, moto_endpoint)
    for n in BIG:
        table.put_item(Item={"n": n, "title": f"book {n}", "version": 1})
    keys = {str(n): {"n": {"N": str(n)}} for n in BIG}

    items = get_items(target, keys)

    assert {doc_id: item["n"]["N"] for doc_id, item in items.items()} == {str(n): str(n) for n in BIG}


def test_audit_repair_keeps_both_documents_of_keys_that_differ_in_the_38th_digit(
    env: dict[str, str], moto_endpoint: str, search: OpenSearch
) -> None:
    """Both documents are stale; each must be repaired from its own item. Matching keys through a 28-digit
    context made one of them look orphaned, and the repair tombstoned a live document."""
    target, table = numbers_table(env, moto_endpoint)
    for n in BIG:
        table.put_item(Item={"n": n, "title": f"book {n}", "version": 1})
    ensure_index(target.search, target.settings)
    assert backfill(target, BackfillOptions(segments=1)).ok
    for n in BIG:
        tamper(search, target.alias, str(n))

    found = audit(target, AuditOptions(segments=1, recheck_after=0, repair=True))

    summary = found.summary()
    assert (summary["stale"], summary["orphaned"], summary["missing"]) == (2, 0, 0), summary
    assert summary["repair_failed"] == 0
    judged = verdict(target, "n")
    assert judged.clean, judged
    assert sorted(index_oracle.served_documents(target.settings.opensearch_endpoint, target.alias)) == sorted(
        str(n) for n in BIG
    )


def test_a_missing_document_with_a_hashed_id_is_confirmed_and_repaired(
    target: Target, table: Any, search: OpenSearch
) -> None:
    """The document of a key over 512 bytes is gone from the index: its hashed _id cannot give the key back,
    so the confirmation must use the key the scan saw, or the audit reports clean while it is missing."""
    table.resource.put_item(Item=table.book(LONG_ID, 1))
    table.seed(5)
    ensure_index(target.search, target.settings)
    assert backfill(target, BackfillOptions(segments=1)).ok
    hashed = target.keys.doc_id({"id": LONG_ID})
    assert is_hashed(hashed)
    version = search.get(index=target.alias, id=hashed)["_version"]
    search.delete(index=target.alias, id=hashed, params={"version": version, "version_type": "external_gte"})

    found = audit(target, AuditOptions(segments=1, recheck_after=0))
    assert found.summary()["missing_examples"] == [hashed], found.summary()

    repaired = audit(target, AuditOptions(segments=1, recheck_after=0, repair=True))
    assert repaired.summary()["repaired"] == 1
    assert audit(target, AuditOptions(segments=1, recheck_after=0)).clean
    judged = verdict(target, "id")
    assert judged.clean, judged


def test_replay_from_the_table_keeps_both_documents_of_keys_that_differ_in_the_38th_digit(
    env: dict[str, str], moto_endpoint: str, search: OpenSearch, unique_name: str
) -> None:
    """``replay-dlq --source table`` reads the batch's items back by key and repairs conditionally: both
    items are live, so both documents must stay (a 28-digit match tombstoned one of them)."""
    target, table = numbers_table(env, moto_endpoint)
    dynamodb, streams = clients(moto_endpoint)
    stream_arn = dynamodb.describe_table(TableName=target.table)["Table"]["LatestStreamArn"]
    for n in BIG:
        table.put_item(Item={"n": n, "title": f"book {n}", "version": 1})
    records = StreamReader(streams, stream_arn, aws_shaped=False).read()  # moto's numbers: read back later
    ensure_index(target.search, target.settings)
    assert backfill(target, BackfillOptions(segments=1)).ok
    sqs = target.client("sqs", moto_endpoint)
    queue_url = sqs.create_queue(QueueName=f"{unique_name}-dlq")["QueueUrl"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=on_failure_message(stream_arn, shard, records))

    result = replay_dlq(target, sqs, ReplayOptions(queue_url=queue_url, wait_seconds=0, source="table"))

    assert [m.status for m in result.messages] == ["replayed"], result.summary()
    judged = verdict(target, "n")
    assert judged.clean, judged
    served = index_oracle.served_documents(target.settings.opensearch_endpoint, target.alias)
    assert sorted(served) == sorted(str(n) for n in BIG)
