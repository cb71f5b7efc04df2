"""Stream records delivered the way Lambda's event source mapping may deliver them, driven by a test.

What AWS promises and what it does not ("Using AWS Lambda with Amazon DynamoDB",
https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html; "Configuring partial batch response",
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html):

- records of one item arrive in order; with a ``ParallelizationFactor`` above 1, records of different items
  of one shard are processed concurrently, in any order relative to each other ("Lambda ... still ensures
  in-order processing at the item (partition and sort key) level"), so one transaction's rows may arrive in
  any order;
- delivery is at least once: a batch whose processing reported a failure is delivered again from the
  reported sequence number (records after it included, even those already written), and a batch that ended
  on the on-failure destination may be replayed much later (``replay-dlq``).

``Deliveries.take`` picks the next batch from the records read so far, keeping each item's own order but
interleaving items as the picks say; ``deliver`` hands a batch to the function and, while it reports a
failure, delivers again from the reported record; ``replay`` delivers an old batch again, late.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from support.stream_records import lambda_event
from support.streams import StreamReader

Record = dict[str, Any]
Process = Callable[[dict[str, Any]], Mapping[str, Any]]
MAX_REDELIVERIES = 6


def item_key(record: Record) -> str:
    keys = record["dynamodb"]["Keys"]
    return repr(sorted((name, tuple(value.items())) for name, value in keys.items()))


@dataclass
class Deliveries:
    reader: StreamReader
    process: Process
    pending: list[Record] = field(default_factory=list)  # read, not yet delivered, in stream order
    delivered: list[list[Record]] = field(default_factory=list)
    redeliveries: int = 0

    def pull(self) -> None:
        """Read what the stream has gained since the last pull."""
        self.pending.extend(self.reader.read())

    def take(self, picks: Sequence[int]) -> list[Record]:
        """Up to ``len(picks)`` pending records: each pick chooses which item's next record comes next."""
        batch: list[Record] = []
        for pick in picks:
            heads: dict[str, int] = {}
            for position, record in enumerate(self.pending):
                heads.setdefault(item_key(record), position)
            if not heads:
                break
            position = sorted(heads.values())[pick % len(heads)]
            batch.append(self.pending.pop(position))
        return batch

    def deliver(self, batch: list[Record]) -> None:
        """One invocation, then, as Lambda does with ReportBatchItemFailures, the batch again from the
        reported record until nothing is reported (a bounded number of times)."""
        if not batch:
            return
        self.delivered.append(batch)
        remaining = batch
        for _ in range(MAX_REDELIVERIES):
            failures = self.process(lambda_event(remaining))["batchItemFailures"]
            if not failures:
                return
            first = int(failures[0]["itemIdentifier"])
            remaining = [r for r in remaining if int(r["dynamodb"]["SequenceNumber"]) >= first]
            self.redeliveries += 1
        raise AssertionError(f"the function kept failing the batch: {failures}")

    def replay(self, which: int) -> None:
        """An earlier batch again, late (a duplicate delivery or a replay from the dead-letter queue)."""
        if self.delivered:
            self.deliver(list(self.delivered[which % len(self.delivered)]))

    def drain(self, picks: Sequence[int] = ()) -> None:
        """Deliver everything read so far (and what the stream gains meanwhile), in batches of up to 10."""
        self.pull()
        turn = 0
        while self.pending:
            pick = picks[turn % len(picks)] if picks else 0
            self.deliver(self.take([pick + i for i in range(10)]))
            turn += 1
            self.pull()
