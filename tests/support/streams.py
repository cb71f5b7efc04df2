"""DynamoDB Streams for tests: a streamed table on moto, its real records, shaped as Lambda delivers them.

Records read through the ``dynamodbstreams`` API differ from a Lambda event: they lack ``eventSourceARN``,
boto3 parses ``ApproximateCreationDateTime`` into a datetime (Lambda sends whole epoch seconds) and binary
values arrive as bytes (Lambda sends base64 text). moto's sequence numbers grow by 1 where AWS's are about
10^20 apart: ``StreamReader`` presents them as the local stack's stream runner does (the same conversion,
``books_local``), so every test sees AWS-shaped numbers. Hand-made records come from ``stream_records``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from books_local.lambda_events import lambda_record
from books_local.sequence_numbers import ShardNumbering, numbering_of
from support.stream_records import LambdaContext, lambda_event, record

__all__ = [
    "LambdaContext",
    "StreamReader",
    "clients",
    "create_streamed_table",
    "lambda_event",
    "record",
]

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
    aws_shaped: bool = True  # False: moto's own numbers, for tests that feed them back to moto
    _iterators: dict[str, str] = field(default_factory=dict)
    _numbering: dict[str, ShardNumbering] = field(default_factory=dict)

    def read(self) -> list[dict[str, Any]]:
        """New records of every shard, as Lambda records (shard by shard, in sequence order)."""
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        records: list[dict[str, Any]] = []
        for shard in shards:
            shard_id = shard["ShardId"]
            numbering = self._numbering_of(shard)
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
                for raw in page["Records"]:
                    number = raw["dynamodb"]["SequenceNumber"]
                    shaped = numbering.to_aws(number) if self.aws_shaped else None
                    records.append(lambda_record(raw, self.stream_arn, self.region, sequence_number=shaped))
                if not page["Records"]:
                    break
        return records

    def _numbering_of(self, shard: dict[str, Any]) -> ShardNumbering:
        if shard["ShardId"] not in self._numbering:
            self._numbering[shard["ShardId"]] = numbering_of(shard, self._numbering)
        return self._numbering[shard["ShardId"]]

    def event(self) -> dict[str, Any]:
        """The new records as one Lambda event."""
        return lambda_event(self.read())
