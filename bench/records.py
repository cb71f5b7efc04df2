"""Real-shaped DynamoDB stream records for a books table, as Lambda delivers them, and the state they lead to.

The records come from the tests' one stream builder (``tests/support/stream_records.py``): AWS-shaped
sequence numbers (21+ digits, about 10^20 apart), ``ApproximateCreationDateTime`` in whole epoch seconds
with ``records_per_second`` writes sharing each second. The mix (INSERT/MODIFY/REMOVE) comes from random
operations on a growing set of books with a fixed seed, so every contender is fed the exact same records.
"""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

from support.stream_records import REGION, START_EPOCH, LambdaContext, StreamBuilder, batches

__all__ = ["REGION", "FakeContext", "LambdaContext", "Workload", "batches", "book_item", "generate"]

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
    """A book exactly as the API's POST stores it (``create_book.request.vtl.tftpl``), in DynamoDB JSON."""
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


def generate(count: int, seed: int = 20261123, records_per_second: int = 100) -> Workload:
    """``count`` records: about 45% INSERT, 40% MODIFY, 15% REMOVE over a growing set of books."""
    rng = random.Random(seed)
    stream = StreamBuilder(table="books", writes_per_second=records_per_second, rng=rng)
    live: list[str] = []
    items: dict[str, dict[str, Any]] = {}
    for _ in range(count):
        roll = rng.random()
        now_ms = stream.now() * 1000
        if not live or roll < 0.45:
            book_id = str(uuid.UUID(int=rng.getrandbits(128)))
            items[book_id] = book_item(rng, book_id, now_ms)
            stream.put(items[book_id])
            live.append(book_id)
        elif roll < 0.85:
            book_id = rng.choice(live)
            old = items[book_id]
            items[book_id] = {
                **old,
                "title": {"S": old["title"]["S"].split(" (")[0] + f" ({rng.randint(2, 9)}e)"},
                "year": {"N": str(rng.randint(1850, 2026))},
                "version": {"N": str(int(old["version"]["N"]) + 1)},
                "updatedAt": {"N": str(now_ms)},
            }
            stream.put(items[book_id])
        else:
            book_id = live.pop(rng.randrange(len(live)))
            del items[book_id]
            stream.delete({"id": {"S": book_id}})
    return Workload(stream.records, items)


def FakeContext() -> LambdaContext:
    """The tests' one Lambda context, with a budget no benchmark run comes near (15 minutes)."""
    return LambdaContext(900.0, function_name="books-indexer-bench")
