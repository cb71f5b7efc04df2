"""The independent oracle of single-table folding: every document, rebuilt from the table read directly.

It shares no code with the indexer: the table is read with a consistent boto3 scan and decoded by boto3's
``TypeDeserializer``; the entity configuration (the same JSON the indexer gets as ENTITY_CONFIG) is
interpreted here on its own, by the rules the README states:

- a row belongs to the one rule whose conditions it meets (key prefixes, attribute equality); a child's rule
  also holds its parent's partition key prefix when it names none;
- a flat entity (``document_id: key``) has one document per row, id = the partition key, or
  ``[partition, sort]`` as compact JSON with a sort key;
- a folded entity (``document_id: partition_key``) has one document per partition that has a root row: the
  root row's attributes, each child's rows under its field (a list ordered by ``order_by``, numbers by value,
  strings by code point, rows without it last, ties by the sort key; a section is the one row's object);
- ``include`` keeps only the listed attributes, ``exclude`` drops the listed ones.

``judge_entities`` compares every entity's index (read over HTTP with exact numbers, as
``index_oracle.served_documents`` does) with these documents: lost, stale, resurrected, orphaned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from support.index_oracle import Verdict, judge, served_documents

Row = dict[str, Any]


def table_rows(dynamodb: Any, table: str) -> list[Row]:
    decode = TypeDeserializer().deserialize
    rows: list[Row] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        rows.extend({name: decode(value) for name, value in raw.items()} for raw in page["Items"])
    return rows


def expected_documents(
    rows: Iterable[Row], config: Mapping[str, Any], partition_key: str, sort_key: str | None
) -> dict[str, dict[str, Row]]:
    """index alias -> document id -> the document the configuration makes of these rows."""
    rules = []
    for entity in config["entities"]:
        rules.append((entity, None))
        rules.extend((entity, child) for child in entity.get("children", []))

    def conditions(entity: Mapping[str, Any], child: Mapping[str, Any] | None) -> Mapping[str, Any]:
        if child is None:
            return entity["match"]
        inherited = {k: v for k, v in entity["match"].items() if k == "partition_key_prefix"}
        return {**inherited, **child["match"]}

    def rule_of(row: Row) -> tuple[Any, Any] | None:
        met = [rule for rule in rules if _meets(row, conditions(*rule), partition_key, sort_key)]
        assert len(met) <= 1, f"the test's rows must meet one rule at most: {row}"
        return met[0] if met else None

    documents: dict[str, dict[str, Row]] = {entity["index"]: {} for entity in config["entities"]}
    partitions: dict[Any, list[Row]] = {}
    for row in rows:
        partitions.setdefault(row[partition_key], []).append(row)
    for partition, members in partitions.items():
        for entity in config["entities"]:
            own = [(row, rule_of(row)) for row in members]
            own = [(row, rule[1]) for row, rule in own if rule is not None and rule[0] is entity]
            if entity.get("document_id", "key") == "key":
                for row, _ in own:
                    doc_id = (
                        _text(partition) if sort_key is None else _pair(row[partition_key], row[sort_key])
                    )
                    documents[entity["index"]][doc_id] = _projected(row, entity)
                continue
            roots = [row for row, child in own if child is None]
            assert len(roots) <= 1, "the test writes at most one root row per partition"
            if not roots:
                continue
            document = _projected(roots[0], entity)
            for child in entity.get("children", []):
                mine = [row for row, rule in own if rule is child]
                ordered = _ordered(mine, child.get("order_by") or sort_key, sort_key, child.get("descending"))
                elements = [_projected(row, child) for row in ordered]
                if child.get("fold", "array") == "array":
                    document[child["field"]] = elements
                else:
                    assert len(elements) <= 1, "the test writes at most one row per section"
                    document.pop(child["field"], None)
                    if elements:
                        document[child["field"]] = elements[0]
            documents[entity["index"]][_text(partition)] = document
    return documents


def judge_entities(
    dynamodb: Any,
    table: str,
    opensearch_url: str,
    config: Mapping[str, Any],
    partition_key: str,
    sort_key: str | None,
    *,
    deleted: Mapping[str, Iterable[str]] | None = None,
    only: Callable[[str, str], bool] = lambda index, doc_id: True,
) -> dict[str, Verdict]:
    """Per index alias, the verdict of the served documents against the table's rebuild; ``only(index,
    doc_id)`` restricts both sides to the documents it accepts (e.g. those with no record in flight)."""
    expected = expected_documents(table_rows(dynamodb, table), config, partition_key, sort_key)
    verdicts = {}
    for index, documents in expected.items():
        served = served_documents(opensearch_url, index)
        documents = {doc_id: doc for doc_id, doc in documents.items() if only(index, doc_id)}
        served = {doc_id: doc for doc_id, doc in served.items() if only(index, doc_id)}
        verdicts[index] = judge(documents, served, deleted=(deleted or {}).get(index, ()))
    return verdicts


def _meets(row: Row, match: Mapping[str, Any], partition_key: str, sort_key: str | None) -> bool:
    pk = row.get(partition_key)
    sk = row.get(sort_key) if sort_key else None
    if "partition_key_prefix" in match and not (
        isinstance(pk, str) and pk.startswith(match["partition_key_prefix"])
    ):
        return False
    if "sort_key_prefix" in match and not (isinstance(sk, str) and sk.startswith(match["sort_key_prefix"])):
        return False
    if "attribute" in match:
        value = row.get(match["attribute"], _ABSENT)
        wanted = match["equals"]
        if isinstance(wanted, bool) or isinstance(value, bool):
            return value is wanted
        if isinstance(wanted, int):
            return isinstance(value, Decimal) and value == wanted
        return value == wanted
    return True


_ABSENT = object()


def _projected(row: Row, level: Mapping[str, Any]) -> Row:
    include = level.get("include")
    kept = {k: v for k, v in row.items() if include is None or k in include}
    return {k: v for k, v in kept.items() if k not in set(level.get("exclude", ()))}


def _ordered(
    rows: list[Row], attribute: str | None, sort_key: str | None, descending: bool | None
) -> list[Row]:
    def rank(value: Any) -> tuple[int, Any]:
        if isinstance(value, bool):
            return (2, value)
        if isinstance(value, Decimal):
            return (0, value)
        if isinstance(value, str):
            return (1, value)
        return (3, repr(value))

    having = [row for row in rows if attribute in row]
    lacking = [row for row in rows if attribute not in row]
    having.sort(key=lambda row: (rank(row[attribute]), rank(row.get(sort_key))), reverse=bool(descending))
    lacking.sort(key=lambda row: rank(row.get(sort_key)))
    return having + lacking


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _pair(partition: Any, sort: Any) -> str:
    return json.dumps([partition, sort], ensure_ascii=False, separators=(",", ":"), default=str)
