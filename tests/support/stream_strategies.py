"""Hypothesis strategies for stream histories shaped like AWS's, built with the one record builder.

- ``gaps``: distances between consecutive sequence numbers of a shard: AWS's about 10^20, and anything
  from 2^31 up (a gap of 2^31 or more is where a version built from ``SequenceNumber mod 2**31`` breaks);
- ``histories``: writes to a few items (put, update, delete, re-create) where most writes share their
  second with the one before (``ApproximateCreationDateTime`` is whole seconds), sometimes with a shard
  split in the middle; each history carries its records and the table it leaves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from books_local.sequence_numbers import ROOT_SHARD_START, STRIDE
from support.stream_records import START_EPOCH, Record, Shard, StreamBuilder

gaps = st.one_of(
    st.just(STRIDE),
    st.integers(min_value=2**31, max_value=2**33),
    st.integers(min_value=10**19, max_value=2 * 10**20),
)
shard_starts = st.one_of(st.just(ROOT_SHARD_START), st.integers(min_value=10**20, max_value=10**24))


@dataclass(frozen=True)
class History:
    records: list[Record]
    items: dict[str, dict[str, Any]]  # the table at the end: id -> item in DynamoDB JSON
    with_counter: bool


@st.composite
def histories(draw: st.DrawFn, max_writes: int = 30, with_counter: bool | None = None) -> History:
    counted = draw(st.booleans()) if with_counter is None else with_counter
    start = draw(shard_starts)
    gap_values = draw(st.lists(gaps, min_size=1, max_size=4))
    chooser = random.Random(draw(st.integers(0, 2**32)))
    seconds = [START_EPOCH]

    def clock() -> float:
        return seconds[0]

    stream = StreamBuilder(
        table="books",
        clock=clock,
        shard=Shard(start=start, gap=lambda: chooser.choice(gap_values)),
        rng=random.Random(0),
    )
    counters: dict[str, int] = {}
    split_at = draw(st.one_of(st.none(), st.integers(1, max_writes)))
    for step in range(draw(st.integers(1, max_writes))):
        if step == split_at:
            stream.split()
        seconds[0] += draw(st.sampled_from([0, 0, 0, 1, 2]))  # mostly same-second bursts
        book_id = draw(st.sampled_from(["b0", "b1", "b2"]))
        keys = {"id": {"S": book_id}}
        if draw(st.integers(0, 3)) == 0:
            removed = stream.delete(keys)
            if removed is not None and counted:
                counters[book_id] += 1  # a delete is a write: the next one continues the counter
            continue
        counters[book_id] = counters.get(book_id, 0) + 1
        item: dict[str, Any] = {**keys, "title": {"S": f"{book_id} step {step}"}, "step": {"N": str(step)}}
        if counted:
            item["version"] = {"N": str(counters[book_id])}
        stream.put(item)
    items = {item["id"]["S"]: item for item in stream.items.values()}
    return History(stream.records, items, counted)
