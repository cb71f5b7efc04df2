"""DynamoDB size limits that moto does not enforce, checked on the requests the local gateway sends.

From "Constraints in Amazon DynamoDB"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html):

- partition key values are 1 to 2048 bytes, sort key values 1 to 1024 bytes;
- an item is at most 400 KB, counting the UTF-8 bytes of attribute names and the sizes of the values
  (item size rules: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).

A request that breaks one gets what DynamoDB answers: HTTP 400 with a ValidationException.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["MAX_ITEM_BYTES", "MAX_PARTITION_KEY_BYTES", "MAX_SORT_KEY_BYTES", "validation_error", "violation"]

MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_ITEM_BYTES = 400 * 1024
VALIDATION_TYPE = "com.amazon.coral.validation#ValidationException"

KeySchema = Mapping[str, str]  # attribute name -> "HASH" or "RANGE"


def _utf8_length(text: str) -> int:
    # A lone surrogate (valid in a JSON escape) goes out as "?", as Java writes it: one byte.
    return len(text.encode("utf-8", errors="replace"))


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value (DynamoDB JSON)."""
    kind, data = next(iter(value.items()))
    if kind == "S":
        return _utf8_length(str(data))
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(str(data)) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: member}) for member in data)
    if kind == "L":
        return 3 + sum(1 + value_size(member) for member in data)
    if kind == "M":
        return 3 + sum(1 + _utf8_length(name) + value_size(member) for name, member in data.items())
    return 0


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(_utf8_length(name) + value_size(value) for name, value in item.items())


def _key_violation(key: Mapping[str, Mapping[str, Any]], schema: KeySchema) -> str | None:
    for name, value in key.items():
        size = value_size(value)
        if schema.get(name) == "HASH" and size > MAX_PARTITION_KEY_BYTES:
            return (
                "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "
                f"limit of {MAX_PARTITION_KEY_BYTES} bytes"
            )
        if schema.get(name) == "RANGE" and size > MAX_SORT_KEY_BYTES:
            return (
                "One or more parameter values were invalid: Aggregated size of all range keys has exceeded "
                f"the size limit of {MAX_SORT_KEY_BYTES} bytes"
            )
    return None


def violation(action: str, request: Mapping[str, Any], key_schema: Callable[[str], KeySchema]) -> str | None:
    """DynamoDB's message for the limit ``request`` breaks, or None. ``key_schema`` names a table's keys.

    TransactWriteItems: each action (Put, Update, Delete, ConditionCheck) is checked as the single-item call
    it stands for; DynamoDB refuses the whole transaction when one breaks a limit.
    """
    if action == "TransactWriteItems":
        for item in request.get("TransactItems") or []:
            for kind, operation in item.items() if isinstance(item, Mapping) else ():
                single = {"Put": "PutItem", "Update": "UpdateItem"}.get(kind, "GetItem")
                if isinstance(operation, Mapping) and (message := violation(single, operation, key_schema)):
                    return message
        return None
    schema = key_schema(str(request.get("TableName", "")))
    item = request.get("Item")
    if isinstance(item, Mapping):
        keys = {name: value for name, value in item.items() if name in schema}
        if message := _key_violation(keys, schema):
            return message
        if item_size(item) > MAX_ITEM_BYTES:
            return "Item size has exceeded the maximum allowed size"
    for field in ("Key", "ExclusiveStartKey"):
        if isinstance(request.get(field), Mapping) and (message := _key_violation(request[field], schema)):
            return message
    if action == "UpdateItem":
        # The new item is at least its key and every value the update sets.
        values = request.get("ExpressionAttributeValues") or {}
        if item_size(request.get("Key") or {}) + sum(value_size(v) for v in values.values()) > MAX_ITEM_BYTES:
            return "Item size to update has exceeded the maximum allowed size"
    return None


def validation_error(message: str) -> tuple[int, str]:
    """DynamoDB's answer to a request that breaks a limit."""
    return 400, json.dumps({"__type": VALIDATION_TYPE, "message": message})
