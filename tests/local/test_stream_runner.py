"""The event source mapping emulation against DynamoDB Streams on moto, with a recording stand-in handler."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest

from books_local.checkpoints import CheckpointStore
from books_local.failure_destination import send_to_queue
from books_local.lambda_events import PAYLOAD_LIMIT_BYTES, LambdaContext
from books_local.mapping import MappingSettings
from books_local.sequence_numbers import STRIDE, is_aws_shaped
from books_local.stream_runner import Function, StreamRunner

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:indexer"
MAPPING = {
    "batch_size": 4,
    "maximum_batching_window_in_seconds": 0,
    "maximum_retry_attempts": 2,
    "bisect_batch_on_function_error": True,
    "function_response_types": ["ReportBatchItemFailures"],
    "starting_position": "TRIM_HORIZON",
    "destination_arn": None,
}


class Recorder:
    """A handler that records each event's sequence numbers and answers what ``answer`` says."""

    def __init__(self, answer: Callable[[list[dict[str, Any]]], Any] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.ids: list[str] = []
        self._answer = answer

    def __call__(self, event: Mapping[str, Any], context: Any) -> Any:
        assert context.get_remaining_time_in_millis() > 0
        records = list(event["Records"])
        self.batches.append([record["dynamodb"]["SequenceNumber"] for record in records])
        self.ids.extend(record["dynamodb"]["Keys"]["id"]["S"] for record in records)
        return self._answer(records) if self._answer else {"batchItemFailures": []}


@pytest.fixture
def table(moto_endpoint: str, unique_name: str) -> Iterator[tuple[Any, str]]:
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    description = dynamodb.create_table(
        TableName=unique_name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    yield dynamodb, description["LatestStreamArn"]
    dynamodb.delete_table(TableName=unique_name)


def put(table: tuple[Any, str], *ids: str) -> None:
    dynamodb, stream_arn = table
    name = stream_arn.split("/")[1]
    for item_id in ids:
        dynamodb.put_item(TableName=name, Item={"id": {"S": item_id}, "blob": {"B": b"\x00\xff"}})


class CountingStreams:
    """moto's stream client, counting GetRecords calls per shard (the calls themselves go to moto)."""

    def __init__(self, moto_endpoint: str) -> None:
        self._client = boto3.client("dynamodbstreams", endpoint_url=moto_endpoint)
        self.get_records_calls = 0

    def get_records(self, **arguments: Any) -> Any:
        self.get_records_calls += 1
        return self._client.get_records(**arguments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class Clock:
    """A monotonic clock a test moves by hand, so pacing is checked by counting, not by waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_runner(
    moto_endpoint: str,
    table: tuple[Any, str],
    checkpoints: Path,
    handler: Callable[..., Any],
    sent: list[Mapping[str, Any]] | None = None,
    streams: Any = None,
    clock: Callable[[], float] = time.monotonic,
    **mapping: Any,
) -> StreamRunner:
    return StreamRunner(
        streams=streams or boto3.client("dynamodbstreams", endpoint_url=moto_endpoint),
        stream_arn=table[1],
        region="us-east-1",
        settings=MappingSettings.from_output({**MAPPING, **mapping}),
        function=Function("indexer", FUNCTION_ARN, 5, 128, handler),
        checkpoints=CheckpointStore(checkpoints, table[1]),
        send_failure=sent.append if sent is not None else None,
        stop=threading.Event(),
        clock=clock,
    )


def drain(runner: StreamRunner, seconds: float = 0.5) -> None:
    """Poll until nothing happened for ``seconds``."""
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < seconds:
        if runner.poll_once():
            quiet_since = time.monotonic()
        else:
            time.sleep(0.01)


def test_records_arrive_in_order_in_batches_of_at_most_the_batch_size(moto_endpoint, table, tmp_path):
    put(table, *(f"b{i}" for i in range(10)))
    handler = Recorder()
    drain(make_runner(moto_endpoint, table, tmp_path, handler))
    assert handler.ids == [f"b{i}" for i in range(10)]
    assert [len(batch) for batch in handler.batches] == [4, 4, 2]


def test_the_event_looks_like_lambdas(moto_endpoint, table, tmp_path):
    put(table, "x")
    events: list[Mapping[str, Any]] = []
    drain(make_runner(moto_endpoint, table, tmp_path, lambda event, context: events.append(event)))
    (record,) = events[0]["Records"]
    assert record["eventSourceARN"] == table[1]
    # StreamRecord: "in UNIX epoch time format and rounded down to the closest second"
    # (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html)
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert record["eventVersion"] == "1.1"
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AP8="}  # base64 text, as Lambda sends it
    json.dumps(events[0])  # the event is plain JSON, like Lambda's


def test_a_restart_resumes_after_the_checkpoint_and_skips_nothing(moto_endpoint, table, tmp_path):
    put(table, "a1", "a2", "a3")
    first = Recorder()
    drain(make_runner(moto_endpoint, table, tmp_path, first))
    put(table, "a4", "a5")
    second = Recorder()
    drain(make_runner(moto_endpoint, table, tmp_path, second))
    assert first.ids == ["a1", "a2", "a3"]
    assert second.ids == ["a4", "a5"]


def test_a_reported_item_failure_restarts_the_batch_at_that_record(moto_endpoint, table, tmp_path):
    put(table, "p0", "p1", "p2", "p3")
    failed_once: set[str] = set()

    def answer(records: list[dict[str, Any]]) -> dict[str, Any]:
        for record in records:
            if record["dynamodb"]["Keys"]["id"]["S"] == "p2" and "p2" not in failed_once:
                failed_once.add("p2")
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    handler = Recorder(answer)
    drain(make_runner(moto_endpoint, table, tmp_path, handler))
    assert handler.ids == ["p0", "p1", "p2", "p3", "p2", "p3"]


def test_an_unknown_item_identifier_fails_the_whole_batch(moto_endpoint, table, tmp_path):
    put(table, "u0", "u1")
    answers = iter([{"batchItemFailures": [{"itemIdentifier": ""}]}])
    handler = Recorder(lambda records: next(answers, {}))
    drain(make_runner(moto_endpoint, table, tmp_path, handler))
    assert handler.ids == ["u0", "u1", "u0", "u1"]


def test_bisect_isolates_a_poison_record_and_sends_it_on_failure(moto_endpoint, table, tmp_path, unique_name):
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    queue_url = sqs.create_queue(QueueName=unique_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    put(table, "ok0", "poison", "ok2", "ok3")

    def answer(records: list[dict[str, Any]]) -> dict[str, Any]:
        if any(record["dynamodb"]["Keys"]["id"]["S"] == "poison" for record in records):
            raise RuntimeError("cannot index this one")
        return {}

    handler = Recorder(answer)
    sent: list[Mapping[str, Any]] = []
    runner = make_runner(moto_endpoint, table, tmp_path, handler, sent, destination_arn=queue_arn)
    drain(runner)
    assert set(handler.ids) - {"poison"} == {"ok0", "ok2", "ok3"}
    assert handler.ids.count("poison") == 1 + 1 + 3  # whole batch, its half, then alone: 1 + 2 retries
    (message,) = sent
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == table[1]
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert message["responseContext"]["functionError"] == "Unhandled"

    send_to_queue(sqs, queue_arn, message)
    (received,) = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert json.loads(received["Body"]) == message
    put(table, "after")
    drain(runner)
    assert handler.ids[-1] == "after"  # the shard moved on


def test_latest_starts_where_the_mapping_was_created_even_across_restarts(moto_endpoint, table, tmp_path):
    put(table, "before")
    first = Recorder()
    drain(make_runner(moto_endpoint, table, tmp_path, first, starting_position="LATEST"))
    put(table, "while-down")
    second = Recorder()
    drain(make_runner(moto_endpoint, table, tmp_path, second, starting_position="LATEST"))
    assert first.ids == []
    assert second.ids == ["while-down"]


def test_the_batching_window_gathers_records_into_one_invocation(moto_endpoint, table, tmp_path):
    handler = Recorder()
    runner = make_runner(
        moto_endpoint, table, tmp_path, handler, batch_size=100, maximum_batching_window_in_seconds=1
    )
    runner.poll_once()
    put(table, "w1")
    runner.poll_once()
    put(table, "w2", "w3")
    drain(runner, seconds=1.5)
    assert [len(batch) for batch in handler.batches] == [3]


def test_records_older_than_the_maximum_age_go_to_the_destination_unprocessed(moto_endpoint, table, tmp_path):
    put(table, "old1", "old2")
    time.sleep(1.1)
    handler = Recorder()
    sent: list[Mapping[str, Any]] = []
    drain(make_runner(moto_endpoint, table, tmp_path, handler, sent, maximum_record_age_in_seconds=1))
    assert handler.ids == []
    (message,) = sent
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["DDBStreamBatchInfo"]["batchSize"] == 2


def test_moto_numbers_reach_the_function_shaped_like_aws_and_in_order(moto_endpoint, table, tmp_path):
    """moto numbers records 1 apart; AWS's GetRecords example has 300000000000000499659 then
    400000000000000499660 (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html)
    and StreamRecord allows 21 to 40 digits: the function must see that shape, in stream order."""
    put(table, *(f"s{i}" for i in range(6)))
    handler = Recorder()
    drain(make_runner(moto_endpoint, table, tmp_path, handler))
    numbers = [number for batch in handler.batches for number in batch]
    assert len(numbers) == 6
    assert all(is_aws_shaped(number) for number in numbers), numbers
    gaps = [int(later) - int(earlier) for earlier, later in itertools.pairwise(numbers)]
    assert gaps == [STRIDE] * 5
    assert min(gaps) > 2**31  # beyond what a 31-bit remainder of the number can order


def test_checkpoints_keep_the_aws_shaped_number_and_a_restart_resumes_after_it(
    moto_endpoint, table, tmp_path
):
    put(table, "c1", "c2")
    first = Recorder()
    drain(make_runner(moto_endpoint, table, tmp_path, first))
    (saved,) = [json.loads(path.read_text()) for path in tmp_path.rglob("*.json")]
    assert saved["sequence_number"] == first.batches[-1][-1]
    put(table, "c3")
    second = Recorder()
    drain(make_runner(moto_endpoint, table, tmp_path, second))
    assert second.ids == ["c3"]
    assert int(second.batches[0][0]) - int(saved["sequence_number"]) == STRIDE


def test_on_failure_messages_name_the_batch_in_the_numbers_of_the_stream_api_they_are_read_back_from(
    moto_endpoint, table, tmp_path
):
    """The function reports AWS-shaped numbers; the on-failure message's range is read back through the
    stream API (replay-dlq), which on the local stack is moto's: it must name moto's own records."""
    put(table, "f0", "f1", "f2")

    def answer(records: list[dict[str, Any]]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}

    handler = Recorder(answer)
    sent: list[Mapping[str, Any]] = []
    drain(make_runner(moto_endpoint, table, tmp_path, handler, sent, maximum_retry_attempts=0))
    assert is_aws_shaped(handler.batches[0][1])
    (message,) = sent
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2  # f0 settled; f1 and f2 given up on after the failure reported at f1
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_endpoint)
    iterator = streams.get_shard_iterator(
        StreamArn=table[1],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=2)["Records"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records] == ["f1", "f2"]
    assert records[-1]["dynamodb"]["SequenceNumber"] == info["endSequenceNumber"]


def test_the_lambda_context_counts_down_the_function_timeout_on_its_clock():
    now = [100.0]
    context = LambdaContext("indexer", FUNCTION_ARN, 128, 5, clock=lambda: now[0])
    assert context.get_remaining_time_in_millis() == 5000
    now[0] += 4.25
    assert context.get_remaining_time_in_millis() == 750
    now[0] += 1
    assert context.get_remaining_time_in_millis() == 0  # never negative, as Lambda's


# ---- "Polling and batching streams", "Using AWS Lambda with Amazon DynamoDB"
# (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html): Lambda "polls shards in your DynamoDB stream
# for records at a base rate of 4 times per second"; "By default, Lambda invokes your function as soon as
# records are available"; with a batching window, "Lambda continues to read records from the event source
# until it has gathered a full batch, the batching window expires, or the batch reaches the payload limit of
# 6 MB". ----------------------------------------------------------------------------------------------------


def test_a_shard_is_polled_four_times_a_second_and_no_more_often(moto_endpoint, table, tmp_path):
    """Two seconds of a runner asked to poll every 10 ms: 8 GetRecords, as Lambda's base rate gives, so the
    local stack never looks fresher than AWS can be."""
    streams, clock = CountingStreams(moto_endpoint), Clock()
    runner = make_runner(moto_endpoint, table, tmp_path, Recorder(), streams=streams, clock=clock)
    for _ in range(200):
        runner.poll_once()
        clock.now += 0.01
    assert streams.get_records_calls == 8


def test_with_window_zero_the_poll_that_reads_a_record_invokes_with_it(moto_endpoint, table, tmp_path):
    clock = Clock()
    handler = Recorder()
    runner = make_runner(moto_endpoint, table, tmp_path, handler, batch_size=100, clock=clock)
    runner.poll_once()  # the shard is open and read: nothing yet
    put(table, "now")
    clock.now += 0.25
    runner.poll_once()
    assert handler.ids == ["now"]


def test_the_window_holds_records_until_it_expires_then_invokes_once(moto_endpoint, table, tmp_path):
    clock = Clock()
    handler = Recorder()
    runner = make_runner(
        moto_endpoint,
        table,
        tmp_path,
        handler,
        batch_size=100,
        maximum_batching_window_in_seconds=2,
        clock=clock,
    )
    put(table, "w1")
    runner.poll_once()  # reads w1: the window starts
    for _ in range(7):  # 1.75 s of polls, each reading one more record
        clock.now += 0.25
        put(table, f"w{len(handler.ids) + 2}")
        runner.poll_once()
    assert handler.batches == []
    clock.now += 0.25  # 2 s after w1 was read
    runner.poll_once()
    assert [len(batch) for batch in handler.batches] == [8]


def test_a_full_batch_does_not_wait_for_the_window(moto_endpoint, table, tmp_path):
    clock = Clock()
    handler = Recorder()
    runner = make_runner(
        moto_endpoint,
        table,
        tmp_path,
        handler,
        batch_size=3,
        maximum_batching_window_in_seconds=300,
        clock=clock,
    )
    put(table, "f1", "f2", "f3", "f4")
    runner.poll_once()
    assert handler.ids == ["f1", "f2", "f3"]


def test_a_batch_of_400_kb_items_is_cut_at_the_6_mb_payload_limit(moto_endpoint, table, tmp_path):
    """DynamoDB's item limit is 400 KB; 100 of them would be a 40 MB event, which Lambda never sends."""
    dynamodb, stream_arn = table
    name = stream_arn.split("/")[1]
    for index in range(20):
        item = {"id": {"S": f"big{index:02d}"}, "text": {"S": "x" * 395_000}}
        dynamodb.put_item(TableName=name, Item=item)
    events: list[str] = []
    runner = make_runner(
        moto_endpoint,
        table,
        tmp_path,
        lambda event, context: events.append(json.dumps(event)),
        batch_size=100,
    )
    drain(runner)
    sizes = [len(event.encode()) for event in events]
    counts = [len(json.loads(event)["Records"]) for event in events]
    assert sum(counts) == 20
    assert len(events) >= 2
    assert all(size <= PAYLOAD_LIMIT_BYTES for size in sizes), sizes
    assert sizes[0] > PAYLOAD_LIMIT_BYTES - 400 * 1024  # filled up to the limit, not cut early
