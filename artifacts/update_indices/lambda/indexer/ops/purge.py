"""Purge tombstones: delete the tombstone documents older than the stream could still deliver a record for.

A tombstone (``indexer.tombstones``) must outlive every stream record that it has to refuse: DynamoDB Streams
keeps records for 24 hours, and a record can only be delivered while the stream holds it. Older tombstones
only take space; ``purge-tombstones --older-than 48h`` deletes them. The age is ``indexer_deleted_at`` (the
stream record's ``ApproximateCreationDateTime``) against this machine's clock, which only decides when space
is given back, never which write wins; ages under ``MIN_AGE_SECONDS`` (the stream's retention) are refused.

A tombstone without ``indexer_deleted_at`` (one an earlier release built from a read of the table: a
backfilled item the hook dropped, a repair) has no age. Each run stamps such tombstones with its own time,
rewriting each at its own version with ``external_gte`` (a write of the item since then has a higher version
and wins: 409, left alone), so a run ``--older-than`` later purges them.

Each tombstone is deleted conditionally (``if_seq_no``/``if_primary_term`` of the read): an item re-created
and indexed meanwhile has replaced the tombstone, so that delete fails with 409 and the document stays.
Tombstones are searched in the concrete indices behind the alias, because the alias's filter hides them; the
scroll is streamed into the bulk deletes, so memory holds one page, not every tombstone.

A purged id is a real delete, remembered by OpenSearch (its version) for ``index.gc_deletes`` only. A late
stream record racing the purge is older than the tombstone, so more than 24 h old and beyond the stream's
retention: only a record read just before it expired and still in flight (one Lambda invocation, at most
15 minutes, https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html) can race it.
``index.json`` keeps ``gc_deletes`` at 1 h to cover that with margin, instead of 48 h of purged ids held in
every shard's version map.

A bulk load (``bulk-load``) writes its export's item states, which only tombstones of deletes made after the
export time refuse. Given the bulk-load bucket (``--bulk-load-bucket``, default ``$BULK_LOAD_BUCKET``), the
cutoff is held at the export time of every run that can still write (``export_age.held_cutoff``: its export is
younger than a child accepts, or the run allows an old one), so no tombstone such a run still needs is purged.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import helpers

from indexer.ops.export_age import held_cutoff
from indexer.ops.target import Target
from indexer.tombstones import DELETED_AT_FIELD, TOMBSTONE_FIELD

MIN_AGE_SECONDS = 24 * 3600
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGE = re.compile(r"^(\d+)([smhd])$")


def parse_age(text: str) -> int:
    """``48h``, ``2d``, ``90m``, ``172800s`` as seconds; ValueError naming --older-than otherwise."""
    match = _AGE.match(text.strip())
    if not match:
        raise ValueError(f"--older-than: {text!r} is not a duration like 48h, 2d or 172800s")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds < MIN_AGE_SECONDS:
        raise ValueError(
            f"--older-than: {text} is shorter than the stream's 24 h retention; a younger tombstone may "
            "still have a late record to refuse"
        )
    return seconds


@dataclass
class PurgeResult:
    indices: list[str]
    cutoff: int
    found: int = 0
    purged: int = 0
    kept: int = 0  # replaced by a newer write since the search (409)
    stamped: int = 0  # tombstones without a deletion time, given this run's (purged by a later run)
    failed: int = 0
    reasons: list[str] = field(default_factory=list)
    held_by: list[str] = field(default_factory=list)  # bulk-load runs whose export time held the cutoff

    def summary(self) -> dict[str, Any]:
        return {
            "command": "purge-tombstones",
            "indices": self.indices,
            "deleted_before": self.cutoff,
            "found": self.found,
            "purged": self.purged,
            "kept": self.kept,
            "stamped": self.stamped,
            "failed": self.failed,
            "failures": self.reasons[:20],
            "held_by_bulk_loads": self.held_by,
        }


def indices_behind(target: Target, index: str | None) -> list[str]:
    """The concrete indices to purge: ``index`` itself, or every index the alias points at."""
    if index:
        return [index]
    answer = target.search.indices.get_alias(index=target.alias)
    return sorted(answer)


def purge_tombstones(
    target: Target,
    older_than_seconds: int,
    *,
    index: str | None = None,
    now: float | None = None,
    bulk_load: tuple[Any, str] | None = None,
) -> PurgeResult:
    """Purge the tombstones deleted before ``now - older_than_seconds``, or before the export time of a
    bulk-load run that can still write (``bulk_load``: the S3 client and the bulk-load bucket)."""
    now = time.time() if now is None else now
    cutoff = now - older_than_seconds
    held_by: list[str] = []
    if bulk_load is not None:
        cutoff, held_by = held_cutoff(*bulk_load, cutoff, now)
    result = PurgeResult(indices_behind(target, index), int(cutoff), held_by=held_by)
    cutoff = result.cutoff
    for name in result.indices:
        stamp_ageless(target, name, int(now), result)
    query = {
        "seq_no_primary_term": True,
        "_source": False,
        "query": {
            "bool": {
                "filter": [
                    {"term": {TOMBSTONE_FIELD: True}},
                    {"range": {DELETED_AT_FIELD: {"lt": cutoff, "format": "epoch_second"}}},
                ]
            }
        },
    }
    for name in result.indices:
        for ok, item in helpers.streaming_bulk(
            target.search,
            _deletes(helpers.scan(target.search, index=name, query=query, size=1000, scroll="5m"), result),
            index=name,  # POST /<concrete index>/_bulk, no _index in the actions (explicit index refused)
            raise_on_error=False,
            raise_on_exception=False,
            max_retries=3,
        ):
            info = item.get("delete", {})
            if ok:
                result.purged += 1
            elif info.get("status") == 409:
                result.kept += 1
            else:
                result.failed += 1
                result.reasons.append(f"{info.get('_id')}: {info.get('error')}")
    return result


def stamp_ageless(target: Target, index: str, now: int, result: PurgeResult) -> None:
    """Give tombstones without a deletion time this run's, each rewritten at its own version
    (``external_gte``: a newer write of the item since the search wins with 409 and is left alone)."""
    query = {
        "version": True,
        "_source": True,
        "query": {
            "bool": {
                "filter": [{"term": {TOMBSTONE_FIELD: True}}],
                "must_not": [{"exists": {"field": DELETED_AT_FIELD}}],
            }
        },
    }
    hits = helpers.scan(target.search, index=index, query=query, size=1000, scroll="5m")
    stamps = (
        {
            "_op_type": "index",
            "_id": hit["_id"],
            "version": hit["_version"],
            "version_type": "external_gte",
            "_source": {**(hit.get("_source") or {}), DELETED_AT_FIELD: now},
        }
        for hit in hits
    )
    for ok, item in helpers.streaming_bulk(
        target.search, stamps, index=index, raise_on_error=False, raise_on_exception=False, max_retries=3
    ):
        info = item.get("index", {})
        if ok:
            result.stamped += 1
        elif info.get("status") != 409:  # 409: the item was written since; not a tombstone any more
            result.failed += 1
            result.reasons.append(f"{info.get('_id')}: {info.get('error')}")


def _deletes(hits: Iterable[dict[str, Any]], result: PurgeResult) -> Iterator[dict[str, Any]]:
    """A conditional delete per scanned tombstone, as the scroll yields them (memory stays one page)."""
    for hit in hits:
        result.found += 1
        yield {
            "_op_type": "delete",
            "_id": hit["_id"],
            "if_seq_no": hit["_seq_no"],
            "if_primary_term": hit["_primary_term"],
        }
