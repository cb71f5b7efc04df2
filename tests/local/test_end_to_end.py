"""The system end to end through its HTTP API, on the stack ``make up`` starts (one per session).

Search is eventually consistent (API → DynamoDB → stream → indexer → OpenSearch), so every search
assertion polls until it holds, within the bound named at the top of this file.
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from books_local import api_credentials, stack
from books_local.api_credentials import ApiCredentials
from books_local.config import StackConfig
from books_local.sequence_numbers import ROOT_SHARD_START, STRIDE, is_aws_shaped
from books_local.sigv4 import sign as signed_headers
from support import index_oracle
from support.index_oracle import Verdict

# A write is searchable within this many seconds (the mapping's batching window plus a poll and a bulk).
SEARCH_BOUND_SECONDS = 15.0
SERVER_FIELDS = {"id", "version", "createdAt", "updatedAt"}


class Api:
    """A consumer of the API: every request is SigV4-signed with the key the stack issued, as on AWS."""

    def __init__(self, url: str, credentials: ApiCredentials) -> None:
        self.url = url
        self.credentials = credentials

    def call(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, *, sign: bool = True
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"content-type": "application/json"} if data is not None else {}
        if sign:
            headers = signed_headers(
                method,
                f"{self.url}{path}",
                data,
                headers,
                access_key=self.credentials.access_key_id,
                secret_key=self.credentials.secret_access_key,
                region=self.credentials.region,
            )
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        return status, json.loads(text) if text.strip() else None

    def search_ids(self, query: str) -> list[str]:
        status, body = self.call("GET", f"/search?q={urllib.request.quote(query)}")
        assert status == 200, body
        return [item["id"] for item in body["items"]]


def word(length: int = 10) -> str:
    """A random lowercase word no other book has (fuzzy matching between two of them is vanishingly rare)."""
    return "".join(random.choices(string.ascii_lowercase, k=length))


def typo(term: str) -> str:
    """``term`` with one letter dropped from its middle: edit distance 1."""
    middle = len(term) // 2
    return term[:middle] + term[middle + 1 :]


def eventually(check: Callable[[], bool], what: str, bound: float = SEARCH_BOUND_SECONDS) -> float:
    """Wait until ``check()`` holds; returns how long it took, fails after ``bound`` seconds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > bound:
            pytest.fail(f"not within {bound} s: {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def assert_error_shape(body: Any) -> None:
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str), body
    assert isinstance(body["error"]["message"], str), body


@pytest.fixture(scope="module")
def api(local_stack: StackConfig) -> Api:
    credentials = api_credentials.load(api_credentials.credentials_file(local_stack.state.path))
    return Api(local_stack.api_url, credentials)


@pytest.fixture(scope="module")
def table_items(local_stack: StackConfig) -> Callable[[], int]:
    recorded = local_stack.state.read_stack()
    endpoint, region = recorded["moto_endpoint"], recorded["region"]
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
    name = recorded["outputs"]["table"]["table_name"]
    return lambda: dynamodb.scan(TableName=name, Select="COUNT")["Count"]


@pytest.fixture(scope="module")
def oracle(local_stack: StackConfig) -> Callable[[], Verdict]:
    """The index judged against the table read directly (``support.index_oracle``), with the projection
    the function is configured with, read from its own environment."""
    recorded = local_stack.state.read_stack()
    session = boto3.session.Session(region_name=recorded["region"])
    dynamodb = session.client("dynamodb", endpoint_url=recorded["moto_endpoint"])
    function = session.client("lambda", endpoint_url=recorded["moto_endpoint"]).get_function_configuration(
        FunctionName=recorded["outputs"]["indexer"]["function_name"]
    )
    variables = function["Environment"]["Variables"]
    assert not variables.get("DOCUMENT_HOOK"), "the oracle knows no hook"
    return lambda: index_oracle.judge_table(
        dynamodb,
        recorded["outputs"]["table"]["table_name"],
        recorded["opensearch_url"],
        variables["OPENSEARCH_INDEX"],
        include=variables.get("INDEX_INCLUDE_ATTRIBUTES", "").split(","),
        exclude=variables.get("INDEX_EXCLUDE_ATTRIBUTES", "").split(","),
    )


