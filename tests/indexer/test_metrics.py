"""The indexer's metrics: one Embedded Metric Format line per invocation, checked against its batch.

Every line is parsed by ``support.emf``, which enforces AWS's EMF specification rule by rule, so these tests
also show that the hand-written lines are exactly EMF. The batches run through the real handler against the
OpenSearch stand-in (and the fault proxy for 5xx); each expected figure is derived here from what the batch
holds, and the index is read back as an independent check of what was written.
"""

from __future__ import annotations

import json
import math
import time
from types import SimpleNamespace
from typing import Any

import pytest

from indexer import metrics
from indexer.batch import Runtime, process_batch
from support import emf
from support.fault_proxy import FaultProxy
from support.stream_records import LambdaContext, lambda_event, record, sequence_number

NO_FAILURES = {"batchItemFailures": []}
FUNCTION = "books-dev-indexer"


def book(book_id: str, position: int, version: int, created_at: int, **attributes: Any) -> dict[str, Any]:
    image = {
        "id": {"S": book_id},
        "title": {"S": f"title of {book_id}"},
        "version": {"N": str(version)},
        **attributes,
    }
    return record("INSERT" if version == 1 else "MODIFY", {"id": {"S": book_id}}, position, image, created_at)


def removal(book_id: str, position: int, version: int, created_at: int) -> dict[str, Any]:
    old = {"id": {"S": book_id}, "version": {"N": str(version)}}
    return record("REMOVE", {"id": {"S": book_id}}, position, None, created_at, old_image=old)


def metric_lines(output: str) -> list[emf.Document]:
    return [emf.parse(line) for line in output.splitlines() if emf.is_emf(line)]


def nearest_rank(values: list[int], percentile: int) -> int:
    """The smallest value with at least ``percentile`` % of the values at or below it."""
    ordered = sorted(values)
    return ordered[math.ceil(percentile / 100 * len(ordered)) - 1]


