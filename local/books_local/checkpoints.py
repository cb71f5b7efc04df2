"""One checkpoint file per shard: the last sequence number whose fate is settled (indexed or sent on failure).

A restart reads the shard AFTER that number, so nothing settled is redone and nothing unsettled is skipped.
Records between the checkpoint and a crash are delivered again, which the indexer's external versioning makes
harmless (at least once, exactly as Lambda's event source mapping).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from books_local.state import write_json_atomically


@dataclass(frozen=True)
class Checkpoint:
    sequence_number: str | None  # None: start at the shard's trim horizon


class CheckpointStore:
    def __init__(self, directory: Path, stream_arn: str) -> None:
        # The stream ARN carries the stream label, so a recreated table never inherits an old position.
        self._directory = directory / hashlib.sha256(stream_arn.encode()).hexdigest()[:16]
        self._stream_arn = stream_arn

    def _path(self, shard_id: str) -> Path:
        return self._directory / f"{shard_id}.json"

    def load(self, shard_id: str) -> Checkpoint | None:
        try:
            data = json.loads(self._path(shard_id).read_text())
        except FileNotFoundError:
            return None
        return Checkpoint(sequence_number=data["sequence_number"])

    def save(self, shard_id: str, sequence_number: str | None) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        write_json_atomically(
            self._path(shard_id),
            {
                "stream_arn": self._stream_arn,
                "shard_id": shard_id,
                "sequence_number": sequence_number,
                "updated_at": time.time(),
            },
        )
