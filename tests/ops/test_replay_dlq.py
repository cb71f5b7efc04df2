"""replay-dlq: a dead-lettered batch is re-read from the stream and indexed; its message goes only then."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from opensearchpy import OpenSearch
from ops.traffic import on_failure_message

from indexer.index_setup import ensure_index
from indexer.ops.dlq import ReplayOptions, replay_dlq
from indexer.ops.target import Target
from support.sampled_sqs import SampledQueue


@pytest.fixture
def queue(target: Target, moto_endpoint: str, unique_name: str) -> tuple[Any, str]:
    sqs = target.client("sqs", moto_endpoint)
    return sqs, sqs.create_queue(QueueName=f"{unique_name}-dlq")["QueueUrl"]


@pytest.fixture
def dead_lettered(table: Any, target: Target) -> tuple[list[dict[str, Any]], str]:
    """20 inserts, an update of i03, a delete of i05; the batch from i10's insert to the end failed."""
    for n in range(20):
        table.resource.put_item(Item=table.book(f"i{n:02d}", n))
    table.resource.put_item(Item=table.book("i03", 3, edition=2))
    table.resource.delete_item(Key={"id": "i05"})
    # The message's range is read back from moto's stream API, which knows only moto's own numbers.
    records = table.reader(skip_existing=False, aws_shaped=False).read()
    failed = records[10:]
    assert failed[0]["dynamodb"]["Keys"] == {"id": {"S": "i10"}}
    shard_id = table.streams.describe_stream(StreamArn=table.stream_arn)["StreamDescription"]["Shards"][0]
    ensure_index(target.search, target.settings)
    return failed, shard_id["ShardId"]


def _ids(search: OpenSearch, alias: str) -> dict[str, dict[str, Any]]:
    search.indices.refresh(index=alias)
    hits = search.search(index=alias, body={"size": 1000, "query": {"match_all": {}}})["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def _visible(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_replay_indexes_exactly_the_dead_lettered_records_and_deletes_the_message(
    target: Target, table: Any, queue: tuple[Any, str], dead_lettered: Any, search: OpenSearch
) -> None:
    sqs, url = queue
    records, shard_id = dead_lettered
    sqs.send_message(QueueUrl=url, MessageBody=on_failure_message(table.stream_arn, shard_id, records))

    result = replay_dlq(target, sqs, ReplayOptions(queue_url=url, wait_seconds=0))

    assert result.ok, result.summary()
    assert [m.status for m in result.messages] == ["replayed"]
    assert result.messages[0].records == len(records) == 12
    docs = _ids(search, target.alias)
    assert set(docs) == {f"i{n:02d}" for n in range(10, 20)} | {"i03"}  # i05's delete left no document
    assert docs["i03"]["edition"] == 2
    assert _visible(sqs, url) == 0


def test_replay_from_the_table_indexes_the_current_items_for_the_batch_keys(
    target: Target, table: Any, queue: tuple[Any, str], dead_lettered: Any, search: OpenSearch
) -> None:
    sqs, url = queue
    records, shard_id = dead_lettered
    table.resource.put_item(Item=table.book("i12", 12, edition=7))  # changed since the batch failed
    sqs.send_message(QueueUrl=url, MessageBody=on_failure_message(table.stream_arn, shard_id, records))

    result = replay_dlq(target, sqs, ReplayOptions(queue_url=url, wait_seconds=0, source="table"))

    assert result.ok, result.summary()
    docs = _ids(search, target.alias)
    assert set(docs) == {f"i{n:02d}" for n in range(10, 20)} | {"i03"}
    assert docs["i12"]["edition"] == 7
    assert _visible(sqs, url) == 0


