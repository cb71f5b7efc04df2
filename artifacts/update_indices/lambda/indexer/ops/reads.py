"""Reading items by key: consistent BatchGetItem in chunks of 100, retrying unprocessed keys."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from indexer.ops.target import Target

BATCH = 100  # BatchGetItem's limit


def get_items(target: Target, keys: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """doc id -> item, by consistent BatchGetItem; ids absent from the answer have no item."""
    by_key = {json.dumps(_comparable(k), sort_keys=True): doc_id for doc_id, k in keys.items()}
    items: dict[str, dict[str, Any]] = {}
    pending = list(keys.values())
    while pending:
        chunk, pending = pending[:BATCH], pending[BATCH:]
        request = {target.table: {"Keys": chunk, "ConsistentRead": True}}
        while request:
            answer = target.dynamodb.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(target.table, []):
                key = {name: item[name] for name in target.keys.names}
                doc_id = by_key.get(json.dumps(_comparable(key), sort_keys=True))
                if doc_id is not None:
                    items[doc_id] = item
            request = answer.get("UnprocessedKeys") or {}
            if request:
                time.sleep(0.1)
    return items


def _comparable(key: dict[str, Any]) -> dict[str, Any]:
    """A key as comparable JSON: bytes as hex, numbers normalized (DynamoDB answers "1E+20" as digits)."""
    return {
        name: {kind: _canonical(kind, value) for kind, value in attribute.items()}
        for name, attribute in key.items()
    }


def _canonical(kind: str, value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if kind == "N":
        return str(Decimal(value).normalize())
    return value
