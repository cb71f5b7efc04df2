"""Replay the dead-letter queue: re-index the stream batches Lambda gave up on, then delete their messages.

Lambda's on-failure destination for a DynamoDB stream receives a description of the failed batch, not its
records::

    {"requestContext": {"requestId", "functionArn", "condition": "RetryAttemptsExhausted", ...},
     "responseContext": {"statusCode", "executedVersion", "functionError"},
     "version": "1.0", "timestamp": "...",
     "DDBStreamBatchInfo": {"shardId", "startSequenceNumber", "endSequenceNumber", "streamArn",
                            "batchSize", "approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord"}}

Each message's range is read again from the stream (``stream_range``) while the stream still holds it (24
hours), then either

- ``source="stream"`` (default): the records go through ``indexer.batch.process_batch``, exactly as the
  Lambda would have processed them, with their own stream versions (a replay never overwrites newer data);
- ``source="table"``: the records only name the keys; the current items are read from the table
  (consistent BatchGetItem, after reading the documents) and written as ``ops.repair`` writes: never over a
  newer write, never deleting a re-created item; items gone from the table become tombstones. Use it
  when the records themselves cannot be indexed (a poison image since fixed in the table, a changed hook).

The run ends when the queue has nothing left to give, judged by the queue, not by one receive: SQS samples a
subset of its servers on a short poll and "might not receive any messages in a particular ReceiveMessage
response. If this happens, repeat the request"
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html), and a message
this run left in the queue comes back once its visibility timeout runs out. So a receive without a new
message ends the run only when ``GetQueueAttributes`` also reports no visible or delayed message; those counts
are approximate and "may not achieve consistency until at least 1 minute after the producers stop sending
messages" (GetQueueAttributes), so the run keeps receiving for up to ``settle_seconds`` while they disagree,
then stops and reports the count it could not reach (``unreached``; not ok).

A message is deleted only after every one of its items succeeded. When the stream no longer has the range,
nothing tells which items the batch touched: the message is left in the queue (or deleted with
``drop_gone`` once the operator has run ``audit --repair``, which is the only complete fix then). If every
writer keeps a modification-time attribute (the API writes ``updatedAt``), ``window_attribute`` re-indexes
the items modified within the gone batches' arrival times: inserts and updates, never deletes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from indexer.batch import Runtime, process_batch
from indexer.changes import decode_record
from indexer.collection_reads import TableCollections
from indexer.errors import RecordError
from indexer.ops.entity_targets import replay_from_table
from indexer.ops.ratelimit import CapacityLimiter
from indexer.ops.reads import get_items
from indexer.ops.repair import read_documents, repair
from indexer.ops.scan import scan_segment
from indexer.ops.stream_range import RecordsGone, read_range
from indexer.ops.target import Target
from indexer.ops.writer import item_changes, write_changes

IDLE_PAUSE_SECONDS = 0.2  # between short polls that brought nothing new while the queue reports messages
Source = Literal["stream", "table"]
Status = Literal["replayed", "failed", "gone", "unreadable", "other-table"]


class MessageError(ValueError):
    """The message is not a DynamoDB stream on-failure record."""


@dataclass(frozen=True)
class BatchInfo:
    stream_arn: str
    shard_id: str
    start_sequence_number: str
    end_sequence_number: str
    batch_size: int | None
    first_arrival: str | None
    last_arrival: str | None
    condition: str | None

    @classmethod
    def from_message(cls, body: str) -> BatchInfo:
        try:
            message = json.loads(body)
            info = message["DDBStreamBatchInfo"]
            return cls(
                stream_arn=info["streamArn"],
                shard_id=info["shardId"],
                start_sequence_number=str(info["startSequenceNumber"]),
                end_sequence_number=str(info["endSequenceNumber"]),
                batch_size=info.get("batchSize"),
                first_arrival=info.get("approximateArrivalOfFirstRecord"),
                last_arrival=info.get("approximateArrivalOfLastRecord"),
                condition=(message.get("requestContext") or {}).get("condition"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MessageError(f"not a DynamoDB stream on-failure message ({exc!r})") from exc

    @property
    def table(self) -> str:
        """The table name inside ``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>``."""
        return self.stream_arn.split(":table/", 1)[-1].split("/stream/", 1)[0]


@dataclass(frozen=True)
class ReplayOptions:
    queue_url: str
    source: Source = "stream"
    max_messages: int | None = None
    wait_seconds: int = 1
    visibility_timeout: int = 300
    drop_gone: bool = False
    # For ranges the stream no longer holds: re-index the items whose ``window_attribute`` (epoch seconds or
    # milliseconds, e.g. the API's ``updatedAt``) falls within the batch's arrival times +- ``window_margin``.
    window_attribute: str | None = None
    window_margin: float = 60.0
    segments: int = 4
    # How long receives that bring nothing new may go on while the queue still reports messages to receive
    # (its counts are approximate and may lag about a minute).
    settle_seconds: float = 90.0


@dataclass
class MessageOutcome:
    message_id: str
    status: Status
    deleted: bool = False
    batch: BatchInfo | None = None
    records: int = 0
    indexed: int = 0
    failed: int = 0
    reason: str | None = None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": self.message_id,
            "status": self.status,
            "deleted": self.deleted,
            "records": self.records,
            "indexed": self.indexed,
            "failed": self.failed,
        }
        if self.batch is not None:
            out.update(
                shard_id=self.batch.shard_id,
                start_sequence_number=self.batch.start_sequence_number,
                end_sequence_number=self.batch.end_sequence_number,
                first_arrival=self.batch.first_arrival,
                last_arrival=self.batch.last_arrival,
            )
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class WindowRecovery:
    attribute: str
    windows: list[tuple[float, float]]
    scanned: int = 0
    matched: int = 0
    indexed: int = 0
    failed: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "windows": [[_iso(a), _iso(b)] for a, b in self.windows],
            "scanned": self.scanned,
            "matched": self.matched,
            "indexed": self.indexed,
            "failed": self.failed,
        }


@dataclass
class ReplayResult:
    messages: list[MessageOutcome] = field(default_factory=list)
    window_recovery: WindowRecovery | None = None
    unreached: int = 0  # messages the queue still reported when the run gave up receiving them

    @property
    def ok(self) -> bool:
        return not self.unreached and all(m.status == "replayed" for m in self.messages)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for message in self.messages:
            counts[message.status] = counts.get(message.status, 0) + 1
        return {
            "command": "replay-dlq",
            "messages": len(self.messages),
            **counts,
            "deleted": sum(m.deleted for m in self.messages),
            **({"unreached": self.unreached} if self.unreached else {}),
            "details": [m.summary() for m in self.messages],
            **({"window_recovery": self.window_recovery.summary()} if self.window_recovery else {}),
        }


def replay_dlq(
    target: Target,
    sqs: Any,
    options: ReplayOptions,
    *,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    """Receive messages until the queue has none left (or ``max_messages``), replay each, delete the
    replayed; see the module docstring for when the queue counts as empty."""
    result = ReplayResult()
    streams = target.streams()
    kept: dict[str, str] = {}  # message id -> latest receipt handle, for messages left in the queue
    deleted: set[str] = set()
    idle_since: float | None = None
    while stop is None or not stop.is_set():
        wanted = 10 if options.max_messages is None else min(10, options.max_messages - len(result.messages))
        if wanted <= 0:
            break
        answer = sqs.receive_message(
            QueueUrl=options.queue_url,
            MaxNumberOfMessages=wanted,
            WaitTimeSeconds=options.wait_seconds,
            VisibilityTimeout=options.visibility_timeout,
        )
        messages = []
        for message in answer.get("Messages", []):
            message_id, handle = message["MessageId"], message["ReceiptHandle"]
            if message_id in kept:  # redelivered: hidden again by this receive, under a new handle
                kept[message_id] = handle
            elif message_id in deleted:  # a duplicate delivery of a deleted message (at-least-once)
                sqs.delete_message(QueueUrl=options.queue_url, ReceiptHandle=handle)
            else:
                messages.append(message)
        if not messages:
            waiting = _waiting(sqs, options.queue_url)
            if waiting == 0:
                break
            idle_since = clock() if idle_since is None else idle_since
            if clock() - idle_since >= options.settle_seconds:
                result.unreached = waiting
                break
            if options.wait_seconds == 0:
                sleep(IDLE_PAUSE_SECONDS)  # short polls return at once: do not spin on an approximate count
            continue
        idle_since = None
        for message in messages:
            outcome = _replay_one(target, streams, message, options)
            if outcome.status == "replayed" or (outcome.status == "gone" and options.drop_gone):
                sqs.delete_message(QueueUrl=options.queue_url, ReceiptHandle=message["ReceiptHandle"])
                outcome.deleted = True
                deleted.add(message["MessageId"])
            else:
                kept[message["MessageId"]] = message["ReceiptHandle"]
            result.messages.append(outcome)
    # Visible again at once, so a rerun after a fix does not wait for the timeout.
    for handle in kept.values():
        sqs.change_message_visibility(QueueUrl=options.queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    gone = [m.batch for m in result.messages if m.status == "gone" and m.batch is not None]
    if options.window_attribute and gone:
        result.window_recovery = recover_windows(target, gone, options, stop)
    return result


def _waiting(sqs: Any, queue_url: str) -> int:
    """Messages the queue reports as visible or delayed (approximate counts, GetQueueAttributes)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def recover_windows(
    target: Target, batches: list[BatchInfo], options: ReplayOptions, stop: threading.Event | None
) -> WindowRecovery:
    """One table scan: re-index the items whose ``window_attribute`` lies in a gone batch's arrival window.

    This recovers inserts and updates of those batches (if every writer maintains the attribute); it cannot
    recover deletes, whose items no longer exist: ``audit --repair`` finds those orphans.
    """
    attribute = options.window_attribute or ""
    windows = sorted(
        (start - options.window_margin, end + options.window_margin)
        for start, end in (_window(batch) for batch in batches)
        if start is not None and end is not None
    )
    recovery = WindowRecovery(attribute, windows)
    limiter = CapacityLimiter(None)
    for segment in range(options.segments):
        for page in scan_segment(
            target.dynamodb,
            target.table,
            segment=segment,
            total_segments=options.segments,
            limiter=limiter,
            stop=stop,
        ):
            recovery.scanned += len(page.items)
            matching = [item for item in page.items if _in_windows(item.get(attribute), windows)]
            if not matching:
                continue
            recovery.matched += len(matching)
            report = write_changes(target, item_changes(matching, target))
            recovery.indexed += report.counts.indexed
            recovery.failed += report.counts.failed
    return recovery


