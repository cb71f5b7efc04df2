"""A resumable backfill checkpoint: one JSON file, per scan segment its LastEvaluatedKey and a done flag.

The file is rewritten atomically (temporary file + ``os.replace``) after every scan page, and a page is
recorded only after its bulk write returned, so a backfill killed at any moment resumes from the last page
whose documents were written. Finished segments are never scanned again. Keys whose documents failed to
index are kept per segment and retried first on resume.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1


class CheckpointError(ValueError):
    """The checkpoint file belongs to another backfill (table, index, segments) or is unreadable."""


@dataclass
class SegmentState:
    last_key: dict[str, Any] | None = None  # DynamoDB-JSON ExclusiveStartKey for the next page
    done: bool = False
    scanned: int = 0
    failed_keys: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CheckpointState:
    table: str
    index: str
    total_segments: int
    created_at: float
    segments: dict[int, SegmentState]
    format: int = FORMAT


class Checkpoint:
    """Thread-safe per-segment progress, persisted to ``path`` (or kept in memory when ``path`` is None)."""

    def __init__(self, path: Path | None, state: CheckpointState) -> None:
        self.path = path
        self.state = state
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | None, *, table: str, index: str, total_segments: int) -> Checkpoint:
        """Loads ``path`` when it exists (and matches), else starts a fresh one."""
        if path is not None and path.exists():
            state = _load(path)
            if (state.table, state.index, state.total_segments) != (table, index, total_segments):
                raise CheckpointError(
                    f"checkpoint {path} is for table {state.table!r}, index {state.index!r} with "
                    f"{state.total_segments} segments, not table {table!r}, index {index!r} with "
                    f"{total_segments}: pass the same --table/--index/--segments, or another --checkpoint"
                )
            return cls(path, state)
        state = CheckpointState(
            table=table,
            index=index,
            total_segments=total_segments,
            created_at=time.time(),
            segments={n: SegmentState() for n in range(total_segments)},
        )
        checkpoint = cls(path, state)
        checkpoint.save()
        return checkpoint

    def segment(self, number: int) -> SegmentState:
        with self._lock:
            return self.state.segments[number]

    def pending_segments(self) -> list[int]:
        with self._lock:
            return [n for n, s in sorted(self.state.segments.items()) if not s.done or s.failed_keys]

    def record_page(
        self,
        number: int,
        *,
        last_key: dict[str, Any] | None,
        scanned: int,
        failed_keys: list[dict[str, Any]],
    ) -> None:
        """Records a page whose documents were written; ``last_key`` None means the segment is finished."""
        with self._lock:
            segment = self.state.segments[number]
            segment.last_key = last_key
            segment.done = last_key is None
            segment.scanned += scanned
            segment.failed_keys = list(failed_keys)  # a copy: the segment thread goes on extending its own
            self._save_locked()

    def save(self) -> None:
        with self._lock:
            self._save_locked()

    def _save_locked(self) -> None:
        if self.path is None:
            return
        data = asdict(self.state)
        data["segments"] = {
            str(n): {
                **s,
                "last_key": encode_key(s["last_key"]),
                "failed_keys": [encode_key(k) for k in s["failed_keys"]],
            }
            for n, s in data["segments"].items()
        }
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


def _load(path: Path) -> CheckpointState:
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise CheckpointError(f"checkpoint {path} has format {data.get('format')!r}, expected {FORMAT}")
        segments = {
            int(n): SegmentState(
                last_key=decode_key(s["last_key"]),
                done=bool(s["done"]),
                scanned=int(s["scanned"]),
                failed_keys=[decode_key(k) or {} for k in s["failed_keys"]],
            )
            for n, s in data["segments"].items()
        }
        return CheckpointState(
            table=data["table"],
            index=data["index"],
            total_segments=int(data["total_segments"]),
            created_at=float(data["created_at"]),
            segments=segments,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"checkpoint {path} is unreadable ({exc}); delete it to start over") from exc


def encode_key(key: dict[str, Any] | None) -> dict[str, Any] | None:
    """A DynamoDB-JSON key as JSON: binary values (bytes from boto3) become ``{"B": {"base64": ...}}``."""
    if key is None:
        return None
    return {
        name: {"B": {"base64": base64.b64encode(bytes(value["B"])).decode("ascii")}}
        if "B" in value
        else value
        for name, value in key.items()
    }


def decode_key(key: dict[str, Any] | None) -> dict[str, Any] | None:
    if key is None:
        return None
    return {
        name: {"B": base64.b64decode(value["B"]["base64"])} if "B" in value else value
        for name, value in key.items()
    }
