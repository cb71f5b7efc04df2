"""The table's key schema and the document id derived from a key.

A table keyed by partition key only uses that key's value as the id (numbers in canonical form, binary as
base64). A table with a sort key joins both as a compact JSON array, e.g. ``["author#1","2024"]`` or
``["a",7]``: JSON string escaping makes the join unambiguous for any characters in either part (a plain
separator such as ``#`` is not, because keys may contain it), and the encoding is reversible
(``json.loads``). Ids longer than 512 bytes are rejected by OpenSearch; those items fail as permanent errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from indexer.errors import RecordError


@dataclass(frozen=True)
class KeySchema:
    partition_key: str
    sort_key: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)

    def key_of(self, plain_item: Mapping[str, Any]) -> dict[str, Any]:
        """The key attributes of a decoded item, in schema order; RecordError when one is missing."""
        missing = [name for name in self.names if name not in plain_item]
        if missing:
            raise RecordError(f"key attribute(s) {', '.join(missing)} missing (key schema: {self.names})")
        return {name: plain_item[name] for name in self.names}

    def doc_id(self, key: Mapping[str, Any]) -> str:
        """The document id for a decoded key (see the module docstring for the encoding)."""
        values = [key[name] for name in self.key_of(key)]
        if self.sort_key is None:
            return _scalar_text(values[0])
        return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"key value of type {type(value).__name__} is not a DynamoDB key type")
    return repr(value)
