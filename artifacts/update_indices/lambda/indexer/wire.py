"""Wire formats as Lambda and OpenSearch send them (AWS camelCase names kept as they are)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

AttributeValue = dict[str, Any]  # DynamoDB JSON, e.g. {"S": "x"} or {"M": {...}}
DynamoDBItem = dict[str, AttributeValue]


class StreamRecordBody(TypedDict):
    """The ``dynamodb`` part of a stream record."""

    Keys: DynamoDBItem
    NewImage: NotRequired[DynamoDBItem]
    OldImage: NotRequired[DynamoDBItem]
    SequenceNumber: str
    SizeBytes: NotRequired[int]
    StreamViewType: NotRequired[str]
    ApproximateCreationDateTime: float  # epoch seconds in a Lambda event


class DynamoDBRecord(TypedDict):
    """One record of a Lambda DynamoDB Streams event."""

    eventID: str
    eventName: Literal["INSERT", "MODIFY", "REMOVE"]
    eventSource: str
    eventSourceARN: str
    awsRegion: str
    dynamodb: StreamRecordBody
    userIdentity: NotRequired[dict[str, str]]


class DynamoDBEvent(TypedDict):
    Records: list[DynamoDBRecord]


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    """What the handler returns; the event source mapping needs ``ReportBatchItemFailures``."""

    batchItemFailures: list[BatchItemFailure]


class BulkError(TypedDict, total=False):
    type: str
    reason: str
    caused_by: dict[str, Any]


class BulkItem(TypedDict, total=False):
    """One entry of a ``_bulk`` response's ``items`` (under its op type key)."""

    _index: str
    _id: str
    _version: int
    status: int | str  # opensearch-py puts "N/A" here for connection errors
    result: str
    error: BulkError | str
