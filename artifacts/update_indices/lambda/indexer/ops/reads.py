"""Reading items by key: consistent BatchGetItem in chunks of 100, retrying unprocessed keys.

Each item in an answer is matched to the document id it was asked for by deriving that id from the item's
own key, exactly as every other path derives it (``keys.KeySchema.doc_id``: exact decimal text for numbers,
so keys differing in their 38th digit stay two ids; DynamoDB answers a number with its own canonical digits,
whatever text the request used).
"""

from __future__ import annotations

import time
from typing import Any

from indexer.changes import plain_item
from indexer.ops.target import Target

BATCH = 100  # BatchGetItem's limit


def get_items(target: Target, keys: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """doc id -> item, by consistent BatchGetItem; ids absent from the answer have no item."""
    schema = target.keys
    items: dict[str, dict[str, Any]] = {}
    pending = list(keys.values())
    while pending:
        chunk, pending = pending[:BATCH], pending[BATCH:]
        request = {target.table: {"Keys": chunk, "ConsistentRead": True}}
        while request:
            answer = target.dynamodb.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(target.table, []):
                key = {name: item[name] for name in schema.names}
                doc_id = schema.doc_id(schema.key_of(plain_item(key)))
                if doc_id in keys:
                    items[doc_id] = item
            request = answer.get("UnprocessedKeys") or {}
            if request:
                time.sleep(0.1)
    return items
