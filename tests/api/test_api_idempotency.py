"""POST /books with an Idempotency-Key, through the local gateway against DynamoDB on moto.

The semantics follow the IETF draft "The Idempotency-Key HTTP Header Field"
(https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/): a retry with the same key and
payload gets the first result; the same key with another payload is 422 Unprocessable Content; a key still
being processed is 409 Conflict. Keys belong to the caller API Gateway authenticated
($context.identity.userArn, "Variables for data transformations for API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html) and
expire: "Expired items that are pending deletion [...] If they are not filtered, they'll continue to show in
read and write operations until they are deleted by the background process" ("Working with expired items",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ttl-expired-items.html), so the conditions
compare expiresAt with the request's time instead of waiting for TTL, which moto never runs.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from api_http_client import Api, Reply

from books_local.api_credentials import ApiCredentials

JSON = {"Content-Type": "application/json"}
BOOK = {"title": "The Dispossessed", "author": "Ursula K. Le Guin", "description": "Anarres", "year": 1974}


def post(api: Api, key: str | None, body: Any = BOOK, caller: ApiCredentials | None = None) -> Reply:
    headers = JSON | ({"Idempotency-Key": key} if key is not None else {})
    return api.call("POST", "/books", body, headers, as_caller=caller)


def books(api: Api) -> int:
    return len(api.stored_items())


def records(api: Api, key: str) -> list[dict[str, Any]]:
    """The idempotency table's records of ``key`` (any caller)."""
    pages = api.dynamodb.get_paginator("scan").paginate(
        TableName=f"{api.table_name}-idempotency", ConsistentRead=True
    )
    return [item for page in pages for item in page["Items"] if item["entry"]["S"].endswith(f":{key}")]


def error(reply: Reply, status: int) -> dict[str, str]:
    assert reply.status == status, reply.body
    body = reply.json()
    assert set(body) == {"error"}
    return dict(body["error"])


def test_a_retried_create_with_the_same_key_creates_one_book_and_answers_the_first_result(api: Api) -> None:
    key = str(uuid.uuid4())
    before = books(api)

    first = post(api, key)
    retries = [post(api, key) for _ in range(3)]

    assert first.status == 201, first.body
    for retry in retries:
        assert (retry.status, retry.json(), retry.headers["Location"]) == (
            201,
            first.json(),
            first.headers["Location"],
        )
    assert books(api) == before + 1
    assert {item["entry"]["S"] for item in records(api, key)} == {f"replay:{key}", f"mismatch:{key}"}


def test_the_same_fields_in_another_order_or_spacing_are_the_same_request(api: Api) -> None:
    key = f"order-{uuid.uuid4()}"
    first = post(api, key)
    reordered = json.dumps(dict(reversed(list(BOOK.items()))), indent=3).encode()

    again = post(api, f'"{key}"', reordered)  # the draft's sf-string form of the same key

    assert (again.status, again.json()) == (201, first.json())


def test_a_key_reused_with_another_body_is_422_and_creates_nothing(api: Api) -> None:
    key = str(uuid.uuid4())
    first = post(api, key)
    before = books(api)

    changed = post(api, key, BOOK | {"title": "The Left Hand of Darkness"})
    dropped = post(api, key, {key: BOOK[key] for key in ("title", "author")})

    assert first.status == 201
    assert error(changed, 422)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "Idempotency-Key" in error(dropped, 422)["message"]
    assert books(api) == before


def test_without_a_key_every_create_is_a_new_book(api: Api) -> None:
    before = books(api)

    ids = {post(api, None).json()["id"] for _ in range(2)}

    assert len(ids) == 2
    assert books(api) == before + 2


def test_keys_belong_to_their_caller(api: Api, other_consumer: ApiCredentials) -> None:
    """Another IAM user with the same key neither gets this caller's book nor a 422 for its own body."""
    key = str(uuid.uuid4())
    mine = post(api, key)

    theirs_same_body = post(api, key, caller=other_consumer)
    theirs_replayed = post(api, key, caller=other_consumer)

    assert mine.status == theirs_same_body.status == theirs_replayed.status == 201
    assert theirs_same_body.json()["id"] != mine.json()["id"]
    assert theirs_replayed.json() == theirs_same_body.json()
    scopes = {item["scope"]["S"] for item in records(api, key)}
    assert scopes == {api.credentials.user_arn, other_consumer.user_arn}


def test_a_retry_after_the_book_was_deleted_answers_the_first_result_and_recreates_nothing(api: Api) -> None:
    """A re-created id would start at version 1 again, below its tombstone in the index: never searchable."""
    key = str(uuid.uuid4())
    book_id = post(api, key).json()["id"]
    assert api.call("DELETE", f"/books/{book_id}").status == 204

    retry = post(api, key)

    assert (retry.status, retry.json()["id"]) == (201, book_id)
    assert api.call("GET", f"/books/{book_id}").status == 404


def test_an_expired_key_is_a_new_create(api: Api) -> None:
    """TTL deletes expired items late ("typically within a few days"); until then they are still read, so the
    conditions must treat expiresAt in the past as absent (ttl-expired-items.html)."""
    key = str(uuid.uuid4())
    first = post(api, key).json()["id"]
    for item in records(api, key):  # both guard records, as if their hours had passed and TTL had not run
        api.dynamodb.update_item(
            TableName=f"{api.table_name}-idempotency",
            Key={"scope": item["scope"], "entry": item["entry"]},
            UpdateExpression="SET expiresAt = :past",
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
        )

    again = post(api, key, BOOK | {"title": "A new book under an expired key"})

    assert again.status == 201, again.body
    assert again.json()["id"] != first
    assert all(int(item["expiresAt"]["N"]) > time.time() for item in records(api, key))


@pytest.mark.parametrize("key", ['""', "x" * 256, 'a"b', "a\\b", "tab\there", "ünïcode"], ids=repr)
def test_an_invalid_key_is_400_naming_the_header_and_writes_nothing(api: Api, key: str) -> None:
    before = books(api)

    reply = post(api, key)

    assert error(reply, 400)["message"].startswith("Idempotency-Key must be")
    assert books(api) == before


def test_keys_of_255_visible_characters_are_accepted(api: Api) -> None:
    key = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')
    key = (key * 3)[:255]

    assert post(api, key).status == post(api, key).status == 201
    assert len(records(api, key)) == 2


def test_concurrent_creates_with_one_key_make_one_book(api: Api) -> None:
    """Retries racing each other: one book; every answer is its id or a 409 to retry (DynamoDB cancels a
    transaction that conflicts with another in flight: TransactionConflict, which moto never reports)."""
    key = str(uuid.uuid4())
    before = books(api)

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: post(api, key), range(16)))

    assert books(api) == before + 1
    created = {reply.json()["id"] for reply in replies if reply.status == 201}
    assert len(created) == 1
    assert all(reply.status in (201, 409) for reply in replies)


def test_get_books_lists_books_only(api: Api) -> None:
    """The records live in their own table: the books table (which the indexer indexes and GET /books
    scans) holds nothing but books."""
    post(api, str(uuid.uuid4()))

    stored = api.stored_items()
    listed: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = api.call("GET", "/books?limit=100" + (f"&nextToken={token}" if token else "")).json()
        listed.extend(page["items"])
        token = page.get("nextToken")
        if token is None:
            break

    assert all({"id", "title", "author", "version"} <= set(item) for item in stored)
    assert len(listed) == len(stored)
