"""How ``make status`` reads its two growing sources: the stream's backlog past empty pages, and the indexer's
log incrementally. Pure logic, so a scripted streams client plays DynamoDB Streams by its API reference; the
end-to-end figures on a real stack are ``test_status.py``'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from books_local import pipeline_status
from books_local.checkpoints import CheckpointStore

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/books/stream/2026-01-01T00:00:00.000"
START = 1_100_000_000_017_454_423_009  # moto's first sequence number, as DescribeStream lists it


@dataclass
class ScriptedStream:
    """One shard whose GetRecords pages are given: a list of record counts, one per page. "If there are no
    stream records available in the portion of the shard that the iterator points to, GetRecords returns an
    empty list. Note that it might take multiple calls to get to a portion of the shard that contains stream
    records"; a null NextShardIterator means "the shard has been closed" (GetRecords,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html). After the
    script an open shard answers empty pages forever; a closed one ends."""

    pages: list[int]
    closed: bool = False
    calls: int = 0
    _next: int = field(default=START)

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:  # boto3's argument names
        numbers = {"StartingSequenceNumber": str(START)}
        if self.closed:
            numbers["EndingSequenceNumber"] = str(START + sum(self.pages))
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1", "SequenceNumberRange": numbers}]}}

    def get_shard_iterator(self, **arguments: Any) -> dict[str, Any]:
        return {"ShardIterator": "page-0"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        self.calls += 1
        page = int(ShardIterator.split("-")[1])
        count = self.pages[page] if page < len(self.pages) else 0
        records = []
        for _ in range(count):
            body = {"SequenceNumber": str(self._next), "ApproximateCreationDateTime": 1_795_000_000}
            records.append({"dynamodb": body})
            self._next += 1
        last = page + 1 >= len(self.pages)
        return {"Records": records, "NextShardIterator": None if self.closed and last else f"page-{page + 1}"}


def test_the_backlog_is_read_past_empty_pages_in_the_middle_of_a_shard(tmp_path: Path) -> None:
    stream = ScriptedStream(pages=[2, 0, 0, 3, 0, 1])
    backlog = pipeline_status.stream_backlog(stream, STREAM, CheckpointStore(tmp_path, STREAM))
    assert backlog.waiting == 6
    assert backlog.oldest_created_at == 1_795_000_000
    # an open shard never ends: EMPTY_PAGES_AT_HEAD empty pages in a row after the last record are its head
    assert stream.calls == len(stream.pages) + pipeline_status.EMPTY_PAGES_AT_HEAD


def test_a_closed_shard_is_read_to_its_end_whatever_its_empty_pages(tmp_path: Path) -> None:
    empty_run = pipeline_status.EMPTY_PAGES_AT_HEAD + 2
    stream = ScriptedStream(pages=[1, *[0] * empty_run, 4], closed=True)
    backlog = pipeline_status.stream_backlog(stream, STREAM, CheckpointStore(tmp_path, STREAM))
    assert backlog.waiting == 5
    assert stream.calls == len(stream.pages)


def _line(records: int, lag_ms: int, at_ms: int) -> str:
    document = {
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": "BooksIndexer",
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [{"Name": "RecordsIn"}, {"Name": "IndexLagMax"}],
                }
            ],
        },
        "FunctionName": "books-local-indexer",
        "RecordsIn": records,
        "IndexLagMax": lag_ms,
    }
    return json.dumps(document) + "\n"


def test_the_indexer_log_is_read_once_and_only_what_was_appended_since(tmp_path: Path) -> None:
    log = tmp_path / "indexer.log"
    log.write_text('{"message": "batch"}\n' + _line(3, 900, 1_000) + _line(2, 400, 2_000))
    reader = pipeline_status.IndexerLog(log)
    first = reader.figures()
    assert (first.invocations, first.totals["RecordsIn"], first.last_lag_max_ms) == (2, 5, 400)

    # What was read is never read again: overwrite it in place (same size) and append one line and a half.
    read = log.read_bytes()
    half = _line(7, 100, 4_000)
    log.write_bytes(b"x" * len(read) + _line(4, 1_200, 3_000).encode() + half[:20].encode())
    second = reader.figures()
    assert (second.invocations, second.totals["RecordsIn"], second.last_lag_max_ms) == (3, 9, 1_200)
    with log.open("a") as appended:  # the rest of the line being written
        appended.write(half[20:])
    third = reader.figures()
    assert (third.invocations, third.totals["RecordsIn"], third.last_at) == (4, 16, 4.0)


def test_a_log_replaced_by_a_shorter_one_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "indexer.log"
    log.write_text(_line(3, 900, 1_000) + _line(2, 400, 2_000))
    reader = pipeline_status.IndexerLog(log)
    assert reader.figures().invocations == 2
    log.write_text(_line(1, 50, 5_000))  # make down, make up: a new log
    again = reader.figures()
    assert (again.invocations, again.totals["RecordsIn"], again.last_lag_max_ms) == (1, 1, 50)
