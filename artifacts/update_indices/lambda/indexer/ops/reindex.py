"""Reindex without downtime: a new versioned index, backfilled, swapped in with one ``_aliases`` call, then
reconciled with the table while the stream keeps writing through the alias.

1. Create ``<alias>-v<N+1>`` from the shipped ``index.json`` (the mapping and settings in this artifact),
   recording the old index in its mapping's ``_meta`` (``reindexed_from``) so an interrupted run can be
   finished later.
2. Backfill it from a table scan (into the concrete index, ``POST /<new>/_bulk``), each item at its own
   counter version (or, without a counter, only creating documents the new index lacks). The stream still
   writes through the alias into the old index meanwhile, so writes during this phase reach only the old
   index, unless the scan happened to read the item after them. Then copy the old index's tombstones
   (``tombstones_copy``): a scan cannot see deleted items, and without their tombstones a late or replayed
   older record would bring them back in the new index.
3. Swap: one ``POST _aliases`` with ``remove`` (old) and ``add`` (new, ``is_write_index``, the tombstone
   filter): readers and the stream see either the old or the new index, never none and never both. Then copy
   the tombstones again, for the deletes the stream wrote to the old index until the swap (a copy never
   overwrites anything newer, so copying one twice changes nothing).
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

Success means every phase ran to its end: a run stopped (Ctrl-C, SIGTERM) or failing in any phase is not
``ok``, and ``delete_old`` then keeps the old index. Before the swap, rerunning with the same ``new_index``
(and checkpoint) resumes the backfill; after it, rerunning with ``new_index`` (the alias's index now)
finishes the second tombstone copy and the catch-up from the old index its ``_meta`` names.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from indexer.errors import IndexSetupError
from indexer.index_setup import alias_body, alias_target, index_body, versioned_index_name
from indexer.ops.audit import AuditOptions, AuditResult, audit
from indexer.ops.backfill import BackfillOptions, BackfillResult, backfill
from indexer.ops.progress import Progress
from indexer.ops.target import Target
from indexer.ops.tombstones_copy import CopyResult, copy_tombstones

META = "indexer"  # the new index's mapping ``_meta`` entry: {"reindexed_from": <old index>}


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
    backfill: BackfillResult | None  # None when a run after the swap is finished
    tombstones: list[CopyResult] = field(default_factory=list)  # before the swap, after it
    catch_up: AuditResult | None = None
    swapped: bool = False
    old_deleted: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Every phase ran to its end without failures: filled, tombstones copied, swapped, tombstones copied
        again, caught up (a complete audit whose repairs all succeeded; it only starts after the second copy
        succeeded)."""
        filled = self.backfill is None or self.backfill.ok
        copied = all(copy.ok for copy in self.tombstones)
        caught_up = (
            self.catch_up is not None
            and not self.catch_up.interrupted
            and (self.catch_up.repair is None or not self.catch_up.repair.failed)
        )
        return self.swapped and filled and copied and caught_up

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": "reindex",
            "old_index": self.old_index,
            "new_index": self.new_index,
            "swapped": self.swapped,
            "old_deleted": self.old_deleted,
            "backfill": None if self.backfill is None else self.backfill.summary,
            "tombstones": [copy.summary() for copy in self.tombstones],
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


def reindexed_from(client: OpenSearch, index: str) -> str | None:
    """The old index a reindex recorded in ``index``'s mapping ``_meta``; None when it recorded none."""
    mappings = client.indices.get_mapping(index=index).get(index, {}).get("mappings", {})
    origin = (mappings.get("_meta") or {}).get(META, {}).get("reindexed_from")
    return origin if isinstance(origin, str) else None


def reindex(
    target: Target,
    options: ReindexOptions,
    *,
    stop: threading.Event | None = None,
) -> ReindexResult:
    started = time.monotonic()
    stop = stop or threading.Event()
    client, alias = target.search, target.alias
    old = alias_target(client, alias)
    if old is None:
        raise IndexSetupError(
            f"alias {alias!r} does not exist: nothing to reindex (the Lambda creates it on its first batch, "
            "or run backfill)"
        )
    new = options.new_index or next_index_name(client, alias, old)
    if new == old:  # swapped already: finish what follows the swap
        origin = reindexed_from(client, new)
        if origin is None or not client.indices.exists(index=origin):
            raise IndexSetupError(
                f"--new-index {new!r} is the index the alias already points at, and no old index to finish "
                f"a reindex from is left ({'none recorded' if origin is None else repr(origin) + ' is gone'})"
            )
        result = ReindexResult(old_index=origin, new_index=new, backfill=None, swapped=True)
        return _after_swap(target, options, result, stop, started)
    if not client.indices.exists(index=new):
        body = index_body(target.settings.index_properties)
        body["mappings"]["_meta"] = {META: {"reindexed_from": old}}
        client.indices.create(index=new, body=body)
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
    if filled.ok and not stop.is_set():  # the new index goes live with the deletes already in it
        result.tombstones.append(copy_tombstones(target, old, new, stop=stop))
    if not filled.ok or not result.tombstones or not result.tombstones[0].ok or stop.is_set():
        result.seconds = time.monotonic() - started  # interrupted or failures: the alias stays where it is
        return result

    if alias_target(client, alias) != old:
        raise IndexSetupError(f"alias {alias!r} moved away from {old!r} during the reindex; not swapping")
    swap_alias(client, alias, old, new)
    result.swapped = True
    return _after_swap(target, options, result, stop, started)


def _after_swap(
    target: Target, options: ReindexOptions, result: ReindexResult, stop: threading.Event, started: float
) -> ReindexResult:
    """Copy the tombstones the old index received until the swap, catch up, delete the old index if asked
    and everything succeeded (and no stop was asked for).

    The copy waits ``recheck_after`` first, as the catch-up's confirmation does: a stream bulk request that
    resolved the alias to the old index just before the swap may still be landing there."""
    client, old, new = target.search, result.old_index, result.new_index
    if options.recheck_after > 0 and not stop.is_set():
        stop.wait(options.recheck_after)
    result.tombstones.append(copy_tombstones(target, old, new, stop=stop))
    if not result.tombstones[-1].ok or stop.is_set():
        result.seconds = time.monotonic() - started
        return result
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
    if options.delete_old and result.ok and not stop.is_set():
        client.indices.delete(index=old)
        result.old_deleted = True
    result.seconds = time.monotonic() - started
    return result
