"""DynamoDB Streams for tests: a streamed table on moto, its real records, shaped as Lambda delivers them.

Records read through the ``dynamodbstreams`` API differ from a Lambda event: they lack ``eventSourceARN``,
boto3 parses ``ApproximateCreationDateTime`` into a datetime (Lambda sends epoch seconds) and binary values
arrive as bytes (Lambda sends base64 text). ``as_lambda_record`` turns one into the other, nothing more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import boto3

from books_local.lambda_events import lambda_record

REGION = "us-east-1"


def clients(endpoint: str) -> tuple[Any, Any]:
    """(dynamodb, dynamodbstreams) clients for the moto server."""
    session = boto3.session.Session(region_name=REGION)
    return session.client("dynamodb", endpoint_url=endpoint), session.client(
        "dynamodbstreams", endpoint_url=endpoint
    )


def create_streamed_table(
    dynamodb: Any,
    name: str,
    partition_key: tuple[str, str] = ("id", "S"),
    sort_key: tuple[str, str] | None = None,
) -> str:
    """A pay-per-request table with a NEW_AND_OLD_IMAGES stream; returns the stream ARN."""
    keys = [partition_key] + ([sort_key] if sort_key else [])
    answer = dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in keys],
        KeySchema=[
            {"AttributeName": n, "KeyType": kind}
            for (n, _), kind in zip(keys, ("HASH", "RANGE"), strict=False)
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return answer["TableDescription"]["LatestStreamArn"]


@dataclass
class StreamReader:
    """Reads a stream's shards from TRIM_HORIZON; each ``read`` returns only records not read before."""

    streams: Any
    stream_arn: str
    region: str = REGION
    _iterators: dict[str, str] = field(default_factory=dict)

    def read(self) -> list[dict[str, Any]]:
        """New records of every shard, as Lambda records (shard by shard, in sequence order)."""
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            iterator = (
                self._iterators.get(shard_id)
                or self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            )
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                iterator = page.get("NextShardIterator")
                self._iterators[shard_id] = iterator
                records.extend(as_lambda_record(r, self.stream_arn, self.region) for r in page["Records"])
                if not page["Records"]:
                    break
        return records

    def event(self) -> dict[str, Any]:
        """The new records as one Lambda event."""
        return lambda_event(self.read())


def as_lambda_record(record: dict[str, Any], stream_arn: str, region: str = REGION) -> dict[str, Any]:
    """A GetRecords record shaped as in a Lambda event (epoch seconds, eventSourceARN, base64 binary): the
    local stack's own conversion, so the tests deliver records exactly as ``make up`` does."""
    return lambda_record(record, stream_arn, region)


def lambda_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


class LambdaContext:
    """The part of Lambda's context the indexer uses: remaining time, counting down from a budget."""

    def __init__(self, seconds: float = 60.0) -> None:
        self._deadline = time.monotonic() + seconds
        self.function_name = "books-indexer-test"
        self.aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def record(
    event_name: str,
    keys: dict[str, Any],
    sequence_number: int | str,
    new_image: dict[str, Any] | None = None,
    created_at: float | None = None,
) -> dict[str, Any]:
    """A hand-made Lambda record in DynamoDB JSON, for tests that need an exact order or a replay."""
    body: dict[str, Any] = {
        "Keys": keys,
        "SequenceNumber": str(sequence_number),
        "ApproximateCreationDateTime": time.time() if created_at is None else created_at,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        body["NewImage"] = new_image
    return {
        "eventID": f"e{sequence_number}",
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:123456789012:table/test/stream/2026-01-01T00:00:00.000",
        "dynamodb": body,
    }
