"""Re-reading a range of records from one DynamoDB stream shard, shaped as Lambda delivers them.

Lambda's on-failure destination records only where a failed batch was (shard, first and last sequence
number), never the records. The stream keeps records for 24 hours; within that window the range can be read
again with ``GetShardIterator(AT_SEQUENCE_NUMBER)``. After it, the shard is trimmed or gone and the records
(and with them the keys they touched) cannot be recovered from anywhere: :class:`RecordsGone` says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

GONE_ERRORS = frozenset(
    {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}
)


class RecordsGone(Exception):
    """The stream no longer holds (all of) the requested records."""


def read_range(
    streams: Any,
    *,
    stream_arn: str,
    shard_id: str,
    start_sequence_number: str,
    end_sequence_number: str,
    page_limit: int = 1000,
    max_empty_polls: int = 5,
) -> list[dict[str, Any]]:
    """The records with start <= SequenceNumber <= end, in order, shaped like a Lambda event's records."""
    start, end = int(start_sequence_number), int(end_sequence_number)
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=start_sequence_number,
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        empty_polls = 0
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=page_limit)
            for record in page.get("Records", []):
                number = int(record["dynamodb"]["SequenceNumber"])
                if number > end:
                    return records
                if number >= start:
                    records.append(as_lambda_record(record, stream_arn))
            if records and int(records[-1]["dynamodb"]["SequenceNumber"]) == end:
                return records
            empty_polls = 0 if page.get("Records") else empty_polls + 1
            if empty_polls >= max_empty_polls:
                break
            iterator = page.get("NextShardIterator")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in GONE_ERRORS:
            raise RecordsGone(f"{shard_id} [{start_sequence_number}..{end_sequence_number}]: {code}") from exc
        raise
    # Fell off the shard (or the polls ran dry) before ``end``: part of the range is missing.
    raise RecordsGone(f"{shard_id} [{start_sequence_number}..{end_sequence_number}]: end not reached")


def as_lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A ``GetRecords`` record as Lambda delivers it: epoch-seconds creation time, ``eventSourceARN``."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": dynamodb, "eventSourceARN": record.get("eventSourceARN", stream_arn)}
