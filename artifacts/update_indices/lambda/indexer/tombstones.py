"""Deletes as tombstone documents: durable across OpenSearch restarts, hidden from every search.

OpenSearch remembers a deleted document's version only in memory, for ``index.gc_deletes``: a node restart or
a blue/green deployment forgets it, and a late older upsert then brings the document back. So the indexer
never deletes a document. A delete writes a tombstone: a document with the delete's version whose only fields
are ``indexer_tombstone: true`` and the time of the delete (``indexer_deleted_at``, the stream record's
``ApproximateCreationDateTime``, or the time of writing for a tombstone built from a read of the table). It is
a real document, stored on disk and replicated like any other, so its version keeps refusing older writes
after any restart.

Tombstones are hidden from searches by the alias's filter (``ALIAS_FILTER``, set on the alias the API and
every search use). Filters apply to searches, counts and aggregations through the alias, never to GET/mget by
id, which is what the indexer and the audit need to see them. The indexer's reserved fields (``indexer_*``)
are mapped explicitly and kept IN ``_source``: any ``_source`` includes/excludes in the mapping would make
OpenSearch re-serialise every document's source from a parsed map, turning DynamoDB's exact decimals into
doubles (``1.50`` -> ``1.5``; https://docs.opensearch.org/latest/mappings/metadata-fields/source/). They are
read from ``_source`` (``reserved``) and stripped wherever a document leaves the system (``without_reserved``
in the operations tool; the API's search asks ``"_source": {"excludes": ["indexer_*"]}``).
``python -m indexer.ops purge-tombstones`` deletes tombstones older than the stream's retention, when no
record that could be refused by them can still arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TOMBSTONE_FIELD = "indexer_tombstone"
DELETED_AT_FIELD = "indexer_deleted_at"
SEQUENCE_FIELD = "indexer_sequence"
RESERVED_FIELDS = (TOMBSTONE_FIELD, DELETED_AT_FIELD, SEQUENCE_FIELD)
RESERVED_SOURCE = ",".join(RESERVED_FIELDS)  # ``_source`` filter of reads that need only these fields
SEQUENCE_DIGITS = 40  # DynamoDB sequence numbers have 21 to 40 digits; zero-padded they sort as text

ALIAS_FILTER: dict[str, Any] = {"bool": {"must_not": [{"term": {TOMBSTONE_FIELD: True}}]}}


def tombstone_source(deleted_at: float) -> dict[str, Any]:
    """The ``_source`` sent for a delete: only reserved fields, with the deletion time (epoch seconds) by
    which ``purge-tombstones`` judges its age."""
    return {TOMBSTONE_FIELD: True, DELETED_AT_FIELD: int(deleted_at)}


def sequence_text(sequence_number: str) -> str:
    """A sequence number as sortable text (zero-padded to 40 digits)."""
    return sequence_number.zfill(SEQUENCE_DIGITS)


def reserved(hit: Mapping[str, Any], name: str) -> Any:
    """A reserved field of a GET/mget/search hit, from its ``_source``; None when absent."""
    return (hit.get("_source") or {}).get(name)


def is_tombstone(hit: Mapping[str, Any]) -> bool:
    return reserved(hit, TOMBSTONE_FIELD) in (True, "true")


def stored_sequence(hit: Mapping[str, Any]) -> int | None:
    """The sequence number of the stream record a document was written from, when it was stored."""
    value = reserved(hit, SEQUENCE_FIELD)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def without_reserved(source: Mapping[str, Any]) -> dict[str, Any]:
    """A document's fields minus the indexer's reserved ones (projection never lets an item set them)."""
    return {name: value for name, value in source.items() if name not in RESERVED_FIELDS}
