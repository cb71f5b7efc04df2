"""Stream records as Lambda delivers them, and the context object a handler receives.

Records read through the ``dynamodbstreams`` API differ from a Lambda event: boto3 parses
``ApproximateCreationDateTime`` into a datetime (Lambda sends epoch seconds, "rounded down to the closest
second" as the StreamRecord reference says), binary values arrive as bytes (Lambda sends base64 text), and
there is no ``eventSourceARN``. The event's shape is the example in "Using AWS Lambda with Amazon DynamoDB"
(https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

LAMBDA_EVENT_VERSION = "1.1"
# The synchronous invocation payload limit: a stream batch is cut before its event passes it ("Before invoking
# the function, Lambda continues to read records from the event source until it has gathered a full batch, the
# batching window expires, or the batch reaches the payload limit of 6 MB", "Using AWS Lambda with Amazon
# DynamoDB", https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024
_EVENT_ENVELOPE_BYTES = len(json.dumps({"Records": []}))
SEPARATOR_BYTES = len(", ")

Clock = Callable[[], float]


def lambda_record(
    record: Mapping[str, Any], stream_arn: str, region: str, sequence_number: str | None = None
) -> dict[str, Any]:
    """``record`` (a GetRecords record) as a Lambda event record; ``sequence_number`` replaces its own."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created = created.timestamp()
    if isinstance(created, int | float):
        dynamodb["ApproximateCreationDateTime"] = math.floor(created)  # whole seconds, as AWS sends them
    if sequence_number is not None:
        dynamodb["SequenceNumber"] = sequence_number
    for image in ("Keys", "NewImage", "OldImage"):
        if image in dynamodb:
            dynamodb[image] = {name: _attribute(value) for name, value in dynamodb[image].items()}
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": LAMBDA_EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def record_bytes(record: Mapping[str, Any]) -> int:
    """Bytes ``record`` adds to an event's JSON (without the separator between records)."""
    return len(json.dumps(record).encode())


def event_bytes(record_sizes: list[int]) -> int:
    """Bytes of ``{"Records": [...]}`` holding records of these sizes, as ``json.dumps`` writes it."""
    separators = SEPARATOR_BYTES * max(0, len(record_sizes) - 1)
    return _EVENT_ENVELOPE_BYTES + sum(record_sizes) + separators


def _attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {"B": _base64(inner)}
    if kind == "BS":
        return {"BS": [_base64(item) for item in inner]}
    if kind == "M":
        return {"M": {name: _attribute(item) for name, item in inner.items()}}
    if kind == "L":
        return {"L": [_attribute(item) for item in inner]}
    return {kind: inner}


def _base64(value: bytes | str) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes | bytearray) else value


class LambdaContext:
    """The parts of Lambda's context a handler uses; the remaining time counts down from the timeout.

    ``clock`` (seconds, monotonic) is injectable so a test can move time instead of waiting for it.
    """

    def __init__(
        self,
        function_name: str,
        function_arn: str,
        memory_mb: int,
        timeout_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = str(memory_mb)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._clock = clock
        self._deadline = clock() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))
