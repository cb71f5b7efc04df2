"""Real-shaped DynamoDB stream records for a books table, as Lambda delivers them, and the state they lead to.

Records are generated as a table's stream would emit them: per item in modification order, sequence numbers
increasing across the shard, ``ApproximateCreationDateTime`` in epoch seconds that never decreases. The mix
(INSERT/MODIFY/REMOVE) comes from random operations on a growing set of books with a fixed seed, so every
contender is fed the exact same records.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/books/stream/2026-11-23T00:00:00.000"
FIRST_SEQUENCE_NUMBER = 100_000_000_000_000_000_000  # 21 digits, as DynamoDB's are
START_EPOCH = 1_795_000_000
WORDS = tuple(
    [
        "river",
        "night",
        "garden",
        "winter",
        "silent",
        "house",
        "glass",
        "empire",
        "shadow",
        "letters",
        "ocean",
        "stone",
        "city",
        "song",
        "mountain",
        "paper",
        "fire",
        "memory",
        "light",
        "storm",
        "island",
        "clock",
        "voyage",
        "forest",
        "mirror",
        "crown",
        "north",
        "iron",
        "harvest",
        "tide",
    ]
)


@dataclass
class Workload:
    """Stream records in delivery order and the table they leave behind (id -> DynamoDB-JSON item)."""

    records: list[dict[str, Any]]
    final_items: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"INSERT": 0, "MODIFY": 0, "REMOVE": 0}
        for record in self.records:
            counts[record["eventName"]] += 1
        return counts


def book_item(rng: random.Random, book_id: str, created_ms: int = START_EPOCH * 1000) -> dict[str, Any]:
    """A book exactly as the API's POST stores it (``create_book.request.vtl``), in DynamoDB JSON."""
    title = " ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randint(2, 5)))
    author = f"{rng.choice(string.ascii_uppercase)}. {rng.choice(WORDS).capitalize()}"
    description = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 40)))
    return {
        "id": {"S": book_id},
        "title": {"S": title},
        "author": {"S": author},
        "description": {"S": description},
        "year": {"N": str(rng.randint(1850, 2026))},
        "version": {"N": "1"},
        "createdAt": {"N": str(created_ms)},
        "updatedAt": {"N": str(created_ms)},
    }


def _size(image: dict[str, Any] | None) -> int:
    return len(repr(image)) if image else 0


def generate(count: int, seed: int = 20261123, records_per_second: int = 100) -> Workload:
    """``count`` records: about 45% INSERT, 40% MODIFY, 15% REMOVE over a growing set of books."""
    rng = random.Random(seed)
    items: dict[str, dict[str, Any]] = {}
    live: list[str] = []
    records: list[dict[str, Any]] = []
    sequence = FIRST_SEQUENCE_NUMBER
    for position in range(count):
        roll = rng.random()
        old: dict[str, Any] | None
        if not live or roll < 0.45:
            book_id = str(uuid.UUID(int=rng.getrandbits(128)))
            created_ms = (START_EPOCH + position // records_per_second) * 1000
            event_name, old, new = "INSERT", None, book_item(rng, book_id, created_ms)
            live.append(book_id)
        elif roll < 0.85:
            book_id = rng.choice(live)
            old = items[book_id]
            new = {
                **old,
                "title": {"S": old["title"]["S"].split(" (")[0] + f" ({rng.randint(2, 9)}e)"},
                "year": {"N": str(rng.randint(1850, 2026))},
                "version": {"N": str(int(old["version"]["N"]) + 1)},
                "updatedAt": {"N": str((START_EPOCH + position // records_per_second) * 1000)},
            }
            event_name = "MODIFY"
        else:
            book_id = live.pop(rng.randrange(len(live)))
            event_name, old, new = "REMOVE", items[book_id], None
        if new is None:
            items.pop(book_id)
        else:
            items[book_id] = new
        sequence += rng.randint(1, 5_000)
        dynamodb: dict[str, Any] = {
            "ApproximateCreationDateTime": START_EPOCH + position // records_per_second,
            "Keys": {"id": {"S": book_id}},
            "SequenceNumber": str(sequence),
            "SizeBytes": _size(new) + _size(old),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if new is not None:
            dynamodb["NewImage"] = new
        if old is not None:
            dynamodb["OldImage"] = old
        records.append(
            {
                "eventID": uuid.UUID(int=rng.getrandbits(128)).hex,
                "eventName": event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": dynamodb,
                "eventSourceARN": STREAM_ARN,
            }
        )
    return Workload(records, items)


def batches(records: Sequence[dict[str, Any]], size: int) -> Iterator[dict[str, Any]]:
    """Lambda events of at most ``size`` records each, in stream order."""
    for start in range(0, len(records), size):
        yield {"Records": list(records[start : start + size])}


class FakeContext:
    """The part of Lambda's context the handler reads: a generous remaining time."""

    function_name = "books-indexer-bench"
    aws_request_id = "bench"

    def __init__(self, remaining_ms: int = 900_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
