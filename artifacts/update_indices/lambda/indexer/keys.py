"""The table's key schema and the document id derived from a key.

A table keyed by partition key only uses that key's value as the id (numbers as canonical decimal text,
binary as base64). A table with a sort key joins both as a compact JSON array, e.g. ``["author#1","2024"]``
or ``["a",7]``: JSON string escaping makes the join unambiguous for any characters in either part (a plain
separator such as ``#`` is not, because keys may contain it), and the encoding is reversible
(``json.loads``).

Numbers: DynamoDB keeps a number as a decimal with up to 38 significant digits, trimming leading and
trailing zeros, so ``1``, ``1.0`` and ``1.00`` are the same key
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number).
The id therefore uses the canonical text of the decimal (normalised, never exponent notation, never a
float), so two keys differing in the 38th digit get two ids.

Long ids: OpenSearch rejects an ``_id`` over 512 bytes of UTF-8, and it validates every action of a
``_bulk`` request before running any, so one such id fails the whole request
(https://docs.opensearch.org/latest/mappings/metadata-fields/id/: "An _id can be at most 512 bytes long in
UTF-8 encoding. OpenSearch rejects requests that specify a longer ID."). DynamoDB keys legally reach 2,048
bytes (partition key) plus 1,024 bytes (sort key)
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-partition-sort-keys).
Such ids are replaced by ``<readable prefix>#sha256=<hex of the full id>``; the full id is kept in the
document's :data:`RAW_ID_FIELD`. An id that merely looks like a hashed one is hashed too, so no key can
collide with another key's hashed form.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from indexer.errors import RecordError, SettingsError

MAX_ID_BYTES = 512
"""OpenSearch's limit for ``_id`` (UTF-8 bytes)."""
HASHED_PREFIX_BYTES = 160
"""Bytes of the full id kept readable in front of its hash."""
RAW_ID_FIELD = "dynamodb_document_id"
"""The document field that keeps the full id of a document whose ``_id`` is hashed."""
_HASHED = re.compile(r"#sha256=[0-9a-f]{64}\Z")


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

    def key_of_record(self, record_keys: Mapping[str, Any]) -> dict[str, Any]:
        """The key of a stream record from its decoded ``Keys``; SettingsError when they are not exactly the
        attributes TABLE_PARTITION_KEY/TABLE_SORT_KEY name.

        A record's ``Keys`` hold the table's own key attributes ("The primary key attribute(s) for the
        DynamoDB item that was modified",
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html), so a
        difference is a configuration error, never one bad record: every record of the table carries it. It
        fails the invocation (as a wrong stream view type does, ``stream_view``), before anything is written,
        instead of failing records one by one: keyed by its partition key alone, a table with a sort key
        would merge ("Le Guin", 1969) and ("Le Guin", 1974) into one document, and reporting each record
        would only walk every batch to the dead-letter queue while the function's error metric stays quiet.
        """
        if not record_keys:
            raise RecordError("record lacks dynamodb.Keys")
        if set(record_keys) != set(self.names):
            raise SettingsError(self._mismatch(sorted(record_keys)))
        return {name: record_keys[name] for name in self.names}

    def _mismatch(self, actual: list[str]) -> str:
        configured = list(self.names)
        if self.sort_key is None and len(actual) == 2 and self.partition_key in actual:
            sort_key = next(name for name in actual if name != self.partition_key)
            return (
                f"TABLE_SORT_KEY: the stream's records are keyed by {actual} but TABLE_SORT_KEY is not set; "
                f"set TABLE_SORT_KEY={sort_key!r}, or items sharing a partition key become one document"
            )
        return (
            f"TABLE_PARTITION_KEY/TABLE_SORT_KEY: the stream's records are keyed by {actual}, the settings "
            f"say {configured}; set them to the table's key schema (the table module's hash_key/range_key)"
        )

    def raw_id(self, key: Mapping[str, Any]) -> str:
        """The full, reversible id text of a decoded key (see the module docstring for the encoding)."""
        values = [key[name] for name in self.key_of(key)]
        if self.sort_key is None:
            return scalar_text(values[0])
        return "[" + ",".join(_json_part(value) for value in values) + "]"

    def doc_id(self, key: Mapping[str, Any]) -> str:
        """The document id of a decoded key: its raw id, or its hashed form when that is too long."""
        return document_id(self.raw_id(key))


def document_id(raw_id: str) -> str:
    """``raw_id`` when it fits OpenSearch's 512-byte ``_id``, else ``<prefix>#sha256=<hex>``."""
    encoded = raw_id.encode("utf-8")
    if len(encoded) <= MAX_ID_BYTES and not _HASHED.search(raw_id):
        return raw_id
    prefix = encoded[:HASHED_PREFIX_BYTES].decode("utf-8", errors="ignore")  # never half a character
    return f"{prefix}#sha256={hashlib.sha256(encoded).hexdigest()}"


def is_hashed(doc_id: str) -> bool:
    """Whether ``doc_id`` is a hashed id (its document carries the full id in :data:`RAW_ID_FIELD`)."""
    return _HASHED.search(doc_id) is not None


def number_text(value: int | Decimal) -> str:
    """Canonical decimal text of a DynamoDB number: ``1``, ``1.0`` and ``1.00`` give ``1``; no exponent."""
    if isinstance(value, int):
        return str(value)
    if not value.is_finite():
        raise RecordError(f"number {value} is not finite")
    if value.is_zero():
        return "0"
    exact = Context(prec=max(1, len(value.as_tuple().digits)))  # the default context rounds to 28 digits
    return format(value.normalize(exact), "f")


def scalar_text(value: Any) -> str:
    """A key value's text: a string as it is, a number as its canonical decimal text, binary as base64."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise RecordError(f"key value of type {type(value).__name__} is not a DynamoDB key type")
    if isinstance(value, float):  # not produced by the decoder; kept for callers passing plain floats
        value = Decimal(repr(value))
    return number_text(value)


def _json_part(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return scalar_text(value)
