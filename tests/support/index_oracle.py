"""The independent oracle: the documents the index must serve, from the table itself, against what it serves.

It shares no code with what it judges: the table is read with a consistent boto3 scan and decoded by boto3's
``TypeDeserializer`` (not the indexer's decoding, not ``build_action``, not the audit); the index is read
over plain HTTP and parsed with exact decimals, so a number that went through a float somewhere shows up as
stale. Values compare by meaning: numbers as decimals (``1.50`` equals ``1.5``), sets in any order, binary
as base64 text (what Lambda's events and the indexer carry).

The verdict names four kinds of difference:
- lost: an item without a document;
- stale: a document that differs from its item;
- resurrected: a document for an item that was deleted (the caller says which ids it deleted);
- orphans: any other document without an item.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer

Item = dict[str, Any]
MAX_DOCUMENTS = 10_000


@dataclass(frozen=True)
class Verdict:
    lost: list[str]
    stale: list[str]
    resurrected: list[str]
    orphans: list[str]
    examples: dict[str, Any] = field(default_factory=dict)  # up to 5 stale ids: (expected, served)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.stale or self.resurrected or self.orphans)

    def counts(self) -> dict[str, int]:
        return {
            "lost": len(self.lost),
            "stale": len(self.stale),
            "resurrected": len(self.resurrected),
            "orphans": len(self.orphans),
        }

    def __str__(self) -> str:
        return json.dumps(
            {
                **self.counts(),
                "ids": {
                    "lost": self.lost[:10],
                    "stale": self.stale[:10],
                    "resurrected": self.resurrected[:10],
                    "orphans": self.orphans[:10],
                },
                "examples": self.examples,
            },
            default=str,
        )


def table_items(dynamodb: Any, table: str, doc_id: Callable[[Item], str] | None = None) -> dict[str, Item]:
    """Every item of ``table`` (consistent scan), decoded by boto3, by the document id it must have."""
    decode = TypeDeserializer().deserialize
    name_of = doc_id or (lambda item: str(item["id"]))
    items: dict[str, Item] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for raw in page["Items"]:
            item = {name: decode(value) for name, value in raw.items()}
            items[name_of(item)] = item
    return items


def served_documents(
    opensearch_url: str, alias: str, query: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every document a search on ``alias`` serves (after a refresh), ``_source`` with exact numbers, minus
    the ``indexer_*`` bookkeeping fields that every consumer-facing search excludes (as the API does)."""
    _request(opensearch_url, "POST", f"/{alias}/_refresh")
    body = {"query": query or {"match_all": {}}, "size": MAX_DOCUMENTS}
    answer = _request(opensearch_url, "POST", f"/{alias}/_search", body)
    hits = answer["hits"]["hits"]
    assert len(hits) < MAX_DOCUMENTS, "the oracle reads at most 10,000 documents"
    return {hit["_id"]: _consumer_view(hit["_source"]) for hit in hits}


def _consumer_view(source: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in source.items() if not name.startswith("indexer_")}


def judge(
    items: Mapping[str, Item],
    documents: Mapping[str, Any],
    *,
    deleted: Iterable[str] = (),
    project: Callable[[Item], Item | None] = lambda item: item,
    ignore_fields: Iterable[str] = (),
) -> Verdict:
    """Compare the table's items (``table_items``) with the served documents (``served_documents``).

    ``project`` is what the index is configured to keep of an item (None: the item is not indexed);
    ``ignore_fields`` are bookkeeping fields the indexer adds to every document.
    """
    ignored = set(ignore_fields)
    expected = {doc_id: project(item) for doc_id, item in items.items()}
    expected = {doc_id: document for doc_id, document in expected.items() if document is not None}
    deleted_ids = set(deleted) - set(items)
    lost = sorted(expected.keys() - documents.keys())
    stale: list[str] = []
    examples: dict[str, Any] = {}
    for doc_id in sorted(expected.keys() & documents.keys()):
        served = {name: value for name, value in documents[doc_id].items() if name not in ignored}
        if not same(expected[doc_id], served):
            stale.append(doc_id)
            if len(examples) < 5:
                examples[doc_id] = {"expected": expected[doc_id], "served": served}
    extra = documents.keys() - expected.keys()
    return Verdict(
        lost=lost,
        stale=stale,
        resurrected=sorted(extra & deleted_ids),
        orphans=sorted(extra - deleted_ids),
        examples=examples,
    )


def judge_table(
    dynamodb: Any,
    table: str,
    opensearch_url: str,
    alias: str,
    *,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    deleted: Iterable[str] = (),
) -> Verdict:
    """``judge`` for a table keyed by ``id`` indexed with INDEX_INCLUDE_ATTRIBUTES / INDEX_EXCLUDE_ATTRIBUTES
    (empty include: every attribute) and no hook."""
    kept, dropped = {name for name in include if name}, {name for name in exclude if name}

    def project(item: Item) -> Item:
        return {k: v for k, v in item.items() if (not kept or k in kept) and k not in dropped}

    return judge(
        table_items(dynamodb, table),
        served_documents(opensearch_url, alias),
        deleted=deleted,
        project=project,
    )


def judge_target(target: Any, *, deleted: Iterable[str] = ()) -> Verdict:
    """``judge_table`` for an ``indexer.ops`` target: its table, OpenSearch endpoint, alias and include /
    exclude lists (configuration only; the oracle applies them itself). A target with a hook is refused."""
    assert target.hook is None, "the oracle knows no hook"
    settings = target.settings
    return judge_table(
        target.dynamodb,
        target.table,
        settings.opensearch_endpoint,
        target.alias,
        include=settings.include_attributes or (),
        exclude=settings.exclude_attributes,
        deleted=deleted,
    )


def same(expected: Any, served: Any) -> bool:
    """Whether a served JSON value means the item's value (boto3-decoded)."""
    if isinstance(expected, bool) or expected is None:
        return served is expected
    if isinstance(expected, Decimal):
        return isinstance(served, Decimal) and not isinstance(served, bool) and served == expected
    if isinstance(expected, Binary):
        return served == base64.b64encode(expected.value).decode()
    if isinstance(expected, set):
        if not isinstance(served, list) or len(served) != len(expected):
            return False
        remaining = list(served)
        for member in expected:
            match = next((index for index, value in enumerate(remaining) if same(member, value)), None)
            if match is None:
                return False
            remaining.pop(match)
        return True
    if isinstance(expected, list):
        return (
            isinstance(served, list)
            and len(served) == len(expected)
            and all(same(a, b) for a, b in zip(expected, served, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(served, dict)
            and served.keys() == expected.keys()
            and all(same(value, served[name]) for name, value in expected.items())
        )
    return isinstance(served, str) and served == expected


def _request(base_url: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base_url.rstrip('/')}{path}", data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read(), parse_float=Decimal, parse_int=Decimal)
