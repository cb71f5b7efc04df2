"""Failures: per-item and whole-request faults from the fault proxy, poison records, the time budget."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from opensearchpy.exceptions import RequestError

from indexer.batch import Runtime, process_batch
from indexer.bulk import WriteStats, write_actions
from indexer.deadline import Deadline
from support.fault_proxy import FaultProxy, RequestFault
from support.stream_records import LambdaContext, lambda_event, record, sequence_number

NO_FAILURES = {"batchItemFailures": []}


def insert(book_id: str, position: int, **attributes: Any) -> dict[str, Any]:
    image = {"id": {"S": book_id}, "title": {"S": f"title of {book_id}"}, **attributes}
    return record("INSERT", {"id": {"S": book_id}}, position, image)


def books(n: int, **attributes: Any) -> list[dict[str, Any]]:
    return [insert(f"b{i}", i, **attributes) for i in range(n)]


def log_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture
def proxied(env: dict[str, str], proxy: FaultProxy) -> dict[str, str]:
    return {**env, "OPENSEARCH_ENDPOINT": proxy.url}


def test_per_item_429_and_503_are_retried_until_they_succeed(
    proxied: dict[str, str], proxy: FaultProxy, docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env(proxied)
    proxy.fail_items("b2", 429, 503)
    proxy.fail_items("b4", 503)
    assert process_batch(lambda_event(books(6)), LambdaContext(), runtime) == NO_FAILURES
    assert sorted(docs(unique_name)) == [f"b{i}" for i in range(6)]
    bulks = proxy.bulk_requests()
    assert [sorted(r.bulk_ids()) for r in bulks] == [[f"b{i}" for i in range(6)], ["b2", "b4"], ["b2"]]
    assert [r.injected_items for r in bulks] == [[("b2", 429), ("b4", 503)], [("b2", 503)], []]


def test_what_never_succeeds_is_reported_by_the_earliest_failed_sequence_number(
    proxied: dict[str, str],
    proxy: FaultProxy,
    docs: Any,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runtime = Runtime.from_env({**proxied, "RETRY_MAX_ATTEMPTS": "3"})
    proxy.fail_item_always("b5", 503)
    proxy.fail_item_always("b3", 429)
    events = books(7)
    assert process_batch(lambda_event(events), LambdaContext(), runtime) == {
        "batchItemFailures": [{"itemIdentifier": sequence_number(3)}]
    }
    assert sorted(docs(unique_name)) == ["b0", "b1", "b2", "b4", "b6"]
    assert len(proxy.bulk_requests()) == 3  # RETRY_MAX_ATTEMPTS
    lines = log_lines(capsys.readouterr().out)
    failed = {line["key"]["id"]: line for line in lines if line["message"] == "record failed"}
    assert set(failed) == {"b3", "b5"}
    assert failed["b3"]["retryable"] is True
    assert failed["b3"]["status"] == 429
    batch = [line for line in lines if line["message"] == "batch"][-1]
    assert (batch["indexed"], batch["failed"], batch["retried"]) == (5, 2, 4)


def test_earliest_is_compared_numerically_not_as_text(proxied: dict[str, str], proxy: FaultProxy) -> None:
    runtime = Runtime.from_env({**proxied, "RETRY_MAX_ATTEMPTS": "1"})
    # 21 digits (GetRecords example) against 23 (DescribeStream example): as text, "3..." sorts after "2...".
    short = record("INSERT", {"id": {"S": "a"}}, 0, {"id": {"S": "a"}}, sequence="300000000000000499659")
    long = insert("b", 0)
    proxy.fail_item_always("a", 503)
    proxy.fail_item_always("b", 503)
    response = process_batch(lambda_event([short, long]), LambdaContext(), runtime)
    assert response == {"batchItemFailures": [{"itemIdentifier": "300000000000000499659"}]}


def test_retries_stop_inside_the_lambda_time_budget(proxied: dict[str, str], proxy: FaultProxy) -> None:
    runtime = Runtime.from_env(
        {
            **proxied,
            "RETRY_MAX_ATTEMPTS": "100",
            "RETRY_INITIAL_BACKOFF_SECONDS": "0.2",
            "RETRY_MAX_BACKOFF_SECONDS": "0.4",
            "RETRY_DEADLINE_MARGIN_SECONDS": "0.5",
        }
    )
    proxy.fail_item_always("b1", 429)
    started = time.monotonic()
    response = process_batch(lambda_event(books(3)), LambdaContext(seconds=2.5), runtime)
    elapsed = time.monotonic() - started
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(1)}]}
    assert elapsed < 2.0  # gave up before the margin, leaving Lambda time to take the answer
    assert 2 < len(proxy.bulk_requests()) < 100


def test_a_poison_record_is_reported_without_failing_its_neighbours(
    env: dict[str, str], docs: Any, unique_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = Runtime.from_env(env)
    events = [
        insert("b0", 0, year={"N": "1965"}),
        insert("b1", 1, year={"M": {"secret": {"S": "do-not-log-me"}}}),  # object into a long field: 400
        insert("b2", 2, year={"N": "1970"}),
    ]
    response = process_batch(lambda_event(events), LambdaContext(), runtime)
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(1)}]}
    assert sorted(docs(unique_name)) == ["b0", "b2"]
    output = capsys.readouterr().out
    assert "do-not-log-me" not in output
    (failed,) = [line for line in log_lines(output) if line["message"] == "record failed"]
    assert failed["key"] == {"id": "b1"}
    assert failed["status"] == 400
    assert failed["retryable"] is False
    assert failed["reason"].startswith("mapper_parsing_exception")


def test_an_undecodable_record_and_a_failing_hook_are_reported_like_poison(
    env: dict[str, str], docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env({**env, "DOCUMENT_HOOK": "book_hooks:enrich"})
    broken = insert("b1", 1)
    broken["dynamodb"]["NewImage"]["cover"] = {"B": "not base64!"}  # keys of another schema: SettingsError
    response = process_batch(
        lambda_event([insert("b0", 0), broken, insert("b2", 2)]), LambdaContext(), runtime
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(1)}]}
    assert sorted(docs(unique_name)) == ["b0", "b2"]

    exploding = Runtime.from_env({**env, "DOCUMENT_HOOK": "book_hooks:explode"})
    response = process_batch(lambda_event([insert("b3", 3)]), LambdaContext(), exploding)
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(3)}]}


@pytest.mark.parametrize(
    "fault",
    [
        RequestFault("status", 429),
        RequestFault("status", 503),
        RequestFault("drop"),
        RequestFault("slow", delay_seconds=2.0),
    ],
    ids=["429", "503", "dropped-connection", "timeout"],
)
def test_whole_request_faults_are_retried(
    proxied: dict[str, str], proxy: FaultProxy, docs: Any, unique_name: str, fault: RequestFault
) -> None:
    runtime = Runtime.from_env({**proxied, "REQUEST_TIMEOUT_SECONDS": "0.5"})
    proxy.fail_requests(fault, fault)
    assert process_batch(lambda_event(books(4)), LambdaContext(), runtime) == NO_FAILURES
    assert sorted(docs(unique_name)) == ["b0", "b1", "b2", "b3"]
    assert len(proxy.bulk_requests()) == 3


def test_a_whole_request_404_is_not_mistaken_for_deleted_documents(
    proxied: dict[str, str], proxy: FaultProxy
) -> None:
    runtime = Runtime.from_env({**proxied, "RETRY_MAX_ATTEMPTS": "2"})
    proxy.fail_requests(RequestFault("status", 404), RequestFault("status", 404))
    remove = record("REMOVE", {"id": {"S": "b1"}}, 0)
    response = process_batch(lambda_event([remove]), LambdaContext(), runtime)
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number(0)}]}
    assert len(proxy.bulk_requests()) == 1  # a 404 for the whole request is permanent, not retried


def test_write_actions_returns_one_result_per_action_in_order(
    proxied: dict[str, str], proxy: FaultProxy, unique_name: str
) -> None:
    runtime = Runtime.from_env(proxied)
    proxy.fail_items("c", 429)
    actions = [
        {
            "_op_type": "index",
            "_id": i,
            "version": 5,
            "version_type": "external_gte",
            "_source": {"n": 1},
        }
        for i in ("a", "b", "c")
    ]
    actions.append(
        {
            "_op_type": "index",
            "_id": "a",
            "version": 4,
            "version_type": "external_gte",
            "_source": {"n": 0},
        }
    )
    actions.append(
        {
            "_op_type": "delete",
            "_id": "zz",
            "version": 4,
            "version_type": "external_gte",
        }
    )
    stats = WriteStats()
    results = write_actions(runtime.client, actions, runtime.settings, Deadline.after(10), stats=stats)
    assert [(r.doc_id, r.outcome, r.attempts) for r in results] == [
        ("a", "indexed", 1),
        ("b", "indexed", 1),
        ("c", "indexed", 2),
        ("a", "conflict", 1),
        ("zz", "not_found", 1),
    ]
    assert (stats.requests, stats.retried) == (2, 1)


def test_a_short_function_timeout_still_writes(env: dict[str, str], docs: Any, unique_name: str) -> None:
    runtime = Runtime.from_env({**env, "RETRY_DEADLINE_MARGIN_SECONDS": "3"})
    assert process_batch(lambda_event(books(2)), LambdaContext(seconds=3), runtime) == NO_FAILURES
    assert sorted(docs(unique_name)) == ["b0", "b1"]


def test_a_malformed_sequence_number_is_reported_not_crashed_on(
    env: dict[str, str], docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env(env)
    malformed = insert("b1", 1)
    malformed["dynamodb"]["SequenceNumber"] = "12ab"
    response = process_batch(lambda_event([insert("b0", 0), malformed]), LambdaContext(), runtime)
    assert response == {"batchItemFailures": [{"itemIdentifier": "12ab"}]}
    assert sorted(docs(unique_name)) == ["b0"]


# --- one bad item fails alone ---------------------------------------------------------------------------
# OpenSearch: "An _id can be at most 512 bytes long in UTF-8 encoding. OpenSearch rejects requests that
# specify a longer ID." (https://docs.opensearch.org/latest/mappings/metadata-fields/id/). DynamoDB: partition
# keys up to 2,048 bytes, sort keys up to 1,024 bytes
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-partition-sort-keys).


def index_action(alias: str, doc_id: str, n: int = 1) -> dict[str, Any]:
    return {
        "_op_type": "index",
        "_id": doc_id,
        "version": 5,
        "version_type": "external_gte",
        "_source": {"n": n},
    }


def test_conformance_an_id_over_512_bytes_fails_the_whole_bulk_request(search: Any, unique_name: str) -> None:
    """What the stand-in does here is what OpenSearch documents: the whole request is refused with 400."""
    body = [
        {"index": {"_index": unique_name, "_id": "short"}},
        {"n": 1},
        {"index": {"_index": unique_name, "_id": "é" * 257}},  # 514 bytes of UTF-8, 257 characters
        {"n": 2},
    ]
    with pytest.raises(RequestError) as raised:
        search.bulk(body=body)
    assert raised.value.status_code == 400
    assert raised.value.error == "action_request_validation_exception"
    assert not search.indices.exists(index=unique_name)  # nothing of the request ran


def test_a_whole_request_400_is_bisected_until_only_the_guilty_item_fails(
    env: dict[str, str], proxy: FaultProxy, docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env({**env, "OPENSEARCH_ENDPOINT": proxy.url})
    guilty = "x" * 513
    actions = [index_action(unique_name, f"d{i}", i) for i in range(8)]
    actions[5] = index_action(unique_name, guilty)
    stats = WriteStats()
    results = write_actions(runtime.client, actions, runtime.settings, Deadline.after(60), stats=stats)
    assert [r.outcome for r in results] == ["indexed"] * 5 + ["failed"] + ["indexed"] * 2
    failed = results[5]
    assert (failed.doc_id, failed.status, failed.retryable) == (guilty, 400, False)
    assert failed.reason == "request failed: RequestError action_request_validation_exception (status 400)"
    assert sorted(docs(unique_name)) == [f"d{i}" for i in range(8) if i != 5]
    sizes = [len(r.bulk_ids()) for r in proxy.bulk_requests()]
    assert sizes == [8, 4, 4, 2, 1, 1, 2]  # depth first: halves of the failed request until d5 is alone
    assert stats.requests == len(sizes)


def test_a_whole_request_413_is_split_and_every_item_lands(
    proxied: dict[str, str], proxy: FaultProxy, docs: Any, unique_name: str
) -> None:
    """413 (body over http.max_content_length) is the request's fault, not its items': smaller ones pass."""
    runtime = Runtime.from_env(proxied)
    proxy.fail_requests(RequestFault("status", 413), RequestFault("status", 413))
    assert process_batch(lambda_event(books(4)), LambdaContext(), runtime) == NO_FAILURES
    assert sorted(docs(unique_name)) == ["b0", "b1", "b2", "b3"]
    assert [len(r.bulk_ids()) for r in proxy.bulk_requests()] == [4, 2, 1, 1, 2]


def test_a_key_of_2048_bytes_is_indexed_under_a_hashed_id_beside_its_neighbours(
    env: dict[str, str], search: Any, docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env(env)
    long_key = "k" * 2000 + "é" * 24  # 2,048 bytes: the longest legal partition key
    events = [insert("b0", 0), insert(long_key, 1), insert("b2", 2)]
    assert process_batch(lambda_event(events), LambdaContext(), runtime) == NO_FAILURES
    indexed = docs(unique_name)
    assert len(indexed) == 3
    (hashed,) = [doc_id for doc_id in indexed if doc_id not in ("b0", "b2")]
    assert len(hashed.encode()) <= 512
    assert hashed.startswith("k" * 100)
    assert indexed[hashed]["id"] == long_key
    assert indexed[hashed]["dynamodb_document_id"] == long_key  # the full id, kept in a field
    search.indices.refresh(index=unique_name)
    found = search.search(index=unique_name, body={"query": {"term": {"dynamodb_document_id": long_key}}})[
        "hits"
    ]["hits"]
    assert [hit["_id"] for hit in found] == [hashed]


# --- the deadline holds within a pass --------------------------------------------------------------------


def test_each_request_gets_the_remaining_time_and_unsent_chunks_are_reported(
    env: dict[str, str], proxy: FaultProxy, unique_name: str
) -> None:
    """An injected clock in which every bulk request the proxy receives costs 0.8 s, with 2 s to go: three
    chunks must not all be sent (the Lambda would time out). The second request's timeout is what remains
    (1.2 s), so the proxy holding its answer for 1.5 s makes it time out; the third is never sent."""
    runtime = Runtime.from_env(
        {**env, "OPENSEARCH_ENDPOINT": proxy.url, "BULK_MAX_ACTIONS": "2", "REQUEST_TIMEOUT_SECONDS": "20"}
    )
    proxy.fail_requests(RequestFault("slow", delay_seconds=0.0), RequestFault("slow", delay_seconds=1.5))

    def clock() -> float:
        return 0.8 * len(proxy.bulk_requests())

    actions = [index_action(unique_name, f"d{i}", i) for i in range(6)]
    results = write_actions(runtime.client, actions, runtime.settings, Deadline.after(2.0, clock))
    assert [r.outcome for r in results] == ["indexed"] * 2 + ["failed"] * 4
    assert all(r.retryable for r in results[2:])
    assert all("ConnectionTimeout" in (r.reason or "") for r in results[2:4])
    assert [r.reason for r in results[4:]] == ["deadline: no time left to send"] * 2
    assert [r.bulk_ids() for r in proxy.bulk_requests()] == [["d0", "d1"], ["d2", "d3"]]


def test_chunks_not_sent_before_the_deadline_are_reported_by_their_sequence_numbers(
    proxied: dict[str, str], proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    """A slow cluster (1 s per request) and 2.45 s to go: the third chunk is not started (it could start at
    most 0.45 s before the deadline), and its records are reported. Asserts on what was sent and reported,
    never on elapsed time (whether the second request beats its shrunken timeout depends on the machine)."""
    runtime = Runtime.from_env({**proxied, "BULK_MAX_ACTIONS": "2", "RETRY_DEADLINE_MARGIN_SECONDS": "0"})
    proxy.fail_requests(*[RequestFault("slow", delay_seconds=1.0)] * 3)
    response = process_batch(lambda_event(books(6)), LambdaContext(seconds=2.45), runtime)
    assert [sorted(r.bulk_ids()) for r in proxy.bulk_requests()] == [["b0", "b1"], ["b2", "b3"]]
    (failure,) = response["batchItemFailures"]
    assert failure["itemIdentifier"] in (sequence_number(2), sequence_number(4))  # covers b4 and b5
    failed = {
        line["key"]["id"]: line["reason"]
        for line in log_lines(capsys.readouterr().out)
        if line["message"] == "record failed"
    }
    assert failed["b4"] == failed["b5"] == "deadline: no time left to send"
