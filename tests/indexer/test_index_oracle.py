"""The independent oracle finds each kind of difference, and a number that went through a float."""

from __future__ import annotations

import json
from decimal import Decimal

from boto3.dynamodb.types import Binary

from support.index_oracle import judge, same


def served(text: str) -> dict:
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def test_values_compare_by_meaning() -> None:
    assert same(Decimal("1.50"), served("1.5"))
    assert same({"a", "b"}, ["b", "a"])
    assert same({Decimal(2), Decimal(10)}, served("[10, 2]"))
    assert same(Binary(b"\x00\xff"), "AP8=")
    assert same({"m": [True, None]}, {"m": [True, None]})
    assert not same(Decimal(1), True)
    assert not same(Decimal(1), "1")
    assert not same({"a"}, ["a", "a"])
    assert not same({"x": Decimal(1)}, {"x": Decimal(1), "extra": Decimal(2)})


def test_a_38_digit_number_that_went_through_a_float_is_stale() -> None:
    exact = Decimal("1234567890123456789012345678.0123456789")
    through_a_float = served(json.dumps(float(exact)))
    assert not same(exact, through_a_float)
    assert same(exact, served(str(exact)))


def test_each_difference_is_named() -> None:
    items = {"kept": {"id": "kept"}, "lost": {"id": "lost"}, "old": {"id": "old", "n": Decimal(2)}}
    documents = {
        "kept": {"id": "kept"},
        "old": {"id": "old", "n": Decimal(1)},
        "back": {"id": "back"},
        "stray": {"id": "stray"},
    }
    verdict = judge(items, documents, deleted={"back", "kept"})
    assert (verdict.lost, verdict.stale, verdict.resurrected, verdict.orphans) == (
        ["lost"],
        ["old"],
        ["back"],
        ["stray"],
    )
    assert not verdict.clean
    assert judge(items, {k: v for k, v in items.items()}).clean


def test_projection_and_bookkeeping_fields() -> None:
    items = {"a": {"id": "a", "secret": "s"}, "draft": {"id": "draft", "status": "draft"}}

    def project(item: dict) -> dict | None:
        return None if item.get("status") == "draft" else {k: v for k, v in item.items() if k != "secret"}

    documents = {"a": {"id": "a", "indexed_at": "now"}}
    assert judge(items, documents, project=project, ignore_fields={"indexed_at"}).clean
    assert judge(items, documents, project=project).stale == ["a"]
