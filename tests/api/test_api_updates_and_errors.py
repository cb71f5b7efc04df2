"""What consumers rely on: optimistic concurrency on PUT, error messages that name the offending field, and
parameters read from where the document declares them (through the local gateway, DynamoDB on moto)."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from api_http_client import Api


def create(api: Api, **book: Any) -> str:
    reply = api.call("POST", "/books", {"title": "t", "author": "a", **book})
    assert reply.status == 201, reply.body
    return str(reply.json()["id"])


def error(reply: Any, status: int) -> dict[str, str]:
    assert reply.status == status, reply.body
    return dict(reply.json()["error"])


JSON = {"Content-Type": "application/json"}


def test_get_answers_the_version_as_etag_and_put_with_that_if_match_replaces_it(api: Api) -> None:
    book_id = create(api)
    etag = api.call("GET", f"/books/{book_id}").headers["ETag"]

    replaced = api.call("PUT", f"/books/{book_id}", {"title": "n", "author": "a"}, JSON | {"If-Match": etag})

    assert etag == '"1"'
    assert replaced.status == 200, replaced.body
    assert replaced.json()["version"] == 2
    assert replaced.headers["ETag"] == '"2"'


def test_a_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    book_id = create(api, title="kept")
    assert api.call("PUT", f"/books/{book_id}", {"title": "second", "author": "a"}).status == 200

    reply = api.call("PUT", f"/books/{book_id}", {"title": "lost", "author": "a"}, JSON | {"If-Match": '"1"'})

    assert error(reply, 412)["code"] == "PRECONDITION_FAILED"
    assert reply.headers["ETag"] == '"2"'
    assert api.call("GET", f"/books/{book_id}").json()["title"] == "second"


def test_a_stale_body_version_is_409_and_a_current_one_replaces(api: Api) -> None:
    book_id = create(api)

    stale = api.call("PUT", f"/books/{book_id}", {"title": "x", "author": "a", "version": 7})
    current = api.call("PUT", f"/books/{book_id}", {"title": "y", "author": "a", "version": 1})

    assert error(stale, 409) == {"code": "VERSION_CONFLICT", "message": error(stale, 409)["message"]}
    assert "version" in error(stale, 409)["message"]
    assert (current.status, current.json()["version"], current.json()["title"]) == (200, 2, "y")


def test_concurrent_writers_with_the_same_version_one_wins(api: Api) -> None:
    """Both read version 1; the second write's condition fails instead of silently overwriting the first."""
    book_id = create(api)
    first = api.call("PUT", f"/books/{book_id}", {"title": "A", "author": "a"}, JSON | {"If-Match": '"1"'})
    second = api.call("PUT", f"/books/{book_id}", {"title": "B", "author": "a"}, JSON | {"If-Match": '"1"'})

    assert (first.status, second.status) == (200, 412)
    assert api.call("GET", f"/books/{book_id}").json()["title"] == "A"


def test_if_match_star_and_a_missing_book(api: Api) -> None:
    book_id = create(api)

    assert (
        api.call("PUT", f"/books/{book_id}", {"title": "s", "author": "a"}, JSON | {"If-Match": "*"}).status
        == 200
    )
    missing = api.call(
        "PUT", "/books/no-such-book", {"title": "s", "author": "a"}, JSON | {"If-Match": '"1"'}
    )
    assert error(missing, 404)["code"] == "NOT_FOUND"


@pytest.mark.parametrize("value", ["abc", '"1", abc', '*, "1"', '"unterminated', "W/1", '"1" "2"'])
def test_if_match_that_is_no_list_of_entity_tags_is_400_naming_the_header(api: Api, value: str) -> None:
    book_id = create(api)

    reply = api.call("PUT", f"/books/{book_id}", {"title": "s", "author": "a"}, JSON | {"If-Match": value})

    assert error(reply, 400)["message"].startswith("If-Match ")
    assert api.call("GET", f"/books/{book_id}").json()["version"] == 1


# RFC 9110, section 13.1.1 (https://www.rfc-editor.org/rfc/rfc9110#section-13.1.1): "If the field value is a
# list of entity tags, the condition is true if any of the listed tags match the entity tag of the selected
# representation"; "An origin server MUST use the strong comparison function when comparing entity tags for
# If-Match", under which weak tags never match (section 8.8.3.2); "An origin server that evaluates an If-Match
# condition MUST NOT perform the requested method if the condition evaluates to false", answering 412.
@pytest.mark.parametrize(
    "value",
    ['"7", "1"', '"1", "2", "3"', ' W/"9" ,"1" ', '"x,y", "1"', '"0","1"'],
)
def test_if_match_with_a_list_holding_the_current_etag_replaces_the_book(api: Api, value: str) -> None:
    book_id = create(api)

    reply = api.call("PUT", f"/books/{book_id}", {"title": "s", "author": "a"}, JSON | {"If-Match": value})

    assert reply.status == 200, reply.body
    assert reply.headers["ETag"] == '"2"'


@pytest.mark.parametrize(
    "value", ['W/"1"', 'W/"1", W/"2"', '"2", "3"', '"0"', '"-1"', '"1.5"', '"01"', '"abc"', '""']
)
def test_if_match_naming_no_current_strong_etag_is_412_and_changes_nothing(api: Api, value: str) -> None:
    """Weak tags never match under strong comparison; tags this API never issues match nothing."""
    book_id = create(api)

    reply = api.call("PUT", f"/books/{book_id}", {"title": "s", "author": "a"}, JSON | {"If-Match": value})

    assert error(reply, 412)["code"] == "PRECONDITION_FAILED"
    assert reply.headers["ETag"] == '"1"'
    assert api.call("GET", f"/books/{book_id}").json()["version"] == 1


def test_if_match_on_a_missing_book_is_404_whatever_it_lists(api: Api) -> None:
    """RFC 9110, section 13.2.1: preconditions are ignored when the answer would not be 2xx or 412."""
    for value in ('"1", "2"', 'W/"1"'):
        reply = api.call(
            "PUT", "/books/no-such-book", {"title": "s", "author": "a"}, JSON | {"If-Match": value}
        )
        assert error(reply, 404)["code"] == "NOT_FOUND"


def test_post_does_not_take_a_version(api: Api) -> None:
    assert error(api.call("POST", "/books", {"title": "t", "author": "a", "version": 5}), 400)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("nextToken=abc", "nextToken"),
        ("limit=5&nextToken=!", "nextToken"),
    ],
)
def test_each_invalid_list_parameter_is_named_in_the_message(api: Api, query: str, field: str) -> None:
    assert error(api.call("GET", f"/books?{query}"), 400)["message"].startswith(f"{field} ")


def test_list_reads_its_parameters_from_the_query_string_never_from_headers(api: Api) -> None:
    """$input.params('limit') falls back to a header named limit (search order path, query string, header:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html)."""
    reply = api.call("GET", "/books", headers={"limit": "0", "nextToken": "!"})

    assert reply.status == 200, reply.body


def test_an_oversized_id_is_named_in_the_message(api: Api) -> None:
    reply = api.call("GET", "/books/" + urllib.parse.quote("x" * 2049))

    assert error(reply, 400) == {
        "code": "BAD_REQUEST",
        "message": "id must be at most 2048 bytes of UTF-8 (the DynamoDB partition key limit).",
    }
