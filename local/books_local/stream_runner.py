"""The event source mapping, emulated: reads a table's stream shards and invokes the indexer in-process.

Per shard, as Lambda's DynamoDB event source mapping does ("Polling and batching streams" in "Using AWS Lambda
with Amazon DynamoDB", https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html):
- GetRecords at most 4 times a second per shard ("Lambda polls shards in your DynamoDB stream for records at a
  base rate of 4 times per second"), never faster, so the local stack is not fresher than AWS can be;
- batches of at most ``batch_size`` records and of an event within the 6 MB payload limit, invoked once the
  batch is full, reaches that limit, or the oldest buffered record has waited
  ``maximum_batching_window_in_seconds``; with a window of 0 (Lambda's default for streams) on the poll that
  read the records;
- a Lambda-like context whose remaining time counts down from the function's timeout;
- with ``ReportBatchItemFailures``: everything before the earliest reported sequence number is settled and the
  batch is retried from there; an identifier that is empty or not in the batch fails the whole batch;
- a function error (exception, time-out) fails the whole batch; with ``bisect_batch_on_function_error`` the
  batch is split in two and each half retried on its own (splitting does not use up retry attempts, so a
  poison record is isolated without giving up on its neighbours);
- once a batch has failed more than ``maximum_retry_attempts`` times (-1: never give up), or its records are
  older than ``maximum_record_age_in_seconds``, they are described in an on-failure message to the SQS
  destination and the shard moves on;
- a checkpoint per shard (``checkpoints.py``) is written only after a batch is settled;
- records reach the function as AWS delivers them: moto's sequence numbers (which grow by 1) are presented
  with AWS's spacing (``sequence_numbers.py``), ``ApproximateCreationDateTime`` in whole epoch seconds. The
  function, ``batchItemFailures``, the checkpoints and the logs see the AWS-shaped numbers; the calls to
  moto's stream API and the on-failure message's range (which tools read back through that API) use moto's.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from books_local.checkpoints import CheckpointStore
from books_local.failure_destination import failure_message
from books_local.lambda_events import (
    PAYLOAD_LIMIT_BYTES,
    SEPARATOR_BYTES,
    LambdaContext,
    event_bytes,
    lambda_record,
    record_bytes,
)
from books_local.mapping import MappingSettings
from books_local.sequence_numbers import ShardNumbering, numbering_of

log = logging.getLogger("books_local.stream_runner")

# Lambda polls each stream shard four times per second (with-ddb.html, "Polling and batching streams").
POLL_INTERVAL_SECONDS = 0.25
IDLE_WAIT_SECONDS = 0.01  # the loop's least wait when nothing happened, so a blocked shard cannot spin it
SHARD_REFRESH_SECONDS = 10.0
RETRY_BACKOFF_SECONDS = (0.1, 0.5, 1.0, 2.0)

Handler = Callable[[Mapping[str, Any], Any], Any]
Clock = Callable[[], float]
Record = dict[str, Any]


@dataclass(frozen=True)
class Function:
    """The function the mapping invokes: its handler (called in-process) and its configuration."""

    name: str
    arn: str
    timeout_seconds: float
    memory_mb: int
    handler: Handler


@dataclass(frozen=True)
class Outcome:
    """What one invocation did: settled everything, settled a prefix, or failed (``error`` says how)."""

    failed_from: int | None = None  # index of the earliest failed record; None when all succeeded
    error: str | None = None  # functionError as Lambda reports it (Unhandled, TimedOut) or None

    @property
    def ok(self) -> bool:
        return self.failed_from is None


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    numbering: ShardNumbering
    iterator: str | None = None
    opened: bool = False
    ended: bool = False  # the shard is closed and fully read
    buffer: list[Record] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # each buffered record's bytes in the event's JSON
    buffered_since: float | None = None
    next_poll_at: float = 0.0  # the clock's time before which GetRecords is not called again

    @property
    def finished(self) -> bool:
        return self.ended and not self.buffer


class Stopped(Exception):
    """The runner was asked to stop while a batch was unsettled; its checkpoint stays where it was."""


class StreamRunner:
    def __init__(
        self,
        *,
        streams: Any,
        stream_arn: str,
        region: str,
        settings: MappingSettings,
        function: Function,
        checkpoints: CheckpointStore,
        send_failure: Callable[[Mapping[str, Any]], None] | None,
        stop: threading.Event,
        clock: Clock = time.monotonic,
    ) -> None:
        """``clock`` (seconds, monotonic) paces the polls and the batching window; a test can move it."""
        self._streams = streams
        self._stream_arn = stream_arn
        self._region = region
        self._settings = settings
        self._function = function
        self._checkpoints = checkpoints
        self._send_failure = send_failure
        self._stop = stop
        self._clock = clock
        self._shards: dict[str, _Shard] = {}
        self._shards_seen_at = 0.0
        self.invocations = 0

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self) -> None:
        """Poll until ``stop`` is set; an unsettled batch at that moment is read again on the next start."""
        try:
            while not self._stop.is_set():
                busy = self.poll_once()
                self._stop.wait(max(self._seconds_to_next_due(), 0.0 if busy else IDLE_WAIT_SECONDS))
        except Stopped:
            log.info("stopped with a batch in flight; it resumes from the checkpoint")

    def poll_once(self) -> bool:
        """One pass over the shards; True when it read or delivered something."""
        if self._clock() - self._shards_seen_at > SHARD_REFRESH_SECONDS or not self._shards:
            self._refresh_shards()
        busy = False
        for shard in self._readable_shards():
            busy = self._step(shard) or busy
        return busy

    def _readable_shards(self) -> list[_Shard]:
        readable = []
        for shard in list(self._shards.values()):
            parent = self._shards.get(shard.parent_id or "")
            if shard.finished or (parent is not None and not parent.finished):
                continue  # a child shard waits for its parent, so records of one item stay in order
            readable.append(shard)
        return readable

    def _seconds_to_next_due(self) -> float:
        """How long the loop may wait before a shard may be polled again or its batching window ends."""
        now = self._clock()
        due = [now + POLL_INTERVAL_SECONDS]
        for shard in self._readable_shards():
            if shard.buffer and self._batch_ready(shard, now):
                return 0.0
            if shard.iterator is not None and not self._full(shard):
                due.append(shard.next_poll_at)
            if shard.buffered_since is not None:
                due.append(shard.buffered_since + self._settings.maximum_batching_window_in_seconds)
        return min(max(0.0, min(due) - now), POLL_INTERVAL_SECONDS)

    def _refresh_shards(self) -> None:
        description = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            if shard["ShardId"] not in self._shards:
                known = {known_id: each.numbering for known_id, each in self._shards.items()}
                numbering = numbering_of(shard, known)
                shard_id = shard["ShardId"]
                self._shards[shard_id] = _Shard(shard_id, shard.get("ParentShardId"), numbering)
        self._shards_seen_at = self._clock()

    def _step(self, shard: _Shard) -> bool:
        if not shard.opened:
            self._open(shard)
        now = self._clock()
        read = 0
        if shard.iterator is not None and not self._full(shard) and now >= shard.next_poll_at:
            shard.next_poll_at = now + POLL_INTERVAL_SECONDS
            response = self._streams.get_records(ShardIterator=shard.iterator, Limit=1000)
            records = [self._present(shard, record) for record in response.get("Records", [])]
            read = len(records)
            if records and not shard.buffer:
                shard.buffered_since = now
            shard.buffer.extend(records)
            shard.sizes.extend(record_bytes(record) for record in records)
            shard.iterator = response.get("NextShardIterator")
            shard.ended = shard.iterator is None
        if not shard.buffer or not self._batch_ready(shard, now):
            return read > 0
        taken = self._batch_length(shard)
        batch = shard.buffer[:taken]
        del shard.buffer[:taken]
        del shard.sizes[:taken]
        shard.buffered_since = now if shard.buffer else None
        self._deliver(shard.shard_id, batch, attempts=0)
        return True

    def _full(self, shard: _Shard) -> bool:
        """The buffer holds a full batch, by count or by the invocation payload limit."""
        full = len(shard.buffer) >= self._settings.batch_size
        return full or event_bytes(shard.sizes) >= PAYLOAD_LIMIT_BYTES

    def _batch_ready(self, shard: _Shard, now: float) -> bool:
        if self._full(shard) or shard.ended:
            return True
        waited = now - (shard.buffered_since if shard.buffered_since is not None else now)
        return waited >= self._settings.maximum_batching_window_in_seconds

    def _batch_length(self, shard: _Shard) -> int:
        """The leading records (at least one, at most ``batch_size``) whose event fits the payload limit."""
        limit = min(self._settings.batch_size, len(shard.buffer))
        length, size = 1, event_bytes(shard.sizes[:1])
        while length < limit and size + SEPARATOR_BYTES + shard.sizes[length] <= PAYLOAD_LIMIT_BYTES:
            size += SEPARATOR_BYTES + shard.sizes[length]
            length += 1
        return length

    def _open(self, shard: _Shard) -> None:
        checkpoint = self._checkpoints.load(shard.shard_id)
        if checkpoint is None:
            # Creating the mapping fixes its starting point durably, so a restart cannot skip past records
            # written while the runner was down (LATEST means "the end of the shard when the mapping began").
            latest = self._settings.starting_position == "LATEST"
            last = self._last_sequence_number(shard) if latest else None
            start = shard.numbering.to_aws(last) if last is not None else None
            self._checkpoints.save(shard.shard_id, start)
            sequence_number = start
        else:
            sequence_number = checkpoint.sequence_number
        arguments: dict[str, Any] = {"StreamArn": self._stream_arn, "ShardId": shard.shard_id}
        if sequence_number is None:
            arguments["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            emulator_number = shard.numbering.to_emulator(sequence_number)
            arguments.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=emulator_number)
        shard.iterator = self._streams.get_shard_iterator(**arguments)["ShardIterator"]
        shard.opened = True
        log.info("reading shard %s from %s", shard.shard_id, sequence_number or "its trim horizon")

    def _present(self, shard: _Shard, record: Record) -> Record:
        """A moto record as Lambda delivers it, numbered as AWS numbers a shard's records."""
        number = shard.numbering.to_aws(record["dynamodb"]["SequenceNumber"])
        return lambda_record(record, self._stream_arn, self._region, sequence_number=number)

    def _last_sequence_number(self, shard: _Shard) -> str | None:
        """moto's number of the shard's last record, or None when it has none."""
        iterator = self._streams.get_shard_iterator(
            StreamArn=self._stream_arn, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        last = None
        while iterator:
            response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            if not response.get("Records"):
                break
            last = response["Records"][-1]["dynamodb"]["SequenceNumber"]
            iterator = response.get("NextShardIterator")
        return last

    # -- delivery -------------------------------------------------------------------------------------
    def _deliver(self, shard_id: str, batch: list[Record], attempts: int) -> None:
        """Invoke until ``batch`` is settled: indexed, or given up on and sent to the destination."""
        while True:
            expired = self._expired_prefix(batch)
            if expired:
                self._give_up(shard_id, batch[:expired], attempts, None, condition="RecordAgeExceeded")
                batch = batch[expired:]
                if not batch:
                    return
            outcome = self.invoke(batch)
            if outcome.ok:
                self._checkpoints.save(shard_id, batch[-1]["dynamodb"]["SequenceNumber"])
                return
            if outcome.error is None:  # a reported item failure: the records before it are done
                if outcome.failed_from:
                    settled = batch[outcome.failed_from - 1]["dynamodb"]["SequenceNumber"]
                    self._checkpoints.save(shard_id, settled)
                    batch = batch[outcome.failed_from :]
            elif self._settings.bisect_batch_on_function_error and len(batch) > 1:
                half = len(batch) // 2
                log.info("bisecting a failed batch of %d records", len(batch))
                self._deliver(shard_id, batch[:half], attempts)
                self._deliver(shard_id, batch[half:], attempts)
                return
            attempts += 1
            if self._settings.retries_exhausted(attempts):
                self._give_up(shard_id, batch, attempts, outcome.error)
                return
            self._pause(attempts)

    def invoke(self, batch: Sequence[Record]) -> Outcome:
        event = {"Records": copy.deepcopy(list(batch))}  # a handler may change its event; the batch stays
        function = self._function
        context = LambdaContext(function.name, function.arn, function.memory_mb, function.timeout_seconds)
        started = time.monotonic()
        self.invocations += 1
        try:
            response = function.handler(event, context)
        except Exception:
            log.exception("function error on a batch of %d records", len(batch))
            return Outcome(failed_from=0, error="Unhandled")
        elapsed = time.monotonic() - started
        if elapsed > function.timeout_seconds:
            log.error("the invocation took %.1f s, over its %s s timeout", elapsed, function.timeout_seconds)
            return Outcome(failed_from=0, error="TimedOut")
        outcome = self._read_response(response, batch)
        log.info(
            "invoked %d records (%s .. %s) in %.0f ms: %s",
            len(batch),
            batch[0]["dynamodb"]["SequenceNumber"],
            batch[-1]["dynamodb"]["SequenceNumber"],
            elapsed * 1000,
            "ok" if outcome.ok else f"retry from record {outcome.failed_from}",
        )
        return outcome

    def _read_response(self, response: Any, batch: Sequence[Record]) -> Outcome:
        if not self._settings.reports_batch_item_failures:
            return Outcome()  # without ReportBatchItemFailures Lambda ignores the response
        failures = response.get("batchItemFailures") if isinstance(response, Mapping) else None
        if not failures:
            return Outcome()
        positions = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(batch)}
        identifiers = [item.get("itemIdentifier") if isinstance(item, Mapping) else None for item in failures]
        if any(identifier not in positions for identifier in identifiers):
            log.error("batchItemFailures names %s, not all in the batch: the whole batch failed", identifiers)
            return Outcome(failed_from=0)
        return Outcome(failed_from=min(positions[identifier] for identifier in identifiers))

    def _expired_prefix(self, batch: Sequence[Record]) -> int:
        """How many leading records are older than the maximum record age (records are in stream order)."""
        limit = self._settings.maximum_record_age_in_seconds
        if limit < 0:
            return 0
        oldest_allowed = time.time() - limit
        for index, record in enumerate(batch):
            if _created_at(record) >= oldest_allowed:
                return index
        return len(batch)

    def _give_up(
        self,
        shard_id: str,
        batch: list[Record],
        attempts: int,
        error: str | None,
        condition: str = "RetryAttemptsExhausted",
    ) -> None:
        # The message names the batch for tools that read it back through the stream API (replay-dlq), and
        # moto's stream API knows only its own numbers: the range is given in those.
        numbering = self._shards[shard_id].numbering
        message = failure_message(
            records=[_numbered(record, numbering.to_emulator(_sequence(record))) for record in batch],
            shard_id=shard_id,
            stream_arn=self._stream_arn,
            function_arn=self._function.arn,
            condition=condition,
            invoke_count=attempts,
            function_error=error,
        )
        if self._send_failure is not None:
            self._send_failure(message)
        where = "sent to the on-failure destination" if self._send_failure else "no destination: dropped"
        log.warning("gave up on %d records (%s, %d attempts); %s", len(batch), condition, attempts, where)
        self._checkpoints.save(shard_id, batch[-1]["dynamodb"]["SequenceNumber"])

    def _pause(self, attempts: int) -> None:
        delay = RETRY_BACKOFF_SECONDS[min(attempts, len(RETRY_BACKOFF_SECONDS)) - 1]
        if self._stop.wait(delay):
            raise Stopped


def _sequence(record: Record) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _numbered(record: Record, sequence_number: str) -> Record:
    return {**record, "dynamodb": {**record["dynamodb"], "SequenceNumber": sequence_number}}


def _created_at(record: Record) -> float:
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    return created.timestamp() if hasattr(created, "timestamp") else float(created)
