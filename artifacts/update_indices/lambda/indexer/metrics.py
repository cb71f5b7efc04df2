"""Metrics: one CloudWatch Embedded Metric Format (EMF) line per invocation, written with the logs.

CloudWatch Logs turns an EMF log line into metric data points itself ("Specification: Embedded metric format",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html:
"On Lambda, you do not need to set this header yourself. Writing JSON to standard out in the embedded metric
format is sufficient"). So the indexer makes no PutMetricData call, builds no client, imports no AWS SDK, and
costs nothing while idle: no invocation, no line, no data point.

The line is written by hand rather than with Powertools' ``Metrics``: one JSON object (orjson, which the bulk
writer already uses) written to stdout and flushed, whatever ``LOG_LEVEL`` says, and
``tests/indexer/test_metrics.py`` checks every rule of the specification on the lines the indexer writes.
Powertools would add a package to the image and to every cold start, and splits lines per 100 values of a
metric, where this module writes exactly one line per batch. Its cost is measured in ``bench.cpu``'s CPU per
record (the line is a few microseconds of a batch).

What one line carries (names in ``COUNTS`` and ``LAGS``), for the batch it describes:
- ``RecordsIn``: records in the event;
- ``DocumentsWritten`` / ``TombstonesWritten``: upserts and deletes OpenSearch accepted;
- ``IgnoredAsOlder``: records not written because the index already holds a newer version (409 on an
  external version, or superseded per the sequence guard's read);
- ``RecordsSkipped``: older records of a document that the same batch also carries, and upserts without a
  NewImage;
- ``RecordsFailed`` and by cause: ``FailedUndecodable`` (the record cannot be decoded), ``FailedHook``
  (DOCUMENT_HOOK raised), ``FailedRejected`` (OpenSearch refused the item for good, e.g. a mapping conflict),
  ``FailedRetryable`` (429/5xx/timeouts still failing when time ran out, or not sent before the deadline);
- ``BulkRequests`` and ``BulkRetries`` (item re-sends);
- ``IndexLagMax`` and ``IndexLagP90`` (milliseconds): for each record this invocation acknowledges (all of
  them, or those before the reported ``itemIdentifier``), the time from its ``ApproximateCreationDateTime`` to
  the acknowledgement, which is the line's ``_aws.Timestamp``: the maximum and the 90th percentile (nearest
  rank) over the batch. AWS rounds ``ApproximateCreationDateTime`` down to the second (StreamRecord,
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html), so each lag
  is at most 999 ms longer than the true one, never shorter; the subtraction is in whole milliseconds, so a
  whole-second creation time gives an exact figure. A negative difference (clock skew) counts as 0. Without an
  acknowledged record the line carries no lag.

Dimensions: one dimension set, ``[FunctionName]``. Every dimension combination is a separate custom metric
("Every DimensionSet used creates a new metric in CloudWatch", the specification above), so the indexer's
metrics are a fixed number per function: no shard, index, key or error message ever becomes a dimension, and
the causes of failure are metric names from a closed list, not dimension values.

Only invocations with a Lambda context (``function_name``) and at least one record write a line: the
operations tool's replays and backfills (no context) are not stream traffic and would distort the lag.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson

from indexer.wire import BatchResponse

NAMESPACE = "BooksIndexer"
DIMENSION = "FunctionName"
LAG_PERCENTILE = 90

COUNTS = (
    "RecordsIn",
    "DocumentsWritten",
    "TombstonesWritten",
    "IgnoredAsOlder",
    "RecordsSkipped",
    "RecordsFailed",
    "FailedUndecodable",
    "FailedHook",
    "FailedRejected",
    "FailedRetryable",
    "BulkRequests",
    "BulkRetries",
)
LAGS = ("IndexLagMax", f"IndexLagP{LAG_PERCENTILE}")
METRIC_NAMES = COUNTS + LAGS
"""Every metric name a line may carry (the dashboard and the lag alarm name them)."""

_COUNT_DEFINITIONS = [{"Name": name, "Unit": "Count"} for name in COUNTS]
_DIRECTIVES = {  # with and without the lag (a batch that acknowledged no record has none)
    has_lag: [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [[DIMENSION]],
            "Metrics": _COUNT_DEFINITIONS
            + ([{"Name": n, "Unit": "Milliseconds"} for n in LAGS] if has_lag else []),
        }
    ]
    for has_lag in (True, False)
}
_NUMBERS = frozenset({int, float})  # ApproximateCreationDateTime's types in an event; bool is not one


class Failure(Protocol):
    reason: str
    status: int | None
    retryable: bool


class Tally(Protocol):
    """What the batch counted (``indexer.batch._Tally``)."""

    records: int
    indexed: int
    deleted: int
    skipped: int
    conflicts: int
    failures: Sequence[Failure]


class Requests(Protocol):
    """What the bulk writer counted (``indexer.bulk.WriteStats``)."""

    requests: int
    retried: int


def failure_cause(failure: Failure) -> str:
    """The metric a failed record counts under: a closed list, so a cause never becomes a new metric."""
    if failure.retryable:
        return "FailedRetryable"
    if failure.reason.startswith("undecodable record"):
        return "FailedUndecodable"
    if failure.reason.startswith("DOCUMENT_HOOK"):
        return "FailedHook"
    return "FailedRejected"


def metrics_line(
    function_name: str,
    records: Sequence[Mapping[str, Any]],
    tally: Tally,
    requests: Requests,
    first_failed_sequence_number: str | None,
    acknowledged_at: float,
) -> dict[str, Any]:
    """The EMF document for one batch, acknowledged at ``acknowledged_at`` (epoch seconds)."""
    timestamp_ms = math.floor(acknowledged_at * 1000)
    values: dict[str, int] = dict.fromkeys(COUNTS, 0)
    values.update(
        RecordsIn=tally.records,
        DocumentsWritten=tally.indexed,
        TombstonesWritten=tally.deleted,
        IgnoredAsOlder=tally.conflicts,
        RecordsSkipped=tally.skipped,
        RecordsFailed=len(tally.failures),
        BulkRequests=requests.requests,
        BulkRetries=requests.retried,
    )
    for failure in tally.failures:
        values[failure_cause(failure)] += 1
    lags = sorted(_lags_ms(records, first_failed_sequence_number, timestamp_ms))
    if lags:
        rank = math.ceil(LAG_PERCENTILE / 100 * len(lags))  # nearest rank: the smallest value >= 90 %
        values.update({LAGS[0]: lags[-1], LAGS[1]: lags[rank - 1]})
    return {
        "message": "metrics",
        "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": _DIRECTIVES[bool(lags)]},
        DIMENSION: function_name,
        **values,
    }


def emit(
    context: Any,
    records: Sequence[Mapping[str, Any]],
    tally: Tally,
    requests: Requests,
    response: BatchResponse,
    acknowledged_at: float,
) -> None:
    """Write the metrics line of a batch answered with ``response`` at ``acknowledged_at`` (epoch seconds),
    unless there is no Lambda context or no record (see the module docstring)."""
    function_name = getattr(context, "function_name", None)
    if not records or not isinstance(function_name, str) or not function_name:
        return
    failures = response["batchItemFailures"]
    first_failed = failures[0]["itemIdentifier"] if failures else None
    line = metrics_line(function_name, records, tally, requests, first_failed, acknowledged_at)
    stream = sys.stdout  # whatever it is now: the Lambda runtime and pytest replace it
    stream.write(orjson.dumps(line).decode() + "\n")
    stream.flush()


def _lags_ms(
    records: Sequence[Mapping[str, Any]], first_failed_sequence_number: str | None, timestamp_ms: int
) -> list[int]:
    """Milliseconds from each acknowledged record's creation to ``timestamp_ms``: Lambda settles the records
    before the reported sequence number and delivers that one and the rest again."""
    lags = []
    for record in records:
        body = record.get("dynamodb") or {}
        if first_failed_sequence_number is not None and body.get("SequenceNumber") == (
            first_failed_sequence_number
        ):
            break
        created = body.get("ApproximateCreationDateTime")
        if type(created) in _NUMBERS:
            lag = timestamp_ms - round(created * 1000)
            lags.append(lag if lag > 0 else 0)
    return lags