@pytest.fixture(scope="module")
def book_schema(local_stack: StackConfig) -> dict[str, Any]:
    """The BookInput schema of the document the API serves (limits are read, not restated)."""
    document = local_stack.state.read_stack()["outputs"]["api"]["openapi_document"]
    document = json.loads(document) if isinstance(document, str) else document
    return document["components"]["schemas"]["BookInput"]


def test_the_local_stack_uses_aws_iam_like_dev_unsigned_is_403_and_signed_is_201(api):
    """live/local deploys the API with AWS_IAM, as live/dev does; the stack issues the consumer's key."""
    book = {"title": f"Signed {word()}", "author": "Ann Onymous"}

    unsigned_status, unsigned_body = api.call("POST", "/books", book, sign=False)
    signed_status, _ = api.call("POST", "/books", book)

    assert (unsigned_status, unsigned_body["error"]["code"]) == (403, "MISSING_AUTHENTICATION_TOKEN")
    assert signed_status == 201


def test_a_book_is_created_read_found_with_a_typo_changed_and_deleted(api):
    title_word, new_word = word(), word()
    book = {
        "title": f"Moonlit {title_word}",
        "author": "Ada Quillon",
        "description": "Maps at night",
        "year": 1999,
    }

    status, created = api.call("POST", "/books", book)
    assert status == 201, created
    book_id = created["id"]
    assert isinstance(book_id, str)
    assert book_id

    status, stored = api.call("GET", f"/books/{book_id}")
    assert status == 200, stored
    assert {name: stored[name] for name in book} == book
    assert stored["id"] == book_id
    assert set(stored) - set(book) <= SERVER_FIELDS

    misspelt = typo(title_word)
    eventually(lambda: book_id in api.search_ids(misspelt), f"{book_id} found by {misspelt!r}")

    changed = {**book, "title": f"Sunlit {new_word}"}
    status, replaced = api.call("PUT", f"/books/{book_id}", changed)
    assert status == 200, replaced
    status, stored = api.call("GET", f"/books/{book_id}")
    assert {name: stored[name] for name in changed} == changed
    eventually(lambda: book_id in api.search_ids(new_word), "the new title is searchable")
    eventually(lambda: book_id not in api.search_ids(title_word), "the old title is no longer found")

    status, body = api.call("DELETE", f"/books/{book_id}")
    assert status == 204, body
    assert body is None
    status, body = api.call("GET", f"/books/{book_id}")
    assert status == 404
    assert_error_shape(body)
    eventually(lambda: book_id not in api.search_ids(new_word), "the deleted book is gone from search")


def test_same_second_updates_of_one_book_end_with_the_last_one_searchable(api, oracle):
    """Many writes to one item within one second share ``ApproximateCreationDateTime`` (whole seconds, per
    the StreamRecord reference); their AWS-shaped sequence numbers alone order them."""
    status, created = api.call("POST", "/books", {"title": f"Burst {word()}", "author": "Quick Hands"})
    assert status == 201, created
    titles = [f"Burst {word()}" for _ in range(8)]
    for title in titles:
        status, body = api.call("PUT", f"/books/{created['id']}", {"title": title, "author": "Quick Hands"})
        assert status == 200, body
    last_word = titles[-1].split()[1]
    eventually(lambda: api.search_ids(last_word) == [created["id"]], "the last title is searchable")
    eventually(lambda: oracle().clean, "the index serves exactly the table")


def _max_length(schema: dict[str, Any], field: str) -> int:
    return int(schema["properties"][field]["maxLength"])


INVALID_BODIES: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "missing title": lambda schema: json.dumps({"author": "Nobody"}).encode(),
    "missing author": lambda schema: json.dumps({"title": "No author"}).encode(),
    "title not a string": lambda schema: json.dumps({"title": 42, "author": "A"}).encode(),
    "year not an integer": lambda schema: json.dumps({"title": "T", "author": "A", "year": "1999"}).encode(),
    "title too long": lambda schema: json.dumps(
        {"title": "x" * (_max_length(schema, "title") + 1), "author": "A"}
    ).encode(),
    "description too long": lambda schema: json.dumps(
        {"title": "T", "author": "A", "description": "d" * (_max_length(schema, "description") + 1)}
    ).encode(),
    "unknown field": lambda schema: json.dumps({"title": "T", "author": "A", "isbn": "1"}).encode(),
    "not JSON": lambda schema: b"{title: 'not json'",
    "a JSON array": lambda schema: b"[]",
}


