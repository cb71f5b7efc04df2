"""End to end: items written to a streamed table on moto, the real stream records, the handler, the index."""

from __future__ import annotations

import json
import random
from typing import Any

import function
import pytest
from opensearchpy.exceptions import TransportError

from books_local.sequence_numbers import STRIDE
from indexer import sequence_guard
from indexer.batch import Runtime, process_batch
from indexer.changes import plain_item
from indexer.errors import SettingsError
from indexer.tombstones import ALIAS_FILTER
from support import stream_records
from support.stream_records import LambdaContext, lambda_event
from support.streams import StreamReader, create_streamed_table

NO_FAILURES = {"batchItemFailures": []}


def book(book_id: str, title: str, **extra: dict[str, Any]) -> dict[str, Any]:
    return {"id": {"S": book_id}, "title": {"S": title}, "author": {"S": "Anon"}, **extra}


def table_state(dynamodb: Any, table: str) -> dict[str, dict[str, Any]]:
    items = dynamodb.scan(TableName=table)["Items"]
    return {item["id"]["S"]: plain_item(item) for item in items}


def test_insert_modify_remove_through_the_handler(
    env: dict[str, str], dynamo: Any, docs: Any, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    dynamodb, streams = dynamo
    reader = StreamReader(streams, create_streamed_table(dynamodb, unique_name))
    dynamodb.put_item(
        TableName=unique_name,
        Item=book(
            "b1",
            "Dune",
            year={"N": "1965"},
            price={"N": "9.99"},
            isbn13={"N": "9780441172719"},
            tags={"SS": ["sf", "classic"]},
            cover={"B": b"\x89PNG"},
            meta={"M": {"pages": {"N": "412"}, "awards": {"L": [{"S": "Hugo"}, {"S": "Nebula"}]}}},
        ),
    )
    dynamodb.put_item(TableName=unique_name, Item=book("b2", "Solaris"))

    assert function.handler(reader.event(), LambdaContext()) == NO_FAILURES
    assert docs(unique_name) == {
        "b1": {
            "id": "b1",
            "title": "Dune",
            "author": "Anon",
            "year": 1965,
            "price": 9.99,
            "isbn13": 9780441172719,
            "tags": ["classic", "sf"],
            "cover": "iVBORw==",
            "meta": {"pages": 412, "awards": ["Hugo", "Nebula"]},
        },
        "b2": {"id": "b2", "title": "Solaris", "author": "Anon"},
    }

    dynamodb.update_item(
        TableName=unique_name,
        Key={"id": {"S": "b2"}},
        UpdateExpression="SET title = :t",
        ExpressionAttributeValues={":t": {"S": "Solaris (1961)"}},
    )
    dynamodb.delete_item(TableName=unique_name, Key={"id": {"S": "b1"}})
    event = reader.event()
    assert [r["eventName"] for r in event["Records"]] == ["MODIFY", "REMOVE"]
    assert function.handler(event, LambdaContext()) == NO_FAILURES
    assert docs(unique_name) == {"b2": {"id": "b2", "title": "Solaris (1961)", "author": "Anon"}}


def test_composite_key_table_end_to_end(
    env: dict[str, str], dynamo: Any, docs: Any, unique_name: str
) -> None:
    dynamodb, streams = dynamo
    arn = create_streamed_table(dynamodb, unique_name, ("author", "S"), ("year", "N"))
    reader = StreamReader(streams, arn)
    for author, year in [("a#b", "1"), ("a", "1"), ('q"x', "2")]:
        dynamodb.put_item(TableName=unique_name, Item={"author": {"S": author}, "year": {"N": year}})
    runtime = Runtime.from_env({**env, "TABLE_PARTITION_KEY": "author", "TABLE_SORT_KEY": "year"})
    assert process_batch(reader.event(), LambdaContext(), runtime) == NO_FAILURES
    assert sorted(json.loads(doc_id) for doc_id in docs(unique_name)) == [["a", 1], ["a#b", 1], ['q"x', 2]]


def test_a_forgotten_sort_key_fails_the_invocation_naming_the_setting_and_writes_nothing(
    env: dict[str, str], dynamo: Any, search: Any, unique_name: str
) -> None:
    """A stream record's ``Keys`` hold the table's key attributes ("The primary key attribute(s) for the
    DynamoDB item that was modified": https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/
    API_streams_StreamRecord.html). Keyed by author alone, ("Le Guin", 1969) and ("Le Guin", 1974) would
    become one document and the last write would win: the settings are wrong, so nothing is written."""
    dynamodb, streams = dynamo
    arn = create_streamed_table(dynamodb, unique_name, ("author", "S"), ("year", "N"))
    reader = StreamReader(streams, arn)
    for year in ("1969", "1974"):
        dynamodb.put_item(
            TableName=unique_name,
            Item={"author": {"S": "Le Guin"}, "year": {"N": year}, "title": {"S": f"book of {year}"}},
        )
    runtime = Runtime.from_env({**env, "TABLE_PARTITION_KEY": "author"})  # TABLE_SORT_KEY forgotten

    with pytest.raises(SettingsError, match=r"TABLE_SORT_KEY.*'year'"):
        process_batch(reader.event(), LambdaContext(), runtime)

    search.indices.refresh(index=unique_name)
    assert search.count(index=unique_name)["count"] == 0


def _write_history(dynamodb: Any, table: str, rng: random.Random) -> None:
    """Many puts, updates and deletes over a few items, including deletes and re-creations."""
    for step in range(60):
        item_id = f"b{rng.randrange(6)}"
        action = rng.random()
        if action < 0.55:
            dynamodb.put_item(TableName=table, Item=book(item_id, f"title {step}", step={"N": str(step)}))
        elif action < 0.8:
            dynamodb.update_item(
                TableName=table,
                Key={"id": {"S": item_id}},
                UpdateExpression="SET step = :s",
                ExpressionAttributeValues={":s": {"N": str(step)}},
            )
        else:
            dynamodb.delete_item(TableName=table, Key={"id": {"S": item_id}})


def test_duplicates_and_out_of_order_replays_converge_to_the_table(
    env: dict[str, str], dynamo: Any, docs: Any, unique_name: str
) -> None:
    dynamodb, streams = dynamo
    reader = StreamReader(streams, create_streamed_table(dynamodb, unique_name))
    rng = random.Random(7)
    _write_history(dynamodb, unique_name, rng)
    records = reader.read()
    expected = table_state(dynamodb, unique_name)
    runtime = Runtime.from_env(env)

    assert process_batch(lambda_event(records), LambdaContext(), runtime) == NO_FAILURES
    assert docs(unique_name) == expected

    for _ in range(3):  # replays: shuffled, duplicated, split into batches of random sizes
        replay = records + rng.sample(records, len(records) // 2)
        rng.shuffle(replay)
        while replay:
            size = rng.randint(1, 15)
            batch, replay = replay[:size], replay[size:]
            assert process_batch(lambda_event(batch), LambdaContext(), runtime) == NO_FAILURES
        assert docs(unique_name) == expected


def test_records_processed_in_reverse_order_still_converge(
    env: dict[str, str], dynamo: Any, docs: Any, unique_name: str
) -> None:
    dynamodb, streams = dynamo
    reader = StreamReader(streams, create_streamed_table(dynamodb, unique_name))
    _write_history(dynamodb, unique_name, random.Random(11))
    records = reader.read()
    runtime = Runtime.from_env(env)
    for record in reversed(records):  # one record per batch, newest first
        assert process_batch(lambda_event([record]), LambdaContext(), runtime) == NO_FAILURES
    assert docs(unique_name) == table_state(dynamodb, unique_name)


def batch_log(output: str) -> dict[str, Any]:
    """The last per-batch log line in captured stdout."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line["message"] == "batch"][-1]


def test_a_late_older_update_does_not_resurrect_a_deleted_document(
    env: dict[str, str], dynamo: Any, docs: Any, unique_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb, streams = dynamo
    reader = StreamReader(streams, create_streamed_table(dynamodb, unique_name))
    dynamodb.put_item(TableName=unique_name, Item=book("b1", "first"))
    dynamodb.put_item(TableName=unique_name, Item=book("b1", "second"))
    dynamodb.delete_item(TableName=unique_name, Key={"id": {"S": "b1"}})
    insert, modify, remove = reader.read()
    runtime = Runtime.from_env(env)

    assert process_batch(lambda_event([insert]), LambdaContext(), runtime) == NO_FAILURES
    assert docs(unique_name) == {"b1": {"id": "b1", "title": "first", "author": "Anon"}}
    assert process_batch(lambda_event([remove]), LambdaContext(), runtime) == NO_FAILURES
    assert docs(unique_name) == {}
    capsys.readouterr()
    for late in ([modify], [insert], [modify, insert]):
        assert process_batch(lambda_event(late), LambdaContext(), runtime) == NO_FAILURES
        assert batch_log(capsys.readouterr().out)["conflicts"] == 1
        assert docs(unique_name) == {}


def test_a_delete_that_arrives_first_still_wins(
    env: dict[str, str], dynamo: Any, docs: Any, unique_name: str
) -> None:
    dynamodb, streams = dynamo
    reader = StreamReader(streams, create_streamed_table(dynamodb, unique_name))
    dynamodb.put_item(TableName=unique_name, Item=book("b1", "first"))
    dynamodb.delete_item(TableName=unique_name, Key={"id": {"S": "b1"}})
    insert, remove = reader.read()
    runtime = Runtime.from_env(env)
    assert process_batch(lambda_event([remove]), LambdaContext(), runtime) == NO_FAILURES  # 404: success
    assert process_batch(lambda_event([insert]), LambdaContext(), runtime) == NO_FAILURES  # 409: success
    assert docs(unique_name) == {}


def test_batch_log_line_counts_what_happened(
    env: dict[str, str], dynamo: Any, unique_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dynamodb, streams = dynamo
    reader = StreamReader(streams, create_streamed_table(dynamodb, unique_name))
    dynamodb.put_item(TableName=unique_name, Item=book("b1", "one"))
    dynamodb.put_item(TableName=unique_name, Item=book("b1", "one, again"))
    dynamodb.put_item(TableName=unique_name, Item=book("b2", "two"))
    dynamodb.delete_item(TableName=unique_name, Key={"id": {"S": "b2"}})
    dynamodb.delete_item(TableName=unique_name, Key={"id": {"S": "never-existed"}})
    runtime = Runtime.from_env(env)
    capsys.readouterr()
    assert process_batch(reader.event(), LambdaContext(), runtime) == NO_FAILURES
    line = batch_log(capsys.readouterr().out)
    counts = {
        k: line[k] for k in ("records", "indexed", "deleted", "skipped", "conflicts", "retried", "failed")
    }
    assert counts == {
        "records": 4,  # moto writes no record for deleting a missing item
        "indexed": 1,
        "deleted": 1,
        "skipped": 2,  # superseded in the batch by a newer record of the same item
        "conflicts": 0,
        "retried": 0,
        "failed": 0,
    }
    assert line["bulk_requests"] == 1
    assert 0 <= line["stream_lag_seconds"] < 60


# AWS-shaped streams (issue 9), from the tests' one record builder: a shard starting at the DescribeStream
# example's 20500000000000000910398, consecutive records ~10**20 apart, whole-second creation times.
SAME_SECOND = 1_700_000_000


def aws_record(
    name: str, position: int, book_id: str, new: dict | None, old: dict | None, gap: int = STRIDE
) -> dict[str, Any]:
    keys = {"id": {"S": book_id}}
    number = stream_records.sequence_number(position, gap=gap)
    return stream_records.record(name, keys, position, new, SAME_SECOND, old_image=old, sequence=number)


def counted(book_id: str, title: str, counter: int | None) -> dict[str, Any]:
    """A book image; with the API's write counter unless ``counter`` is None (a table without one)."""
    image = book(book_id, title)
    if counter is not None:
        image["version"] = {"N": str(counter)}
    return image


def plain_docs(documents: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {doc_id: source["title"] for doc_id, source in documents.items()}


@pytest.mark.parametrize("with_counter", [True, False], ids=["counter", "sequence"])
def test_same_second_create_then_update_in_separate_batches_keeps_the_newer_image(
    env: dict[str, str], docs: Any, unique_name: str, with_counter: bool
) -> None:
    """Issue 9: with sequence numbers 10**20 apart, the derived version kept the older image ~3 times in 4."""
    runtime = Runtime.from_env(env)
    for n in range(8):
        book_id = f"b{n}"
        create = aws_record(
            "INSERT", 2 * n, book_id, counted(book_id, "old", 1 if with_counter else None), None
        )
        update = aws_record(
            "MODIFY",
            2 * n + 1,
            book_id,
            counted(book_id, "new", 2 if with_counter else None),
            counted(book_id, "old", 1 if with_counter else None),
        )
        assert process_batch(lambda_event([create]), LambdaContext(), runtime) == NO_FAILURES
        assert process_batch(lambda_event([update]), LambdaContext(), runtime) == NO_FAILURES
        assert process_batch(lambda_event([create]), LambdaContext(), runtime) == NO_FAILURES  # a late replay
    assert plain_docs(docs(unique_name)) == {f"b{n}": "new" for n in range(8)}


@pytest.mark.parametrize("with_counter", [True, False], ids=["counter", "sequence"])
def test_create_and_delete_in_one_batch_leave_nothing_searchable(
    env: dict[str, str], docs: Any, unique_name: str, search: Any, with_counter: bool
) -> None:
    """Issue 9: the newest record of a batch is chosen by stream order, not by a derived version."""
    runtime = Runtime.from_env(env)
    records = []
    for n in range(8):
        image = counted(f"b{n}", "doomed", 1 if with_counter else None)
        records.append(aws_record("INSERT", 2 * n, f"b{n}", image, None))
        records.append(aws_record("REMOVE", 2 * n + 1, f"b{n}", None, image))
    assert process_batch(lambda_event(records), LambdaContext(), runtime) == NO_FAILURES
    assert docs(unique_name) == {}
    assert search.count(index=unique_name)["count"] == 0  # the alias's filter hides the tombstones
    assert process_batch(lambda_event(records[::2]), LambdaContext(), runtime) == NO_FAILURES  # late inserts
    assert docs(unique_name) == {}


@pytest.mark.parametrize("gap", [2**31, 2**31 + 1, 3 * 2**31 - 7, 10**20, 10**25])
def test_gaps_of_two_to_the_31_and_more_keep_stream_order_without_a_counter(
    env: dict[str, str], docs: Any, unique_name: str, gap: int
) -> None:
    """Sequence numbers are compared whole (stored with each document, one mget per batch)."""
    runtime = Runtime.from_env({**env, "VERSION_ATTRIBUTE": "none"})
    history = [
        aws_record("INSERT", 0, "b1", counted("b1", "t0", None), None, gap),
        aws_record("MODIFY", 1, "b1", counted("b1", "t1", None), None, gap),
        aws_record("REMOVE", 2, "b1", None, counted("b1", "t1", None), gap),
        aws_record("INSERT", 3, "b1", counted("b1", "t3", None), None, gap),
        aws_record("MODIFY", 4, "b1", counted("b1", "t4", None), None, gap),
    ]
    for record in reversed(history):  # newest first: every older one must be refused
        assert process_batch(lambda_event([record]), LambdaContext(), runtime) == NO_FAILURES
    for record in history:
        assert process_batch(lambda_event([record]), LambdaContext(), runtime) == NO_FAILURES
    assert plain_docs(docs(unique_name)) == {"b1": "t4"}


@pytest.mark.parametrize("with_counter", [True, False], ids=["counter", "sequence"])
def test_a_delete_survives_the_loss_of_opensearchs_in_memory_tombstones(
    env: dict[str, str], docs: Any, unique_name: str, search: Any, with_counter: bool
) -> None:
    """OpenSearch keeps delete tombstones in memory only (index.gc_deletes); a restart loses them. gc_deletes
    0 stands in for that loss: the delete is a tombstone document, so a late older upsert is still refused."""
    runtime = Runtime.from_env(env)
    search.indices.put_settings(index=runtime.index, body={"index": {"gc_deletes": "0s"}})
    create = aws_record("INSERT", 0, "b1", counted("b1", "first", 1 if with_counter else None), None)
    remove = aws_record("REMOVE", 1, "b1", None, counted("b1", "first", 1 if with_counter else None))
    assert process_batch(lambda_event([create]), LambdaContext(), runtime) == NO_FAILURES
    assert process_batch(lambda_event([remove]), LambdaContext(), runtime) == NO_FAILURES
    assert process_batch(lambda_event([create]), LambdaContext(), runtime) == NO_FAILURES
    assert docs(unique_name) == {}
    tombstone = search.get(index=runtime.index, id="b1")
    assert tombstone["_source"]["indexer_tombstone"] is True  # kept in _source: no source filter (index.json)


def test_a_re_created_item_continues_its_counter_and_beats_the_tombstone(
    env: dict[str, str], docs: Any, unique_name: str
) -> None:
    """Writers re-creating a key continue its counter (indexer.versions); re-creation at 1 stays refused."""
    runtime = Runtime.from_env(env)
    records = [
        aws_record("INSERT", 0, "b1", counted("b1", "first", 1), None),
        aws_record("REMOVE", 1, "b1", None, counted("b1", "first", 1)),
        aws_record("INSERT", 2, "b1", counted("b1", "again", 2), None),
    ]
    for batch_records in ([records[0]], [records[1]], [records[2]], records, [records[1]]):
        assert process_batch(lambda_event(batch_records), LambdaContext(), runtime) == NO_FAILURES
    assert plain_docs(docs(unique_name)) == {"b1": "again"}
    restart = aws_record("INSERT", 3, "b2", counted("b2", "x", 1), None)
    gone = aws_record("REMOVE", 4, "b2", None, counted("b2", "x", 1))
    reused = aws_record("INSERT", 5, "b2", counted("b2", "reused", 1), None)  # breaks the writer contract
    assert process_batch(lambda_event([restart, gone]), LambdaContext(), runtime) == NO_FAILURES
    assert process_batch(lambda_event([reused]), LambdaContext(), runtime) == NO_FAILURES
    assert "b2" not in docs(unique_name)  # documented: such a table needs VERSION_ATTRIBUTE=none


class _AfterMget:
    """The indexer's client, running ``action`` once right after its first ``_mget`` (a concurrent writer)."""

    def __init__(self, client: Any, action: Any) -> None:
        self._client, self._action, self.calls = client, action, 0

    def mget(self, *args: Any, **kwargs: Any) -> Any:
        answer = self._client.mget(*args, **kwargs)
        self.calls += 1
        if self.calls == 1:
            self._action()
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.mark.parametrize("other_is_newer", [True, False], ids=["newer-record", "older-scan"])
def test_a_concurrent_writer_between_the_read_and_the_write_is_decided_again(
    env: dict[str, str], docs: Any, unique_name: str, search: Any, other_is_newer: bool
) -> None:
    """Without a counter the write is conditional on the mget: a writer in between makes it 409, and the batch
    reads and decides again. A newer record wins; a backfill's create of an older scan loses to the record."""
    runtime = Runtime.from_env({**env, "VERSION_ATTRIBUTE": "none"})
    other = Runtime.from_env({**env, "VERSION_ATTRIBUTE": "none"})
    mine = aws_record("INSERT", 0, "b1", counted("b1", "mine", None), None)

    def concurrent_write() -> None:
        if other_is_newer:
            newer = aws_record("MODIFY", 1, "b1", counted("b1", "newer", None), None)
            assert process_batch(lambda_event([newer]), LambdaContext(), other) == NO_FAILURES
        else:  # what a backfill does for an item without a counter: create only
            search.create(index=unique_name, id="b1", body={"id": "b1", "title": "scanned", "author": "Anon"})

    runtime.client = _AfterMget(runtime.client, concurrent_write)  # type: ignore[assignment]
    assert process_batch(lambda_event([mine]), LambdaContext(), runtime) == NO_FAILURES
    assert runtime.client.calls == 2  # read, 409, read again
    assert plain_docs(docs(unique_name)) == {"b1": "newer" if other_is_newer else "mine"}


def test_an_alias_made_without_the_tombstone_filter_gets_it_at_cold_start(
    env: dict[str, str], search: Any, unique_name: str
) -> None:
    """An index deployed by an older indexer: its alias had no filter, so tombstones would be searchable."""
    search.indices.create(
        index=f"{unique_name}-v1", body={"aliases": {unique_name: {"is_write_index": True}}}
    )
    runtime = Runtime.from_env(env)
    alias = search.indices.get_alias(index=runtime.index, name=unique_name)[runtime.index]["aliases"][
        unique_name
    ]
    assert alias == {"is_write_index": True, "filter": ALIAS_FILTER}


class _MgetFails:
    """The indexer's client with its ``_mget`` failing as a loaded node answers (503); counts the calls."""

    def __init__(self, client: Any) -> None:
        self._client, self.calls = client, 0

    def mget(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        raise TransportError(503, "unavailable_shards_exception", {"error": {}})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def guarded_and_counted() -> dict[str, Any]:
    """b1 carries a counter (written at its version); b2 has none (needs the sequence guard's mget)."""
    counted_image = {"id": {"S": "b1"}, "version": {"N": "1"}}
    return lambda_event(
        [
            stream_records.record("INSERT", {"id": {"S": "b1"}}, 0, counted_image, sequence=str(SEQ_B1)),
            stream_records.record(
                "INSERT", {"id": {"S": "b2"}}, 1, {"id": {"S": "b2"}}, sequence=str(SEQ_B2)
            ),
        ]
    )


SEQ_B1, SEQ_B2 = 4_100_000_000_000_000_000_001, 4_200_000_000_000_000_000_002


def test_a_failing_sequence_guard_mget_fails_its_records_not_the_batch(
    env: dict[str, str], docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env(env)
    runtime.client = _MgetFails(runtime.client)  # type: ignore[assignment]
    response = process_batch(guarded_and_counted(), LambdaContext(), runtime)
    assert response == {"batchItemFailures": [{"itemIdentifier": str(SEQ_B2)}]}
    assert list(docs(unique_name)) == ["b1"]  # the counted record did not depend on the read


def test_no_sequence_guard_mget_is_started_after_the_deadline(
    env: dict[str, str], docs: Any, unique_name: str
) -> None:
    runtime = Runtime.from_env(env)  # RETRY_DEADLINE_MARGIN_SECONDS=0.5
    failing = _MgetFails(runtime.client)
    runtime.client = failing  # type: ignore[assignment]
    response = process_batch(guarded_and_counted(), LambdaContext(seconds=0.6), runtime)
    assert failing.calls == 0
    assert response == {"batchItemFailures": [{"itemIdentifier": str(SEQ_B1)}]}  # nothing was sent
    assert docs(unique_name) == {}


class _TimedMget:
    """The indexer's client, recording each ``_mget``'s request timeout; every mget costs ``seconds`` of the
    injected clock (a slow node), so the Lambda's remaining time shrinks between the guard's requests."""

    def __init__(self, client: Any, clock: list[float], seconds: float) -> None:
        self._client, self._clock, self._seconds = client, clock, seconds
        self.timeouts: list[float | None] = []

    def mget(self, *args: Any, **kwargs: Any) -> Any:
        self.timeouts.append((kwargs.get("params") or {}).get("request_timeout"))
        answer = self._client.mget(*args, **kwargs)
        self._clock[0] += self._seconds
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_each_sequence_guard_mget_gets_what_is_left_and_none_starts_without_time(
    env: dict[str, str], docs: Any, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight records without a counter, read two ids per ``_mget`` (MGET_BATCH lowered to make four requests
    of 1,000 ids cheap), each costing 10 s of a 30 s invocation (margin 0.5 s): the timeouts are
    min(REQUEST_TIMEOUT_SECONDS, what is left) = 20, 19.5, 9.5, and the fourth request, with no time left,
    is never sent; the records are reported (retryable) instead of the invocation timing out."""
    monkeypatch.setattr(sequence_guard, "MGET_BATCH", 2)
    runtime = Runtime.from_env({**env, "VERSION_ATTRIBUTE": "none", "REQUEST_TIMEOUT_SECONDS": "20"})
    now = [0.0]
    timed = _TimedMget(runtime.client, now, seconds=10.0)
    runtime.client = timed  # type: ignore[assignment]
    event = lambda_event(
        [stream_records.record("INSERT", {"id": {"S": f"b{n}"}}, n, {"id": {"S": f"b{n}"}}) for n in range(8)]
    )

    response = process_batch(event, LambdaContext(seconds=30, clock=lambda: now[0]), runtime)

    assert timed.timeouts == [20.0, 19.5, 9.5]
    assert response == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]
    }
    assert docs(unique_name) == {}