def test_one_emf_line_per_invocation_counts_what_the_batch_did(
    env: dict[str, str], docs: Any, unique_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = Runtime.from_env(env)
    now = int(time.time())  # AWS-shaped creation times: whole epoch seconds
    assert process_batch(lambda_event([book("d", 0, 5, now - 30)]), LambdaContext(), runtime) == NO_FAILURES
    capsys.readouterr()

    plain = [book(f"e{i}", 1 + i, 1, now - 20 + i) for i in range(8)]
    records = [
        *plain,
        book("a", 9, 1, now - 9),
        book("b", 10, 1, now - 7),
        book("a", 11, 2, now - 5),  # a newer record of "a" in the same batch: the first one is skipped
        removal("c", 12, 1, now - 3),  # a delete becomes a tombstone document
        book("d", 13, 3, now - 2),  # older than the indexed version 5: OpenSearch answers 409
    ]
    before = time.time()
    response = process_batch(lambda_event(records), LambdaContext(function_name=FUNCTION), runtime)
    after = time.time()
    assert response == NO_FAILURES

    (line,) = metric_lines(capsys.readouterr().out)
    assert math.floor(before * 1000) <= line.timestamp_ms <= math.ceil(after * 1000)
    assert line.names() == set(metrics.METRIC_NAMES)
    assert {(m.namespace, tuple(m.dimensions.items())) for m in line.metrics} == {
        (metrics.NAMESPACE, (("FunctionName", FUNCTION),))
    }
    assert {m.name: m.unit for m in line.metrics if m.unit != "Count"} == {
        "IndexLagMax": "Milliseconds",
        "IndexLagP90": "Milliseconds",
    }
    counts = {name: line.value(name) for name in metrics.COUNTS}
    assert counts == {
        "RecordsIn": 13,
        "DocumentsWritten": 10,  # e0..e7, a (version 2), b
        "TombstonesWritten": 1,
        "IgnoredAsOlder": 1,
        "RecordsSkipped": 1,
        "RecordsFailed": 0,
        "FailedUndecodable": 0,
        "FailedHook": 0,
        "FailedRejected": 0,
        "FailedRetryable": 0,
        "BulkRequests": 1,
        "BulkRetries": 0,
    }
    indexed = docs(unique_name)
    assert sorted(indexed) == sorted([*(f"e{i}" for i in range(8)), "a", "b", "d"])
    assert indexed["d"]["version"] == 5

    # Every record was acknowledged when the handler returned: its lag is the line's time minus its creation.
    lags = [line.timestamp_ms - r["dynamodb"]["ApproximateCreationDateTime"] * 1000 for r in records]
    assert line.value("IndexLagMax") == max(lags) == line.timestamp_ms - (now - 20) * 1000
    assert line.value("IndexLagP90") == nearest_rank(lags, 90)
    assert line.value("IndexLagP90") < line.value("IndexLagMax")


@pytest.fixture
def proxied(env: dict[str, str], proxy: FaultProxy) -> dict[str, str]:
    return {
        **env,
        "OPENSEARCH_ENDPOINT": proxy.url,
        "DOCUMENT_HOOK": "book_hooks:refuse_poison",
        "RETRY_MAX_ATTEMPTS": "2",
    }


def test_failures_count_by_cause_and_the_lag_covers_only_the_acknowledged_records(
    proxied: dict[str, str], proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = Runtime.from_env(proxied)
    now = int(time.time())
    assert (
        process_batch(lambda_event([book("m", 0, 1, now - 60, year={"N": "1965"})]), LambdaContext(), runtime)
        == NO_FAILURES
    )  # maps "year" as a number
    capsys.readouterr()
    undecodable = book("u", 2, 1, now - 9)
    undecodable["dynamodb"]["Keys"] = {"isbn": {"S": "x"}}  # not the table's key
    proxy.fail_item_always("r", 503)
    records = [
        book("ok0", 1, 1, now - 10),
        undecodable,
        book("ok2", 3, 1, now - 8),
        book("h", 4, 1, now - 7, title={"S": "poison"}),  # DOCUMENT_HOOK raises
        book("x", 5, 1, now - 6, year={"M": {"n": {"S": "1"}}}),  # an object into a number: 400
        book("r", 6, 1, now - 5),  # 503 on every attempt
        book("ok6", 7, 1, now - 4),
    ]
    response = process_batch(lambda_event(records), LambdaContext(function_name=FUNCTION), runtime)
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(2)}]}

    (line,) = metric_lines(capsys.readouterr().out)
    assert {name: line.value(name) for name in metrics.COUNTS} == {
        "RecordsIn": 7,
        "DocumentsWritten": 3,
        "TombstonesWritten": 0,
        "IgnoredAsOlder": 0,
        "RecordsSkipped": 0,
        "RecordsFailed": 4,
        "FailedUndecodable": 1,
        "FailedHook": 1,
        "FailedRejected": 1,
        "FailedRetryable": 1,
        "BulkRequests": 2,  # the batch, then "r" once more (RETRY_MAX_ATTEMPTS=2)
        "BulkRetries": 1,
    }
    # Lambda settles only the records before the reported one; the rest come again and count then.
    acknowledged = line.timestamp_ms - (now - 10) * 1000
    assert (line.value("IndexLagMax"), line.value("IndexLagP90")) == (acknowledged, acknowledged)


def test_a_batch_failing_from_its_first_record_carries_no_lag(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = Runtime.from_env(env)
    broken = book("u", 0, 1, int(time.time()))
    broken["dynamodb"]["Keys"] = {"isbn": {"S": "x"}}
    response = process_batch(lambda_event([broken]), LambdaContext(function_name=FUNCTION), runtime)
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(0)}]}
    (line,) = metric_lines(capsys.readouterr().out)
    assert line.names() == set(metrics.COUNTS)
    assert line.value("FailedUndecodable") == 1


