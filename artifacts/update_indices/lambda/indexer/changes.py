"""Decode: a DynamoDB stream record (or a scanned item) into a :class:`Change`.

Values become plain JSON through ``attribute_values`` (what boto3's ``TypeDeserializer`` gives, proven equal
by a property test, without importing boto3): integers stay exact Python ints (no float rounding of large
integers), non-integral numbers stay exact ``Decimal`` (``exact_json`` writes their digits), sets become
sorted lists, binary becomes base64 text. INSERT and MODIFY carry the NewImage;
REMOVE carries only the record's ``Keys`` (the NewImage is never used for a delete); the OldImage only gives a
delete its version.

Versions (``versions``): with a write counter (``VERSION_ATTRIBUTE``) an upsert's version comes from its
NewImage's counter and a delete's from its OldImage's. A record without a counter gets ``version=None`` and is
ordered by its sequence number instead (``sequence_guard``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from indexer.attribute_values import plain_value
from indexer.errors import RecordError
from indexer.keys import KeySchema
from indexer.versions import counter_of, delete_version, upsert_version

ChangeKind = Literal["upsert", "delete"]
_KINDS: dict[str, ChangeKind] = {"INSERT": "upsert", "MODIFY": "upsert", "REMOVE": "delete"}


@dataclass(frozen=True)
class Change:
    doc_id: str
    key: dict[str, Any]
    kind: ChangeKind
    image: (
        dict[str, Any] | None
    )  # the plain NewImage for an upsert; None for a delete (or a KEYS_ONLY stream)
    version: int | None  # external version from the item's counter; None: ordered by sequence number
    sequence_number: str | None  # None for items read by a scan
    created_at: float | None  # ApproximateCreationDateTime, epoch seconds


def plain_item(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A DynamoDB-JSON item as a plain JSON object."""
    try:
        return {name: plain_value(value) for name, value in item.items()}
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:  # decimal errors too
        raise RecordError(f"undecodable attribute value: {exc}") from exc


def decode_record(record: Mapping[str, Any], keys: KeySchema, version_attribute: str | None = None) -> Change:
    """A Lambda DynamoDB Streams record as a Change; RecordError when the record is unusable, SettingsError
    when its ``Keys`` are not the attributes TABLE_PARTITION_KEY/TABLE_SORT_KEY name (``keys.key_of_record``).

    ``version_attribute`` names the items' write counter (None: every record is ordered by sequence number).
    """
    kind = _KINDS.get(record.get("eventName", ""))
    if kind is None:
        raise RecordError(f"eventName {record.get('eventName')!r} is not INSERT, MODIFY or REMOVE")
    body = record.get("dynamodb") or {}
    sequence_number = body.get("SequenceNumber")
    created_at = body.get("ApproximateCreationDateTime")
    if not isinstance(sequence_number, str) or created_at is None:
        raise RecordError("record lacks dynamodb.SequenceNumber or dynamodb.ApproximateCreationDateTime")
    key = keys.key_of_record(plain_item(body.get("Keys") or {}))  # SettingsError: wrong TABLE_*_KEY
    if not sequence_number.isdigit():
        raise RecordError(f"SequenceNumber {sequence_number!r} is not a decimal number")
    try:
        created = float(created_at)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"ApproximateCreationDateTime {created_at!r} is not epoch seconds") from exc
    image = None
    version: int | None = None
    if kind == "upsert" and body.get("NewImage") is not None:
        image = plain_item(body["NewImage"])
        counter = counter_of(image, version_attribute)
        version = None if counter is None else upsert_version(counter)
    elif kind == "delete" and body.get("OldImage") is not None and version_attribute is not None:
        old = body["OldImage"]
        if version_attribute in old:
            counter = counter_of(plain_item({version_attribute: old[version_attribute]}), version_attribute)
            version = None if counter is None else delete_version(counter)
    return Change(
        doc_id=keys.doc_id(key),
        key=key,
        kind=kind,
        image=image,
        version=version,
        sequence_number=sequence_number,
        created_at=created,
    )


def change_from_item(
    item: Mapping[str, Any], keys: KeySchema, version_attribute: str | None = None
) -> Change:
    """A DynamoDB-JSON item (Scan/GetItem) as an upsert Change (backfill, replay, audit): versioned by its own
    counter, or ``version=None`` without one (then it only fills documents the index lacks)."""
    image = plain_item(item)
    key = keys.key_of(image)
    counter = counter_of(image, version_attribute)
    version = None if counter is None else upsert_version(counter)
    return Change(
        doc_id=keys.doc_id(key),
        key=key,
        kind="upsert",
        image=image,
        version=version,
        sequence_number=None,
        created_at=None,
    )
