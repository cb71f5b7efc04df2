"""A bulk-load run's state in S3, next to its export: what the children share and how far each one got.

    runs/<run>/run.json            what prepare decided (mode, entity, index, old index, export, counts)
    runs/<run>/files.json          the export's data files, as a JSON array (the file Map's items)
    runs/<run>/slices.json         index slices to check (the slice Map's items: reindex, audit)
    runs/<run>/files/<n>.json      one file child's checkpoint: position (items done), done, counts, ...
    runs/<run>/slices/<n>.json     one slice child's checkpoint (later passes: slices-p<N>/<n>.json)

A checkpoint is written after every page whose documents were written, so a child that times out, is
killed, or is retried by the state machine resumes after the last written page (a page may be written twice:
every write is conditional, so that is harmless). An S3 PUT of a whole object replaces it atomically
(readers see the old or the new object, never part of one), which is all a checkpoint needs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from indexer.ops.checkpoint import decode_key, encode_key


@dataclass
class ChildState:
    position: int = 0  # items of the file (or documents of the slice) done
    done: bool = False
    invocations: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    failed_keys: list[dict[str, Any]] = field(default_factory=list)  # DynamoDB-JSON keys
    reasons: list[str] = field(default_factory=list)  # the first few failure reasons
    differences: dict[str, int] = field(default_factory=dict)  # audit: confirmed, by kind
    examples: dict[str, list[str]] = field(default_factory=dict)  # audit: a few ids per kind
    after: list[Any] | None = None  # slices: the sort values (the ``_id``) of the last document read
    stuck: int = 0  # slices: passes in a row over the next page whose repairs failed

    def add(self, counts: dict[str, int]) -> None:
        for name, value in counts.items():
            self.counts[name] = self.counts.get(name, 0) + int(value)

    def note(self, reasons: list[str]) -> None:
        self.reasons.extend(reasons[: max(0, 20 - len(self.reasons))])

    def merge(self, page: ChildState) -> None:
        """A page's counts, differences, examples and reasons, added to this checkpoint's."""
        self.add(page.counts)
        self.note(page.reasons)
        for kind, number in page.differences.items():
            self.differences[kind] = self.differences.get(kind, 0) + number
            examples = self.examples.setdefault(kind, [])
            examples.extend(page.examples.get(kind, [])[: max(0, 20 - len(examples))])


@dataclass(frozen=True)
class RunStore:
    s3: Any
    bucket: str
    run: str

    def key(self, name: str) -> str:
        return f"runs/{self.run}/{name}"

    def put(self, name: str, value: Any) -> str:
        key = self.key(name)
        body = json.dumps(value, sort_keys=True, default=str).encode()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        return key

    def get(self, name: str) -> Any | None:
        try:
            answer = self.s3.get_object(Bucket=self.bucket, Key=self.key(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return json.loads(answer["Body"].read())

    def child(self, kind: str, number: int) -> ChildState:
        data = self.get(f"{kind}/{number}.json")
        if data is None:
            return ChildState()
        data["failed_keys"] = [decode_key(key) for key in data.get("failed_keys", [])]
        return ChildState(**data)

    def save(self, kind: str, number: int, state: ChildState) -> None:
        data = asdict(state)
        data["failed_keys"] = [encode_key(key) for key in state.failed_keys]
        self.put(f"{kind}/{number}.json", data)

    def children(self, kind: str) -> list[ChildState]:
        """Every checkpoint of that kind written so far (for the CLI's progress)."""
        states: list[ChildState] = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.key(f"{kind}/")):
            for entry in page.get("Contents", []):
                number = entry["Key"].rsplit("/", 1)[-1].removesuffix(".json")
                if number.isdigit():
                    states.append(self.child(kind, int(number)))
        return states