def _window(batch: BatchInfo) -> tuple[float | None, float | None]:
    return _epoch(batch.first_arrival), _epoch(batch.last_arrival)


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _in_windows(value: Mapping[str, Any] | None, windows: list[tuple[float, float]]) -> bool:
    """Whether a DynamoDB number (epoch seconds, or milliseconds when it is that large) is in a window."""
    if not value or "N" not in value:
        return False
    seconds = float(value["N"])
    if seconds > 1e11:  # milliseconds (1e11 seconds is the year 5138)
        seconds /= 1000.0
    return any(start <= seconds <= end for start, end in windows)


def _replay_one(
    target: Target, streams: Any, message: Mapping[str, Any], options: ReplayOptions
) -> MessageOutcome:
    message_id = message["MessageId"]
    try:
        info = BatchInfo.from_message(message["Body"])
    except MessageError as exc:
        return MessageOutcome(message_id, "unreadable", reason=str(exc))
    if info.table != target.table:
        return MessageOutcome(message_id, "other-table", batch=info, reason=f"stream of table {info.table!r}")
    try:
        records = read_range(
            streams,
            stream_arn=info.stream_arn,
            shard_id=info.shard_id,
            start_sequence_number=info.start_sequence_number,
            end_sequence_number=info.end_sequence_number,
        )
    except RecordsGone as exc:
        return MessageOutcome(
            message_id,
            "gone",
            batch=info,
            reason=f"the stream no longer holds these records ({exc}); the keys they touched are unknowable "
            "(--window-attribute recovers inserts/updates if items carry a modification time): "
            "run `audit --repair`, then replay with --drop-gone",
        )
    if options.source == "table":
        return _from_table(target, records, message_id, info)
    return _from_stream(target, records, message_id, info)


