"""Reindex without downtime: a new versioned index, backfilled, swapped in with one ``_aliases`` call, then
reconciled with the table while the stream keeps writing through the alias.

1. Create ``<alias>-v<N+1>`` from the shipped ``index.json`` (the mapping and settings in this artifact).
2. Backfill it from a table scan (into the concrete index, ``POST /<new>/_bulk``), each item at its own
   counter version (or, without a counter, only creating documents the new index lacks). The stream still
   writes through the alias into the old index meanwhile, so writes during this phase reach only the old
   index, unless the scan happened to read the item after them.
3. Swap: one ``POST _aliases`` with ``remove`` (old) and ``add`` (new, ``is_write_index``, the tombstone
   filter): readers and the stream see either the old or the new index, never none and never both.
4. Catch up: an audit of the new index against the table with ``repair``. Every write of phase 2 that the
   scan missed is now a missing (created), stale (updated) or orphaned (deleted) document there; the
   audit's table scan starts after the swap, so it reads each item after any such write, and repairs
   conditionally (``ops.repair``: the document read first, the item second; the item's counter version, or
   the read version + 1 with ``external``), so a stream record written after the read still wins. Deletes
   become tombstones, so a late record cannot resurrect them.

No write is lost: a write either reached the new index through the stream (after the swap), or happened
before the catch-up read the item, in which case the catch-up reflects it. Between the swap and the end of
the catch-up, searches may return the pre-reindex value of items written during phase 2 (a bounded
staleness window, not a loss). The old index is kept (delete it with ``delete_old``) so a rollback is one
``_aliases`` call back.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from indexer.errors import IndexSetupError
from indexer.index_setup import alias_body, alias_target, index_body, versioned_index_name
from indexer.ops.audit import AuditOptions, AuditResult, audit
from indexer.ops.backfill import BackfillOptions, BackfillResult, backfill
from indexer.ops.progress import Progress
from indexer.ops.target import Target


@dataclass(frozen=True)
class ReindexOptions:
    new_index: str | None = None  # default: <alias>-v<N+1>
    segments: int = 4
    workers: int | None = None
    rate: float | None = None
    page_size: int | None = None
    checkpoint: Path | None = None  # for the phase-2 backfill
    recheck_after: float = 5.0  # the catch-up audit's confirmation delay
    delete_old: bool = False


@dataclass
class ReindexResult:
    old_index: str
    new_index: str
    backfill: BackfillResult
    catch_up: AuditResult | None = None
    swapped: bool = False
    old_deleted: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        repaired = self.catch_up is not None and (
            self.catch_up.repair is None or not self.catch_up.repair.failed
        )
        return self.swapped and self.backfill.ok and repaired

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": "reindex",
            "old_index": self.old_index,
            "new_index": self.new_index,
            "swapped": self.swapped,
            "old_deleted": self.old_deleted,
            "backfill": self.backfill.summary,
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
        }
        if self.catch_up is not None:
            out["catch_up"] = self.catch_up.summary()
        return out


def next_index_name(client: OpenSearch, alias: str, current: str) -> str:
    """``<alias>-v<N+1>`` after the current ``<alias>-v<N>`` (or v2), skipping names already taken."""
    match = re.fullmatch(re.escape(alias) + r"-v(\d+)", current)
    number = int(match.group(1)) + 1 if match else 2
    while client.indices.exists(index=versioned_index_name(alias, number)):
        number += 1
    return versioned_index_name(alias, number)


def swap_alias(client: OpenSearch, alias: str, old: str, new: str) -> None:
    """Move ``alias`` from ``old`` to ``new`` in one atomic ``_aliases`` request."""
    client.indices.update_aliases(
        body={
            "actions": [
                {"remove": {"index": old, "alias": alias}},
                {"add": {"index": new, "alias": alias, **alias_body()}},
            ]
        }
    )


def reindex(
    target: Target,
    options: ReindexOptions,
    *,
    stop: threading.Event | None = None,
) -> ReindexResult:
    started = time.monotonic()
    client, alias = target.search, target.alias
    old = alias_target(client, alias)
    if old is None:
        raise IndexSetupError(
            f"alias {alias!r} does not exist: nothing to reindex (the Lambda creates it on its first batch, "
            "or run backfill)"
        )
    new = options.new_index or next_index_name(client, alias, old)
    if new == old:
        raise IndexSetupError(f"--new-index {new!r} is the index the alias already points at")
    if not client.indices.exists(index=new):
        client.indices.create(index=new, body=index_body())
    elif options.checkpoint is None:
        raise IndexSetupError(
            f"index {new!r} exists already; pass another --new-index (or --checkpoint to resume)"
        )

    filled = backfill(
        target,
        BackfillOptions(
            segments=options.segments,
            workers=options.workers,
            rate=options.rate,
            page_size=options.page_size,
            checkpoint=options.checkpoint,
            index=new,
        ),
        progress=Progress(f"reindex {new}: backfill"),
        stop=stop,
    )
    result = ReindexResult(old_index=old, new_index=new, backfill=filled)
    if not filled.ok:  # interrupted or failures: the alias stays where it is
        result.seconds = time.monotonic() - started
        return result

    if alias_target(client, alias) != old:
        raise IndexSetupError(f"alias {alias!r} moved away from {old!r} during the reindex; not swapping")
    swap_alias(client, alias, old, new)
    result.swapped = True

    result.catch_up = audit(
        target,
        AuditOptions(
            segments=options.segments,
            workers=options.workers,
            rate=options.rate,
            page_size=options.page_size,
            index=new,
            recheck_after=options.recheck_after,
            repair=True,
        ),
        progress=Progress(f"reindex {new}: catch-up", show=("scanned",)),
        stop=stop,
    )
    if options.delete_old and result.ok:
        client.indices.delete(index=old)
        result.old_deleted = True
    result.seconds = time.monotonic() - started
    return result