@pytest.mark.parametrize("case", INVALID_BODIES)
def test_an_invalid_body_is_refused_with_the_error_shape_and_nothing_is_written(
    api, table_items, book_schema, case
):
    before = table_items()
    status, body = api.call("POST", "/books", raw=INVALID_BODIES[case](book_schema))
    assert status == 400, body
    assert_error_shape(body)
    assert table_items() == before


def test_fifty_concurrent_creates_are_all_searchable_and_none_twice(api):
    words = [word() for _ in range(50)]

    def create(unique: str) -> str:
        status, body = api.call("POST", "/books", {"title": f"Crowd {unique}", "author": "Many Hands"})
        assert status == 201, body
        return body["id"]

    with ThreadPoolExecutor(max_workers=50) as pool:
        ids = list(pool.map(create, words))
    assert len(set(ids)) == 50

    def all_found() -> bool:
        return all(api.search_ids(unique) == [book_id] for unique, book_id in zip(words, ids, strict=True))

    eventually(all_found, "each of the 50 books is found once by its own word")


def test_writes_made_while_the_indexer_is_down_are_indexed_when_it_resumes(api, local_stack, oracle):
    """Kill the stream runner (SIGKILL, no chance to finish a batch) in the middle of a burst, keep writing,
    start it again: every create, update and delete ends up in the index."""
    words = {index: word() for index in range(60)}
    ids: dict[int, str] = {}
    killed = threading.Event()

    def write(index: int) -> None:
        status, body = api.call("POST", "/books", {"title": f"Burst {words[index]}", "author": "Writer"})
        assert status == 201, body
        ids[index] = body["id"]

    for index in range(60):
        if index == 20:
            assert stack.stop_indexer(local_stack, hard=True)
            killed.set()
        write(index)
    renamed = {index: word() for index in range(40, 50)}
    for index, unique in renamed.items():
        renamed_book = {"title": f"Renamed {unique}", "author": "Writer"}
        status, body = api.call("PUT", f"/books/{ids[index]}", renamed_book)
        assert status == 200, body
    for index in range(50, 55):
        assert api.call("DELETE", f"/books/{ids[index]}")[0] == 204
    time.sleep(1)
    assert api.search_ids(words[59]) == []  # the indexer really is down: the last create is not indexed

    stack.start_indexer(local_stack)

    def converged() -> bool:
        for index in range(60):
            expected = [] if 50 <= index < 55 or index in renamed else [ids[index]]
            if api.search_ids(words[index]) != expected:
                return False
        return all(api.search_ids(unique) == [ids[index]] for index, unique in renamed.items())

    eventually(converged, "every write made around the indexer's restart is in the index", bound=30)
    verdict = oracle()
    assert verdict.clean, str(verdict)


def test_the_stack_reads_the_stream_in_aws_shaped_sequence_numbers(api, local_stack):
    """``make up`` presents moto's records as AWS numbers them (21 to 40 digits, ~10^20 apart; the DynamoDB
    Streams API reference): the runner's checkpoints hold the last number the function saw."""
    status, created = api.call("POST", "/books", {"title": f"Numbered {word()}", "author": "Counter"})
    assert status == 201, created

    def checkpoints() -> list[str]:
        files = sorted(local_stack.state.checkpoints.rglob("*.json"))
        return [json.loads(path.read_text())["sequence_number"] or "" for path in files]

    eventually(lambda: any(checkpoints()), "a checkpoint")
    for number in filter(None, checkpoints()):
        assert is_aws_shaped(number), number
        assert (int(number) - ROOT_SHARD_START) % STRIDE == 0, f"{number} is moto's, not AWS-shaped"
