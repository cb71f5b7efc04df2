"""The bulk-load state machine's order of actions, for tests that drive the export handler directly: export
(laid out as DynamoDB writes one), prepare, every file child until done, every slice child, and for a
reindex swap after each slice pass until it answers ``next: done``. Partial, throttled and waiting answers
loop, as the definition's Choice and Wait states do."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

from indexer.ops.bulk_load import handle
from indexer.ops.run_store import RunStore
from indexer.ops.target import Target
from support.stream_records import LambdaContext
from support.table_exports import ExportingClient, export_table


@dataclasses.dataclass
class Run:
    target: Target
    s3: Any
    bucket: str
    run: str = dataclasses.field(default_factory=lambda: f"r-{uuid.uuid4().hex[:8]}")
    answers: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    errors: int = 0  # tasks that raised and were retried
    clock: Callable[[], float] = time.time  # the handler's clock (the export's age is judged by it)
    retry_wait: float = 1.0  # before the 2nd, 3rd, 4th attempt: 1, 2, 4 x this (the definition: 10, 20, 40 s)

    def act(self, action: str, mode: str, context: Any = None, **event: Any) -> dict[str, Any]:
        """One task, retried on an error as the definition's Retry on States.TaskFailed does (4 attempts,
        waits growing twofold; ``ItemsFailed`` and ``ExportTooOld`` are not retried)."""
        for attempt in range(4):
            try:
                task = {"action": action, "run": self.run, "mode": mode, "entity": None, "repair": True}
                answer = handle(
                    {**task, **event},
                    context or LambdaContext(900),
                    target=self.target,
                    bucket=self.bucket,
                    clock=self.clock,
                )
                break
            except Exception as exc:
                if attempt == 3 or type(exc).__name__ in ("ItemsFailed", "ExportTooOld"):
                    raise
                self.errors += 1
                time.sleep(self.retry_wait * 2**attempt)
        self.answers.append(answer)
        return answer

    def children(self, action: str, mode: str, key: str, index: str | None, field: str) -> None:
        """The Map: each item's child until it is done (partial and throttled answers loop, as the ASL's)."""
        for item in RunStore(self.s3, self.bucket, self.run).get(key.split(f"runs/{self.run}/")[1]):
            for _ in range(200):
                answer = self.act(action, mode, index=index, **{field: item})
                if answer["status"] == "done":
                    break
            assert answer["status"] == "done", answer

    def export(self, at: float | None = None) -> str:
        """The export (the table now, its ExportTime ``at``, default the clock's now); its ARN."""
        exporting = ExportingClient(self.target.dynamodb)
        stamp = self.clock() if at is None else at
        prefix = f"runs/{self.run}"
        description = export_table(exporting, self.s3, self.target.table, self.bucket, prefix, at=stamp)
        exporting.exports[description["ExportArn"]] = description
        self.target = dataclasses.replace(self.target, dynamodb=exporting)
        return str(description["ExportArn"])

    def through(self, mode: str, export_arn: str | None = None) -> dict[str, Any]:
        """The whole state machine: export (unless given), prepare, files, then swap and slices where the mode
        has them."""
        prepared = self.act("prepare", mode, export_arn=export_arn or self.export())
        self.children("file", mode, prepared["files_key"], prepared["index"], "file")
        while prepared.get("slices_key"):
            self.children("slice", mode, prepared["slices_key"], prepared["index"], "slice")
            if mode != "reindex":
                break
            prepared = self.until_done("swap", mode, index=prepared["index"])
        return prepared

    def until_done(self, action: str, mode: str, **event: Any) -> dict[str, Any]:
        """A task looped as the definition loops it on every answer but done and failed."""
        for _ in range(200):
            answer = self.act(action, mode, **event)
            if answer["status"] == "done":
                return answer
        raise AssertionError(f"{action} never finished: {answer}")


def single_copy(search: Any, alias: str) -> None:
    """The alias's index without replicas, as ``auto_expand_replicas: 0-1`` (index.json) makes it on a
    one-node domain. The stand-in does not apply auto_expand_replicas (it reports one replica, never
    assigned: yellow for ever), so a reindex's swap, which waits for green, would wait for ever."""
    index = next(iter(search.indices.get_alias(name=alias)))
    search.indices.put_settings(index=index, body={"index": {"auto_expand_replicas": "false"}})
    search.indices.put_settings(index=index, body={"index": {"number_of_replicas": 0}})