def test_the_line_is_written_whatever_the_log_level(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = Runtime.from_env({**env, "LOG_LEVEL": "ERROR"})
    event = lambda_event([book("q", 0, 1, int(time.time()))])
    assert process_batch(event, LambdaContext(function_name=FUNCTION), runtime) == NO_FAILURES
    output = capsys.readouterr().out
    assert '"message": "batch"' not in output  # an INFO line, silenced
    (line,) = metric_lines(output)
    assert line.value("DocumentsWritten") == 1


def test_nothing_is_written_for_an_empty_event_or_without_a_lambda_context(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """No invocation, no line: idle costs nothing. A replay by the operations tool (no context) is not stream
    traffic and writes no metrics either."""
    runtime = Runtime.from_env(env)
    assert process_batch({"Records": []}, LambdaContext(function_name=FUNCTION), runtime) == NO_FAILURES
    event = lambda_event([book("z", 0, 1, int(time.time()))])
    assert process_batch(event, None, runtime) == NO_FAILURES
    assert metric_lines(capsys.readouterr().out) == []


# ---- the arithmetic alone (pure logic) ------------------------------------------------------------------


def _line(created: list[float], acknowledged_at: float) -> emf.Document:
    tally = SimpleNamespace(records=len(created), indexed=len(created), deleted=0, skipped=0, conflicts=0)
    tally.failures = []
    records = [
        {"dynamodb": {"ApproximateCreationDateTime": c, "SequenceNumber": str(i)}}
        for i, c in enumerate(created)
    ]
    requests = SimpleNamespace(requests=1, retried=0)
    document = metrics.metrics_line(FUNCTION, records, tally, requests, None, acknowledged_at)
    return emf.parse(json.dumps(document))


def test_the_lag_of_a_whole_second_timestamp_is_exact_to_the_millisecond() -> None:
    """ApproximateCreationDateTime is "rounded down to the closest second" (StreamRecord,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html): the lag is
    the acknowledgement's millisecond minus that second, never truncated to whole seconds."""
    line = _line([1_795_000_010], acknowledged_at=1_795_000_012.3456)
    assert line.timestamp_ms == 1_795_000_012_345
    assert line.value("IndexLagMax") == 2_345
    same_second = _line([1_795_000_012], acknowledged_at=1_795_000_012.0004)
    assert same_second.value("IndexLagMax") == 0
    skewed = _line([1_795_000_013], acknowledged_at=1_795_000_012.5)  # a clock behind DynamoDB's
    assert skewed.value("IndexLagMax") == 0


def test_the_percentile_is_the_nearest_rank_over_the_batch() -> None:
    base = 1_795_000_000
    ten = _line([base - s for s in range(1, 11)], acknowledged_at=base)
    assert (ten.value("IndexLagP90"), ten.value("IndexLagMax")) == (9_000, 10_000)
    twenty = _line([base - s for s in range(1, 21)], acknowledged_at=base)
    assert (twenty.value("IndexLagP90"), twenty.value("IndexLagMax")) == (18_000, 20_000)
    one = _line([base - 4], acknowledged_at=base)
    assert (one.value("IndexLagP90"), one.value("IndexLagMax")) == (4_000, 4_000)


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ('{"_aws": {"CloudWatchMetrics": []}}', "Timestamp"),
        ('{"_aws": {"Timestamp": 1.5, "CloudWatchMetrics": []}}', "whole milliseconds"),
        ('x {"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}}', "JSON"),
        (
            '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["F"]], '
            '"Metrics": [{"Name": "M"}]}]}, "F": "f"}',
            "not a member of the root",
        ),
        (
            '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["F"]], '
            '"Metrics": [{"Name": "M"}]}]}, "F": 3, "M": 1}',
            "string value",
        ),
        (
            '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [[]], '
            '"Metrics": [{"Name": "M", "Unit": "Hours"}]}]}, "M": 1}',
            "not a CloudWatch unit",
        ),
        (
            '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [[]], '
            '"Metrics": [{"Name": "M"}]}]}, "M": "1"}',
            "number",
        ),
    ],
)
def test_the_emf_checker_refuses_what_the_specification_refuses(line: str, rule: str) -> None:
    """The checker the tests above rely on can fail: each line breaks one rule of the specification."""
    with pytest.raises(emf.EmfError, match=rule):
        emf.parse(line)
