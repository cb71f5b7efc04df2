"""How old a bulk load's export may be, and which runs hold ``purge-tombstones`` back.

An export is the table at its export time (``ExportTime``: "a snapshot of the table's state at this point
in time", ``ExportTableToPointInTime``); a bulk load writes the export's item states days later if it runs
long, is redriven or is given an old ``export_arn``. Such a state is only refused by the tombstone of a delete
made after the export time; a tombstone older than ``purge-tombstones --older-than`` (at least 24 h) is
purged, and then an exported item that was deleted since comes back. Second, the handover to the stream is
only exact when every change made after the export time reaches the index through the stream, and DynamoDB
Streams keeps a record for 24 hours only.

So a child writes only while the export is younger than ``MAX_EXPORT_AGE_SECONDS`` (the stream's 24 h
retention, which is also the shortest horizon ``purge-tombstones`` accepts, less an hour's margin for a
record in flight and OpenSearch's ``index.gc_deletes``). A run started with ``allow_old_export`` (the operator
took the stream's and the purge's side on themselves) goes on; ``purge-tombstones`` then holds its cutoff at
the export time of every run that can still write (``held_cutoff``), read from the runs' ``run.json`` in the
bulk-load bucket.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from indexer.errors import SettingsError
from indexer.ops.run_store import RunStore

MAX_EXPORT_AGE_SECONDS = 23 * 3600
OVERRIDE = "allow_old_export"


class ExportTooOld(SettingsError):
    """The export is older than a load may write (see the module's docstring)."""


def export_epoch(value: Any) -> float | None:
    """``ExportTime`` as seconds since the epoch: a datetime (boto3), a number, or manifest-summary.json's
    ISO-8601 text (``2026-12-03T00:00:00.000Z``); None when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float):
        return float(value)
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def check_export_age(export_time: float | None, now: float, *, allowed: bool, what: str) -> None:
    """Raise ExportTooOld unless the export is young enough to load (or the run allows an old one)."""
    if allowed:
        return
    if export_time is None:
        raise ExportTooOld(
            f"{what}: the export's time is unknown, so its age against the stream's 24 h retention and the "
            f"tombstone purge cannot be checked; start the run with {OVERRIDE}=true (--allow-old-export) "
            "only with purge-tombstones held (see docs/bulk-load.md)"
        )
    age = now - export_time
    if age > MAX_EXPORT_AGE_SECONDS:
        raise ExportTooOld(
            f"{what}: the export is {age / 3600:.1f} h old, more than {MAX_EXPORT_AGE_SECONDS // 3600} h: "
            "the stream (24 h retention) no longer holds every change since it and purge-tombstones may "
            "already have purged tombstones that refuse its deleted items; take a new export (start without "
            f"--export-arn), or set {OVERRIDE}=true (--allow-old-export) with purge-tombstones given the "
            "bulk-load bucket (docs/bulk-load.md)"
        )


def can_still_write(run: dict[str, Any], now: float) -> bool:
    """A run's children may still write: its export is young enough, or the run allows an old one."""
    export_time = run.get("export_epoch")
    if export_time is None:
        return bool(run.get(OVERRIDE))
    return bool(run.get(OVERRIDE)) or now - float(export_time) <= MAX_EXPORT_AGE_SECONDS


def held_cutoff(s3: Any, bucket: str, cutoff: float, now: float) -> tuple[float, list[str]]:
    """``purge-tombstones``' cutoff, held at the export time of every run in the bulk-load bucket that can
    still write (``runs/<run>/run.json``); the runs that hold it."""
    held, holding = cutoff, []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix="runs/", Delimiter="/"):
        for prefix in page.get("CommonPrefixes", []):
            run_name = prefix["Prefix"].removeprefix("runs/").rstrip("/")
            run = RunStore(s3, bucket, run_name).get("run.json")
            if not run or not can_still_write(run, now):
                continue
            export_time = run.get("export_epoch")
            if export_time is None:
                raise SettingsError(
                    f"bulk-load run {run_name!r} allows an old export of unknown time: purge-tombstones "
                    "cannot tell which tombstones it still needs; finish or abandon it first"
                )
            if float(export_time) < held:
                held = float(export_time)
            if float(export_time) < cutoff:
                holding.append(run_name)
    return held, holding
