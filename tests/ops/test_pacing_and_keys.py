"""Pure pieces: the capacity limiter's pacing and document id -> DynamoDB key."""

from __future__ import annotations

import pytest

from indexer.changes import plain_item
from indexer.keys import KeySchema
from indexer.ops.doc_keys import KeyCodec, NotAKey
from indexer.ops.ratelimit import CapacityLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_limiter_keeps_the_average_under_the_rate() -> None:
    clock = FakeClock()
    limiter = CapacityLimiter(10.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.wait()
        limiter.charge(20.0)  # a page costing 20 RCU: two seconds' worth at 10 RCU/s
    assert clock.slept == pytest.approx([2.0, 2.0, 2.0, 2.0])
    assert limiter.consumed == 100.0


def test_unbounded_limiter_never_sleeps_and_a_bad_rate_names_the_flag() -> None:
    clock = FakeClock()
    limiter = CapacityLimiter(None, clock=clock, sleep=clock.sleep)
    limiter.charge(1e6)
    limiter.wait()
    assert clock.slept == []
    with pytest.raises(ValueError, match="--rate"):
        CapacityLimiter(0)


@pytest.mark.parametrize(
    ("keys", "types", "key"),
    [
        (KeySchema("id"), {"id": "S"}, {"id": {"S": "a#b"}}),
        (KeySchema("id"), {"id": "N"}, {"id": {"N": "12345678901234567890"}}),
        (KeySchema("id"), {"id": "N"}, {"id": {"N": "12345678901234567890123456789012345671"}}),  # 38 digits
        (KeySchema("id"), {"id": "N"}, {"id": {"N": "1234567890123456789012345678901234567.1"}}),
        (KeySchema("id"), {"id": "N"}, {"id": {"N": "0.0000001"}}),  # DynamoDB's own text: no exponent
        (KeySchema("id"), {"id": "B"}, {"id": {"B": b"\x00\xff"}}),
        (
            KeySchema("author", "year"),
            {"author": "S", "year": "N"},
            {"author": {"S": '["x"'}, "year": {"N": "7"}},
        ),
    ],
)
def test_doc_id_maps_back_to_the_key(keys: KeySchema, types: dict[str, str], key: dict) -> None:
    doc_id = keys.doc_id(plain_item(key))
    assert KeyCodec(keys, types).key(doc_id) == key


def test_an_id_no_key_could_produce_is_not_a_key() -> None:
    with pytest.raises(NotAKey):
        KeyCodec(KeySchema("id"), {"id": "N"}).key("ghost")
    with pytest.raises(NotAKey):
        KeyCodec(KeySchema("a", "b"), {"a": "S", "b": "S"}).key("plain")
