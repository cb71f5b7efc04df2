"""External versions from the item's own write counter: exact, the same for stream, backfill, audit and
replay.

Every writer of this project keeps a per-item counter in the table (``VERSION_ATTRIBUTE``, default
``version``): the API's POST writes 1, its PUT increments it atomically (``version = version + 1`` in the same
UpdateItem). An item's images therefore carry a number that grows with every modification of that item,
whatever the clocks say and however far apart the stream's sequence numbers are. The OpenSearch version is

- ``2 * counter`` for an upsert (INSERT, MODIFY, a scanned or re-read item), and
- ``2 * counter + 1`` for a delete, where ``counter`` is the OLD image's counter (REMOVE records carry it with
  the NEW_AND_OLD_IMAGES view; TTL deletes included).

A delete thus sorts after the upsert it removes and before any later state of the key. A re-created item
continues the counter (its first image carries ``deleted counter + 1`` or more, version ``2c + 2``), and beats
the tombstone. Writes use ``version_type=external_gte``: a replayed record (or a backfill of the same state)
has an equal version and rewrites identical content; an older one gets 409, counted as "newer data is
indexed". No clock is involved anywhere, so a backfill or a repair from a scan carries the scanned item's own
version: an item modified after the scan read it has a higher counter and wins, an item read after a stream
record carries at least that record's counter.

Re-creation is the writer's side of the contract: a writer that re-creates a deleted key must start its
counter above the deleted item's (the API never re-creates: POST makes a fresh id under
``attribute_not_exists``, PUT requires ``attribute_exists``). A re-created item starting again at 1 loses to
its tombstone until the tombstone is purged; tables whose writers cannot keep that rule, or keep no counter at
all, are handled by ``sequence_guard`` instead (``VERSION_ATTRIBUTE=none``, or images without the attribute).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from indexer.errors import RecordError

MAX_COUNTER = (1 << 62) - 1  # 2 * MAX_COUNTER + 1 is OpenSearch's largest version, 2**63 - 1
MAX_VERSION = (1 << 63) - 1


def upsert_version(counter: int) -> int:
    """The external version of an item image whose counter is ``counter``."""
    return 2 * _checked(counter)


def delete_version(old_counter: int) -> int:
    """The external version of the delete of an item whose last image had counter ``old_counter``."""
    return 2 * _checked(old_counter) + 1


def is_delete_version(version: int) -> bool:
    """Whether a counter-scheme version belongs to a delete (a tombstone)."""
    return version % 2 == 1


def counter_of(image: Mapping[str, Any] | None, attribute: str | None) -> int | None:
    """The item's counter in a plain (decoded) image; None when the image or the attribute is absent.

    RecordError, naming VERSION_ATTRIBUTE, when the attribute is there but is not a whole number in range: a
    value no writer of the contract produces must fail loudly instead of ordering documents wrongly.
    """
    if image is None or attribute is None or attribute not in image:
        return None
    value = image[attribute]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNTER:
        raise RecordError(
            f"VERSION_ATTRIBUTE: attribute {attribute!r} is {value!r}, not a whole number from 0 to "
            f"{MAX_COUNTER} (set VERSION_ATTRIBUTE=none if this table keeps no write counter)"
        )
    return value


def _checked(counter: int) -> int:
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= MAX_COUNTER:
        raise ValueError(f"counter {counter!r} is not a whole number from 0 to {MAX_COUNTER}")
    return counter