def _from_stream(
    target: Target, records: list[dict[str, Any]], message_id: str, info: BatchInfo
) -> MessageOutcome:
    reader = TableCollections(target.table, target.keys.partition_key, client=target.dynamodb)
    runtime = Runtime(target.settings, target.search, target.hook, target.alias, reader=reader)
    answer = process_batch({"Records": records}, None, runtime)
    failures = answer["batchItemFailures"]
    if failures:
        first = failures[0]["itemIdentifier"]
        failed = sum(int(r["dynamodb"]["SequenceNumber"]) >= int(first) for r in records)
        return MessageOutcome(
            message_id,
            "failed",
            batch=info,
            records=len(records),
            indexed=len(records) - failed,
            failed=failed,
            reason=f"records from sequence number {first} failed again (see the indexer's log lines); "
            "if the table has since been fixed, retry with --source table",
        )
    return MessageOutcome(message_id, "replayed", batch=info, records=len(records), indexed=len(records))


def _from_table(
    target: Target, records: list[dict[str, Any]], message_id: str, info: BatchInfo
) -> MessageOutcome:
    if target.settings.entity_config is not None:
        counts, reasons = replay_from_table(target, records)
    else:
        keys: dict[str, dict[str, Any]] = {}
        for record in records:
            try:
                change = decode_record(record, target.keys, target.settings.version_attribute)
            except RecordError as exc:
                return MessageOutcome(message_id, "failed", batch=info, records=len(records), reason=str(exc))
            keys[change.doc_id] = record["dynamodb"]["Keys"]
        documents = read_documents(target, target.alias, list(keys))  # first the index, then the table
        items = get_items(target, keys)
        counts, reasons = repair(target, target.alias, {i: documents.get(i) for i in keys}, items)
    status: Status = "replayed" if not counts.failed else "failed"
    return MessageOutcome(
        message_id,
        status,
        batch=info,
        records=len(records),
        indexed=counts.indexed,
        failed=counts.failed,
        reason="; ".join(reasons[:5]) or None,
    )