def test_messages_that_cannot_be_replayed_stay_in_the_queue(
    target: Target,
    table: Any,
    queue: tuple[Any, str],
    dead_lettered: Any,
    search: OpenSearch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A poison batch fails again, a trimmed range is gone, a foreign body is unreadable: all three stay."""
    sqs, url = queue
    records, shard_id = dead_lettered
    monkeypatch.setattr(Target, "streams", lambda self: _Trimming(table.streams, gone="2020-01-01"))
    search.indices.put_mapping(index=target.alias, body={"properties": {"edition": {"type": "boolean"}}})
    gone_arn = table.stream_arn.rsplit("/stream/", 1)[0] + "/stream/2020-01-01T00:00:00.000"
    sqs.send_message(QueueUrl=url, MessageBody=on_failure_message(table.stream_arn, shard_id, records))
    sqs.send_message(QueueUrl=url, MessageBody=on_failure_message(gone_arn, shard_id, records))
    sqs.send_message(QueueUrl=url, MessageBody="not json")

    result = replay_dlq(target, sqs, ReplayOptions(queue_url=url, wait_seconds=0, visibility_timeout=30))

    statuses = sorted(m.status for m in result.messages)
    assert statuses == ["failed", "gone", "unreadable"], result.summary()
    assert not any(m.deleted for m in result.messages)
    assert _visible(sqs, url) == 3
    again = replay_dlq(target, sqs, ReplayOptions(queue_url=url, wait_seconds=0))
    assert len(again.messages) == 3, "left messages must be visible again for a rerun"


class _Trimming:
    """moto never trims a stream; this answers as DynamoDB does for a range older than 24 hours."""

    def __init__(self, streams: Any, gone: str) -> None:
        self._streams = streams
        self._gone = gone

    def get_shard_iterator(self, **request: Any) -> Any:
        if self._gone in request["StreamArn"]:
            error = {"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}}
            raise ClientError(error, "GetShardIterator")
        return self._streams.get_shard_iterator(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._streams, name)


def test_gone_ranges_recover_inserts_and_updates_by_a_modification_time_window(
    target: Target, table: Any, queue: tuple[Any, str], search: OpenSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream lost the range; items carry updatedAt (epoch ms, as the API writes it): the ones modified
    within the batch's arrival times are re-indexed, the others are left alone, the message stays."""
    sqs, url = queue
    now = time.time()
    for n in range(10):
        table.resource.put_item(Item={**table.book(f"w{n}", n), "updatedAt": int((now - 5) * 1000)})
        table.resource.put_item(Item={**table.book(f"old{n}", n), "updatedAt": int((now - 86400 * 3) * 1000)})
    ensure_index(target.search, target.settings)
    shard_id = table.streams.describe_stream(StreamArn=table.stream_arn)["StreamDescription"]["Shards"][0]
    # The message's range is read back from moto's stream API, which knows only moto's own numbers.
    records = table.reader(skip_existing=False, aws_shaped=False).read()
    gone_arn = table.stream_arn.rsplit("/stream/", 1)[0] + "/stream/2020-01-01T00:00:00.000"
    monkeypatch.setattr(Target, "streams", lambda self: _Trimming(table.streams, gone="2020-01-01"))
    window = tuple(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) for t in (now - 10, now))
    message = on_failure_message(gone_arn, shard_id["ShardId"], records, arrivals=window)
    sqs.send_message(QueueUrl=url, MessageBody=message)

    result = replay_dlq(
        target,
        sqs,
        ReplayOptions(queue_url=url, wait_seconds=0, window_attribute="updatedAt", window_margin=2),
    )

    assert [m.status for m in result.messages] == ["gone"]
    assert result.window_recovery is not None
    assert (result.window_recovery.matched, result.window_recovery.indexed) == (10, 10)
    assert set(_ids(search, target.alias)) == {f"w{n}" for n in range(10)}
    assert _visible(sqs, url) == 1


def test_empty_receives_while_messages_remain_do_not_end_the_replay(
    target: Target, table: Any, queue: tuple[Any, str], dead_lettered: Any
) -> None:
    """SQS samples some of its servers per receive and may return nothing although messages remain ("If this
    happens, repeat the request": ReceiveMessage, support.sampled_sqs). The run goes on until the queue
    itself reports no visible message (GetQueueAttributes ApproximateNumberOfMessages)."""
    sqs, url = queue
    records, shard_id = dead_lettered
    for chunk in (records[:4], records[4:8], records[8:]):
        sqs.send_message(QueueUrl=url, MessageBody=on_failure_message(table.stream_arn, shard_id, chunk))
    sampled = SampledQueue(sqs, sample_sizes=[0, 0, 1, 0])

    result = replay_dlq(target, sampled, ReplayOptions(queue_url=url, wait_seconds=0))

    assert [m.status for m in result.messages] == ["replayed"] * 3, result.summary()
    assert result.ok
    assert _visible(sqs, url) == 0


def test_receives_of_only_redelivered_messages_do_not_end_the_replay(
    target: Target, table: Any, queue: tuple[Any, str], dead_lettered: Any
) -> None:
    """A message kept in the queue (here unreadable) comes back when its visibility timeout runs out, and a
    sampled receive can return just that one: nothing new, yet two messages were never seen."""
    sqs, url = queue
    records, shard_id = dead_lettered
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    for chunk in (records[:6], records[6:]):
        sqs.send_message(QueueUrl=url, MessageBody=on_failure_message(table.stream_arn, shard_id, chunk))
    sampled = SampledQueue(sqs, sample_sizes=[1, 1], expire_first=True)

    result = replay_dlq(target, sampled, ReplayOptions(queue_url=url, wait_seconds=0))

    assert sampled.receives[0] == sampled.receives[1], "the second receive must return only the redelivery"
    assert sorted(m.status for m in result.messages) == ["replayed", "replayed", "unreadable"]
    assert _visible(sqs, url) == 1  # the unreadable one stays, visible again for a rerun


def test_a_queue_that_reports_messages_no_receive_returns_ends_the_run_as_not_ok(
    target: Target, table: Any, queue: tuple[Any, str], dead_lettered: Any
) -> None:
    """The queue's counts are approximate ("may not achieve consistency until at least 1 minute after the
    producers stop sending messages": GetQueueAttributes): receives are retried for ``settle_seconds`` of the
    injected clock, then the run stops and says how many messages it could not reach."""
    sqs, url = queue
    records, shard_id = dead_lettered
    sqs.send_message(QueueUrl=url, MessageBody=on_failure_message(table.stream_arn, shard_id, records))
    never = SampledQueue(sqs, sample_sizes=[0] * 100)
    now = [0.0]

    def clock() -> float:
        now[0] += 20.0  # each look at the clock is a receive 20 s later
        return now[0]

    options = ReplayOptions(queue_url=url, wait_seconds=0, settle_seconds=90)
    result = replay_dlq(target, never, options, clock=clock, sleep=lambda _: None)

    assert (result.messages, result.unreached, result.ok) == ([], 1, False)
    assert 3 <= len(never.receives) <= 6
    assert result.summary()["unreached"] == 1
