"""``make status``: the local pipeline's figures, from the same sources an on-call engineer reads on AWS.

- **The indexer's own metrics** come from its log (``logs/indexer.log``): the Embedded Metric Format lines it
  writes once per invocation, read the way CloudWatch Logs extracts them (each ``_aws.CloudWatchMetrics``
  directive names the root members that are metrics), summed since the stack started; the last line gives
  the last batch's lag (``IndexLagMax``/``IndexLagP90``, table write to acknowledgement).
- **The lag now.** An invocation measures lag only for records it acknowledges; while no batch runs (the
  indexer stopped, or a backlog the runner has not reached) nothing measures it. Then the honest figure is
  the stream's iterator age: how long the oldest record the indexer has not settled has been waiting. It is
  read from the table's stream after each shard's checkpoint (the same position the indexer resumes from),
  with ``ApproximateCreationDateTime`` rounded down to the second as AWS delivers it. With no record waiting
  the lag now is 0.
- **The dead-letter queue's depth** (``ApproximateNumberOfMessages``, the figure behind the DLQ alarm) and
  **the index's size**: searchable documents through the alias (tombstones filtered) and the documents and
  bytes behind it (``_count`` and ``_stats``).
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3

from books_local.checkpoints import CheckpointStore
from books_local.config import StackConfig
from books_local.sequence_numbers import ShardNumbering, numbering_of

COUNTS = (
    ("RecordsIn", "records in"),
    ("DocumentsWritten", "written"),
    ("TombstonesWritten", "tombstones"),
    ("IgnoredAsOlder", "ignored as older"),
    ("RecordsSkipped", "skipped"),
    ("RecordsFailed", "failed"),
    ("BulkRetries", "bulk retries"),
)
CAUSES = (
    ("FailedRetryable", "retryable"),
    ("FailedRejected", "rejected"),
    ("FailedUndecodable", "undecodable"),
    ("FailedHook", "hook"),
)


def metric_lines(lines: Iterable[str]) -> list[dict[str, float]]:
    """The metrics of every EMF line among ``lines``: {metric name: value} per line, in order."""
    found = []
    for line in lines:
        if '"_aws"' not in line:
            continue
        try:
            document = json.loads(line[line.index("{") :])
            directives = document["_aws"]["CloudWatchMetrics"]
            names = [metric["Name"] for directive in directives for metric in directive["Metrics"]]
            values = {name: float(document[name]) for name in names if name in document}
            values["_timestamp_ms"] = float(document["_aws"]["Timestamp"])
        except (ValueError, KeyError, TypeError):
            continue
        found.append(values)
    return found


@dataclass(frozen=True)
class IndexerFigures:
    invocations: int
    totals: dict[str, int]
    last_lag_max_ms: float | None
    last_lag_p90_ms: float | None
    last_at: float | None  # epoch seconds of the last metrics line

    @classmethod
    def from_log(cls, log: Path) -> IndexerFigures:
        lines = metric_lines(log.read_text(errors="replace").splitlines()) if log.exists() else []
        totals = {name: 0 for name, _ in (*COUNTS, *CAUSES)}
        for line in lines:
            for name in totals:
                totals[name] += int(line.get(name, 0))
        last = lines[-1] if lines else {}
        return cls(
            invocations=len(lines),
            totals=totals,
            last_lag_max_ms=last.get("IndexLagMax"),
            last_lag_p90_ms=last.get("IndexLagP90"),
            last_at=last["_timestamp_ms"] / 1000 if last else None,
        )


@dataclass(frozen=True)
class Backlog:
    waiting: int  # records after the checkpoints, not settled yet
    oldest_created_at: float | None  # ApproximateCreationDateTime of the oldest, whole seconds

    def age_seconds(self, now: float) -> float:
        return 0.0 if self.oldest_created_at is None else max(0.0, now - self.oldest_created_at)


def stream_backlog(streams: Any, stream_arn: str, checkpoints: CheckpointStore) -> Backlog:
    """The records of every shard after its checkpoint (from its start when it has none), as the stream
    runner numbers them (``books_local.sequence_numbers``)."""
    description = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
    known: dict[str, ShardNumbering] = {}
    waiting, oldest = 0, None
    for shard in description.get("Shards", []):
        numbering = known[shard["ShardId"]] = numbering_of(shard, known)
        checkpoint = checkpoints.load(shard["ShardId"])
        arguments: dict[str, Any] = {"StreamArn": stream_arn, "ShardId": shard["ShardId"]}
        if checkpoint is None or checkpoint.sequence_number is None:
            arguments["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            emulator_number = numbering.to_emulator(checkpoint.sequence_number)
            arguments.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=emulator_number)
        iterator = streams.get_shard_iterator(**arguments)["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records = page.get("Records", [])
            if not records:
                break
            waiting += len(records)
            created = _created_at(records[0])
            oldest = created if oldest is None else min(oldest, created)
            iterator = page.get("NextShardIterator")
    return Backlog(waiting, oldest)


@dataclass(frozen=True)
class IndexSize:
    alias: str
    searchable: int  # documents a search through the alias can find (tombstones filtered)
    documents: int  # documents behind the alias, tombstones included
    size_bytes: int


def index_size(opensearch_url: str, alias: str) -> IndexSize | None:
    try:
        count = _get_json(f"{opensearch_url}/{alias}/_count")["count"]
        stats = _get_json(f"{opensearch_url}/{alias}/_stats/docs,store")["_all"]["primaries"]
    except (OSError, KeyError, ValueError):
        return None
    return IndexSize(alias, int(count), int(stats["docs"]["count"]), int(stats["store"]["size_in_bytes"]))


@dataclass(frozen=True)
class PipelineStatus:
    at: float
    indexer_running: bool
    indexer: IndexerFigures
    backlog: Backlog
    dead_letter_messages: int | None
    index: IndexSize | None
    lag_now_seconds: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lag_now_seconds", self.backlog.age_seconds(self.at))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def collect(config: StackConfig, indexer_running: bool, now: float | None = None) -> PipelineStatus:
    """The figures of a running stack (its state directory's stack.json)."""
    stack = config.state.read_stack()
    outputs = stack["outputs"]
    session = boto3.session.Session(
        region_name=stack["region"], aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    endpoint = stack["moto_endpoint"]
    stream_arn = outputs["table"]["table_stream_arn"]
    backlog = stream_backlog(
        session.client("dynamodbstreams", endpoint_url=endpoint),
        stream_arn,
        CheckpointStore(config.state.checkpoints, stream_arn),
    )
    queue_url = outputs["indexer"].get("dead_letter_queue_url")
    depth = None
    if queue_url:
        attributes = session.client("sqs", endpoint_url=endpoint).get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        depth = int(attributes["ApproximateNumberOfMessages"])
    function = session.client("lambda", endpoint_url=endpoint).get_function_configuration(
        FunctionName=outputs["indexer"]["function_name"]
    )
    alias = function.get("Environment", {}).get("Variables", {}).get("OPENSEARCH_INDEX") or "books"
    return PipelineStatus(
        at=time.time() if now is None else now,
        indexer_running=indexer_running,
        indexer=IndexerFigures.from_log(config.state.log("indexer")),
        backlog=backlog,
        dead_letter_messages=depth,
        index=index_size(stack["opensearch_url"], alias),
    )


def render(status: PipelineStatus) -> str:
    figures, totals = status.indexer, status.indexer.totals
    counts = "   ".join(f"{label} {totals[name]}" for name, label in COUNTS)
    causes = ", ".join(f"{label} {totals[name]}" for name, label in CAUSES)
    lines = [
        f"indexer ({'running' if status.indexer_running else 'STOPPED'}; "
        f"{figures.invocations} invocations, from its metric lines)",
        f"  {counts}",
        f"  failed by cause: {causes}",
    ]
    if figures.last_at is not None:
        clock = time.strftime("%H:%M:%S", time.localtime(figures.last_at))
        lag = f"lag max {_ms(figures.last_lag_max_ms)}, p90 {_ms(figures.last_lag_p90_ms)}"
        lines.append(f"  last batch at {clock}: {lag} (table write to acknowledgement)")
    waiting = status.backlog.waiting
    if waiting:
        why = "the indexer is stopped" if not status.indexer_running else "not yet acknowledged"
        lines.append(
            f"lag now     {status.lag_now_seconds:.1f} s: {waiting} record(s) waiting on the stream, the "
            f"oldest for that long ({why}; the stream's iterator age)"
        )
    else:
        lines.append("lag now     0 s: no record waiting on the stream (caught up)")
    depth = status.dead_letter_messages
    lines.append(f"dead-letter queue  {'unknown' if depth is None else depth} message(s)")
    if status.index is not None:
        index = status.index
        lines.append(
            f"index {index.alias}  {index.searchable} searchable documents "
            f"({index.documents} with tombstones), {_bytes(index.size_bytes)}"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.0f} ms"


def _bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"


def _created_at(record: Mapping[str, Any]) -> float:
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    seconds = created.timestamp() if hasattr(created, "timestamp") else float(created)
    return float(math.floor(seconds))  # whole seconds, as AWS delivers them


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())
