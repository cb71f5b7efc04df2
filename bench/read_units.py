"""The read capacity units DynamoDB charges for a Query, computed from the items it returned.

moto answers every Query with ``ConsumedCapacity.CapacityUnits`` 1.0, whatever the size of what it returned
(tests/test_bench_folding.py shows it), so the folding benchmark reports moto's figure, which the
indexer's tally sums, beside this one, which follows AWS's documented rules:

- "DynamoDB item sizes and formats"
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html): an
  item's size is the sum of its attribute names' and values' sizes. A string is its UTF-8 bytes; a number
  "approximately (1 byte per two significant digits) + (1 byte)", leading and trailing zeroes trimmed; a
  binary value its raw bytes (not its base64 text); null and Boolean 1 byte; a List or Map 3 bytes plus its
  elements, each element 1 byte more (a Map element's name counts as an attribute name does). The page
  states no rule for sets: they are counted here as the sum of their members' sizes (the benchmark's
  workload has none).
- "DynamoDB read and write operations"
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html): a
  strongly consistent read of up to 4 KB is one read unit, an eventually consistent one half a unit; a
  Query's returned items "are treated as a single read operation, where DynamoDB computes the total size of
  all items and then rounds up to the next 4 KB boundary"; a read that finds nothing still consumes one
  unit (strongly consistent) or half a unit (eventually consistent).

4 KB is taken as 4,096 bytes. Each Query page is one request, so each page is rounded on its own.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

READ_UNIT_BYTES = 4096
LIST_OR_MAP_OVERHEAD = 3
ELEMENT_OVERHEAD = 1


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes of one item in DynamoDB JSON (``{"name": {"S": "Ann"}, ...}``), by the documented rules."""
    return sum(_name_size(name) + value_size(value) for name, value in item.items())


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one DynamoDB JSON value, without its attribute name."""
    if len(value) != 1:
        raise ValueError(f"a DynamoDB JSON value has exactly one type key, got {sorted(value)}")
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode("utf-8"))
    if kind == "N":
        return number_size(content)
    if kind == "B":
        return len(_raw_bytes(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return LIST_OR_MAP_OVERHEAD + sum(value_size(element) + ELEMENT_OVERHEAD for element in content)
    if kind == "M":
        return LIST_OR_MAP_OVERHEAD + sum(
            _name_size(name) + value_size(element) + ELEMENT_OVERHEAD for name, element in content.items()
        )
    if kind == "SS":
        return sum(len(member.encode("utf-8")) for member in content)
    if kind == "NS":
        return sum(number_size(member) for member in content)
    if kind == "BS":
        return sum(len(_raw_bytes(member)) for member in content)
    raise ValueError(f"unknown DynamoDB JSON type {kind!r}: expected S, N, B, BOOL, NULL, L, M, SS, NS or BS")


def number_size(text: str) -> int:
    """1 byte per two significant digits (leading and trailing zeroes trimmed), plus 1 byte."""
    digits = "".join(str(d) for d in Decimal(text).as_tuple().digits).strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


def query_read_units(item_sizes: Iterable[int], consistent: bool = True) -> float:
    """Read units of one Query request that returned items of these sizes: their total rounded up to the
    next 4 KB, one unit per 4 KB strongly consistent (half eventually consistent); at least one 4 KB block,
    as a read that finds nothing still consumes one (or half a) unit."""
    blocks = max(1, math.ceil(sum(item_sizes) / READ_UNIT_BYTES))
    return float(blocks) if consistent else blocks / 2


def _name_size(name: str) -> int:
    return len(name.encode("utf-8"))


def _raw_bytes(content: str | bytes) -> bytes:
    """Lambda events and the wire carry binary as base64 text; boto3 hands it over as bytes."""
    return content if isinstance(content, bytes) else base64.b64decode(content)
