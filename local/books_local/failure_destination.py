"""What Lambda sends to an event source mapping's on-failure destination when it gives up on a batch.

The message names the batch (shard, first and last sequence number, size), not its records, in the same
shape as AWS's "DDBStreamBatchInfo" invocation record, so tools that replay from the real DLQ work here too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any


def failure_message(
    *,
    records: Sequence[Mapping[str, Any]],
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    function_error: str | None,
) -> dict[str, Any]:
    """``condition``: RetryAttemptsExhausted (the limit was reached) or RecordAgeExceeded."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error is not None:
        response["functionError"] = function_error
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(datetime.now(UTC).timestamp(), millis=True),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def _iso(epoch_seconds: float, *, millis: bool = False) -> str:
    moment = datetime.fromtimestamp(float(epoch_seconds), UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def send_to_queue(sqs: Any, queue_arn: str, message: Mapping[str, Any]) -> None:
    """Send ``message`` to the SQS queue named by ``queue_arn`` (arn:aws:sqs:region:account:name)."""
    _, _, _, _, account, name = queue_arn.split(":", 5)
    url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
