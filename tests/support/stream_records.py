"""The one builder of DynamoDB stream records, Lambda events and Lambda contexts for tests and benchmarks.

Records are shaped like AWS's, not like moto's (DynamoDB Streams API reference, "Record":
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html):
- ``SequenceNumber``: 21 to 40 digits; consecutive records of a shard about 10^20 apart (the GetRecords
  example: ``300000000000000499659`` then ``400000000000000499660``); a child shard after a split starts
  above every number of its parent (the DescribeStream example: ``20500000000000000910398``, then
  ``820400000000000001192334``). See ``books_local.sequence_numbers`` for the references.
- ``ApproximateCreationDateTime``: epoch seconds "rounded down to the closest second" (StreamRecord,
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html), so many
  writes to one item share a second; ``SizeBytes``, ``StreamViewType``, ``eventSourceARN`` and
  ``eventVersion`` "1.1" as in the event example of "Using AWS Lambda with Amazon DynamoDB"
  (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).

``StreamBuilder`` writes to an imagined table and emits the records its stream would carry (old images from
its own state); ``record`` makes one record at a position of a shard for tests that need an exact order.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from books_local.lambda_events import LAMBDA_EVENT_VERSION, Clock
from books_local.lambda_events import LambdaContext as _RuntimeContext
from books_local.sequence_numbers import CHILD_SHARD_OFFSET, ROOT_SHARD_START, STRIDE

REGION = "us-east-1"
ACCOUNT = "123456789012"
START_EPOCH = 1_795_000_000  # 2026-11-18, whole seconds
VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")

Record = dict[str, Any]
Image = dict[str, Any]  # DynamoDB JSON


def stream_arn(table: str = "books", label: str = "2026-11-23T00:00:00.000") -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/{label}"


def sequence_number(position: int, shard_start: int = ROOT_SHARD_START, gap: int = STRIDE) -> str:
    """The AWS-shaped number of the ``position``-th record (from 0) of a shard starting at ``shard_start``,
    consecutive records ``gap`` apart."""
    return str(shard_start + position * gap)


@dataclass
class Shard:
    """One shard handing out increasing AWS-shaped numbers; ``gap()`` spaces consecutive records."""

    start: int = ROOT_SHARD_START
    gap: Callable[[], int] = lambda: STRIDE
    shard_id: str = "shardId-00000001795000000000-0a1b2c3d"
    last: int | None = None

    def next_number(self) -> str:
        self.last = self.start if self.last is None else self.last + self.gap()
        return str(self.last)

    def child(self) -> Shard:
        """The shard a split opens: it starts above every number this one handed out."""
        floor = max(self.start + CHILD_SHARD_OFFSET, (self.last or self.start) + STRIDE)
        suffix = uuid.UUID(int=floor % 2**128).hex[:8]
        return Shard(start=floor, gap=self.gap, shard_id=f"shardId-{floor % 10**20:020d}-{suffix}")


def size_bytes(dynamodb: Record) -> int:
    """``SizeBytes``: the keys and images as DynamoDB JSON, a close stand-in for what AWS counts."""
    parts = [dynamodb.get(name) for name in ("Keys", "NewImage", "OldImage")]
    return max(1, sum(len(json.dumps(part, separators=(",", ":"))) for part in parts if part))


def record(
    event_name: str,
    keys: Image,
    position: int,
    new_image: Image | None = None,
    created_at: float | None = None,
    *,
    old_image: Image | None = None,
    sequence: str | None = None,
    table: str = "test",
) -> Record:
    """One Lambda record in DynamoDB JSON at ``position`` of the default shard (``sequence`` overrides the
    number, e.g. to test a malformed one); ``created_at`` defaults to the current whole second."""
    dynamodb: Record = {
        "ApproximateCreationDateTime": int(time.time() if created_at is None else created_at),
        "Keys": keys,
        "SequenceNumber": sequence if sequence is not None else sequence_number(position),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        dynamodb["NewImage"] = new_image
    if old_image is not None:
        dynamodb["OldImage"] = old_image
    dynamodb["SizeBytes"] = size_bytes(dynamodb)
    return {
        "eventID": uuid.uuid5(uuid.NAMESPACE_OID, dynamodb["SequenceNumber"]).hex,
        "eventName": event_name,
        "eventVersion": LAMBDA_EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn(table),
    }


@dataclass
class StreamBuilder:
    """A table's stream, imagined: each ``put``/``delete`` returns the record the stream would carry.

    ``clock`` gives the write's time in epoch seconds (rounded down here, as AWS does); the default
    advances one second every ``writes_per_second`` writes, so bursts share a second.
    """

    table: str = "books"
    key_names: Sequence[str] = ("id",)
    view_type: str = "NEW_AND_OLD_IMAGES"
    writes_per_second: int = 100
    clock: Clock | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(20261123))
    shard: Shard = field(default_factory=Shard)
    records: list[Record] = field(default_factory=list)
    items: dict[str, Image] = field(default_factory=dict)  # the table now: key JSON -> item

    def __post_init__(self) -> None:
        if self.view_type not in VIEW_TYPES:
            raise ValueError(f"view_type must be one of {VIEW_TYPES}")

    def now(self) -> int:
        if self.clock is not None:
            return int(self.clock())
        return START_EPOCH + len(self.records) // self.writes_per_second

    def put(self, item: Image) -> Record:
        """PutItem: INSERT when the key is new, else MODIFY with the previous item as the old image."""
        key = self._key(item)
        old = self.items.get(key)
        self.items[key] = item
        return self._emit("MODIFY" if old is not None else "INSERT", item, old, item)

    def delete(self, keys: Image) -> Record | None:
        """DeleteItem: a REMOVE record, or None when there is no such item (DynamoDB writes no record)."""
        old = self.items.pop(self._key(keys), None)
        return None if old is None else self._emit("REMOVE", keys, old, None)

    def split(self) -> Shard:
        """The shard splits: later records go to its child, numbered above everything before."""
        self.shard = self.shard.child()
        return self.shard

    def _key(self, item: Image) -> str:
        return json.dumps([item[name] for name in self.key_names], sort_keys=True)

    def _emit(self, event_name: str, item: Image, old: Image | None, new: Image | None) -> Record:
        dynamodb: Record = {
            "ApproximateCreationDateTime": self.now(),
            "Keys": {name: item[name] for name in self.key_names},
            "SequenceNumber": self.shard.next_number(),
            "StreamViewType": self.view_type,
        }
        if new is not None and self.view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            dynamodb["NewImage"] = new
        if old is not None and self.view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            dynamodb["OldImage"] = old
        dynamodb["SizeBytes"] = size_bytes(dynamodb)
        created = {
            "eventID": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "eventName": event_name,
            "eventVersion": LAMBDA_EVENT_VERSION,
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": dynamodb,
            "eventSourceARN": stream_arn(self.table),
        }
        self.records.append(created)
        return created


def lambda_event(records: Sequence[Record]) -> dict[str, Any]:
    return {"Records": list(records)}


def batches(records: Sequence[Record], size: int) -> Iterator[dict[str, Any]]:
    """Lambda events of at most ``size`` records each, in stream order."""
    for start in range(0, len(records), size):
        yield lambda_event(records[start : start + size])


class LambdaContext(_RuntimeContext):
    """The Lambda context of the local stack (``books_local.lambda_events``) with a test's defaults: a
    budget of ``seconds`` counted down by ``clock`` (inject one to move time instead of waiting)."""

    def __init__(
        self,
        seconds: float = 60.0,
        clock: Clock = time.monotonic,
        function_name: str = "books-indexer-test",
    ) -> None:
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        super().__init__(function_name, arn, 1024, seconds, clock)
