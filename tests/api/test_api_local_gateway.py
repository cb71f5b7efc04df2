"""The books API over HTTP through the local gateway, against DynamoDB on moto and the OpenSearch fixture."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
from api_hostile_values import HOSTILE_VALUES, TEN_THOUSAND
from api_http_client import LOCAL_HOST, Api, signed_for_gateway

from books_local.apigateway import Gateway, GatewayError
from books_local.openapi_document import render_openapi_document


def assert_error(reply: Any, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    assert reply.json() == {"error": {"code": code, "message": reply.json()["error"]["message"]}}
    assert isinstance(reply.json()["error"]["message"], str)


def create(api: Api, **book: Any) -> str:
    reply = api.call("POST", "/books", {"title": "t", "author": "a", **book})
    assert reply.status == 201, reply.body
    return reply.json()["id"]


@pytest.mark.parametrize(
    "value", [*HOSTILE_VALUES.values(), TEN_THOUSAND], ids=[*HOSTILE_VALUES.keys(), "ten_thousand_characters"]
)
def test_hostile_values_round_trip_byte_for_byte(api: Api, value: str) -> None:
    book = {"title": value[:512], "author": value[:256], "description": value, "year": 1999}

    created = api.call("POST", "/books", book)
    fetched = api.call("GET", f"/books/{created.json()['id']}")

    assert created.status == 201
    assert created.headers["Location"] == f"/books/{created.json()['id']}"
    assert fetched.status == 200
    answer = fetched.json()
    for field in book:
        assert (
            json.dumps(answer[field], ensure_ascii=False).encode()
            == json.dumps(book[field], ensure_ascii=False).encode()
        )
    assert answer["id"] == created.json()["id"]
    assert answer["version"] == 1


def test_a_lone_surrogate_is_answered_not_dropped(api: Api) -> None:
    reply = api.call("POST", "/books", b'{"title": "\\ud800", "author": "a"}')

    assert reply.status in (201, 400)


def test_get_of_an_unknown_id_is_404(api: Api) -> None:
    assert_error(api.call("GET", f"/books/{uuid.uuid4()}"), 404, "NOT_FOUND")


@pytest.mark.parametrize("value", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_hostile_ids_in_the_path_are_404_not_errors(api: Api, value: str) -> None:
    path = "/books/" + urllib.parse.quote(value, safe="")

    assert_error(api.call("GET", path), 404, "NOT_FOUND")
    assert_error(api.call("PUT", path, {"title": "t", "author": "a"}), 404, "NOT_FOUND")
    assert_error(api.call("DELETE", path), 404, "NOT_FOUND")


def test_put_replaces_an_existing_book_and_counts_the_version(api: Api) -> None:
    book_id = create(api, title="Old", description="gone after PUT", year=1)

    replaced = api.call("PUT", f"/books/{book_id}", {"title": "New", "author": "B"})

    assert replaced.status == 200
    assert api.call("GET", f"/books/{book_id}").json() == replaced.json()
    assert {key: replaced.json()[key] for key in ("id", "title", "author", "version")} == {
        "id": book_id,
        "title": "New",
        "author": "B",
        "version": 2,
    }
    assert "description" not in replaced.json()
    assert "year" not in replaced.json()


def test_put_on_a_missing_book_is_404_and_creates_nothing(api: Api) -> None:
    book_id = str(uuid.uuid4())

    assert_error(api.call("PUT", f"/books/{book_id}", {"title": "t", "author": "a"}), 404, "NOT_FOUND")
    assert_error(api.call("GET", f"/books/{book_id}"), 404, "NOT_FOUND")


def test_delete_is_204_then_404(api: Api) -> None:
    book_id = create(api)

    first = api.call("DELETE", f"/books/{book_id}")
    second = api.call("DELETE", f"/books/{book_id}")

    assert (first.status, first.body) == (204, b"")
    assert_error(second, 404, "NOT_FOUND")
    assert_error(api.call("GET", f"/books/{book_id}"), 404, "NOT_FOUND")


def test_pagination_returns_every_book_exactly_once(api: Api) -> None:
    created = {create(api, title=f"page {n}") for n in range(25)}
    seen: list[str] = []
    token: str | None = None
    pages = 0

    while True:
        query = {"limit": "7"} | ({"nextToken": token} if token else {})
        reply = api.call("GET", "/books?" + urllib.parse.urlencode(query))
        assert reply.status == 200, reply.body
        assert len(reply.json()["items"]) <= 7
        seen.extend(book["id"] for book in reply.json()["items"])
        token = reply.json().get("nextToken")
        pages += 1
        if token is None:
            break

    assert len(seen) == len(set(seen))
    assert created <= set(seen)
    assert len(seen) == len(api.stored_items())
    assert pages >= 4


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1000", "limit=x", "nextToken=%22%7D", "nextToken=abc", "limit=5&nextToken=!"]
)
def test_invalid_page_parameters_are_400(api: Api, query: str) -> None:
    assert_error(api.call("GET", f"/books?{query}"), 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"author": "no title"}, None),
        ({"title": "no author"}, None),
        ({"title": "", "author": "a"}, None),
        ({"title": "x" * 513, "author": "a"}, None),
        ({"title": "t", "author": "a" * 257}, None),
        ({"title": "t", "author": "a", "description": "d" * 20_001}, None),
        ({"title": 5, "author": "a"}, None),
        ({"title": "t", "author": ["a"]}, None),
        ({"title": "t", "author": "a", "year": "1999"}, None),
        ({"title": "t", "author": "a", "year": 1999.5}, None),
        ({"title": "t", "author": "a", "isAdmin": True}, None),
        (["title", "author"], None),
        (b'{"title": "t", "author": ', None),
        (b"not json at all", None),
        (b"", None),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_invalid_bodies_are_400_and_write_nothing(api: Api, body: Any, headers: Any) -> None:
    before = len(api.stored_items())

    reply = api.call("POST", "/books", body, headers)

    assert_error(reply, 400, "BAD_REQUEST_BODY")
    assert len(api.stored_items()) == before


def test_invalid_put_bodies_are_400_and_change_nothing(api: Api) -> None:
    book_id = create(api, title="Kept")

    reply = api.call("PUT", f"/books/{book_id}", {"title": "Changed"})

    assert_error(reply, 400, "BAD_REQUEST_BODY")
    assert api.call("GET", f"/books/{book_id}").json()["title"] == "Kept"


def test_other_media_types_are_415(api: Api) -> None:
    reply = api.call(
        "POST", "/books", b"title=t&author=a", {"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert_error(reply, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_unknown_routes_and_methods_are_403_like_api_gateway(api: Api) -> None:
    assert_error(api.call("GET", "/nothing-here"), 403, "MISSING_AUTHENTICATION_TOKEN")
    assert_error(api.call("PATCH", "/books"), 403, "MISSING_AUTHENTICATION_TOKEN")


def test_search_without_q_is_400(api: Api) -> None:
    assert_error(api.call("GET", "/search"), 400, "BAD_REQUEST_PARAMETERS")


def test_search_finds_a_book_despite_a_typo_with_highlights(api: Api, opensearch_url: str) -> None:
    documents = {
        "s1": {
            "id": "s1",
            "title": "The Hobbit",
            "author": "J. R. R. Tolkien",
            "description": "There and back",
        },
        "s2": {"id": "s2", "title": "Dune", "author": "Frank Herbert", "description": "Spice and sand"},
    }
    for doc_id, document in documents.items():
        request = urllib.request.Request(
            f"{opensearch_url}/{api.index}/_doc/{doc_id}?refresh=true",
            data=json.dumps(document).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=30).close()

    reply = api.call("GET", "/search?q=" + urllib.parse.quote("hobit"))

    assert reply.status == 200, reply.body
    items = {item["id"]: item for item in reply.json()["items"]}
    assert "s1" in items
    assert "s2" not in items
    assert items["s1"]["book"] == documents["s1"]
    assert any(
        "<em>" in fragment for fragments in items["s1"]["highlight"].values() for fragment in fragments
    )


def test_search_with_hostile_query_answers_plain_json(api: Api) -> None:
    for value in HOSTILE_VALUES.values():
        reply = api.call("GET", "/search?q=" + urllib.parse.quote(value))
        assert reply.status == 200, (value, reply.body)
        assert isinstance(reply.json()["items"], list)


def test_every_error_answer_has_the_same_shape(api: Api, openapi_document: dict[str, Any]) -> None:
    gateway = Gateway(openapi_document, dynamodb_endpoint="http://unused", opensearch_url="http://unused")
    for response_type, status in [
        ("THROTTLED", 429),
        ("ACCESS_DENIED", 403),
        ("API_CONFIGURATION_ERROR", 500),
    ]:
        reply = gateway.gateway_response(GatewayError(response_type, 'say "no" \\ here'))
        assert reply.status == status
        assert reply.json() == {"error": {"code": response_type, "message": 'say "no" \\ here'}}


def test_an_integration_status_the_method_does_not_declare_is_500(
    api: Api, openapi_document: dict[str, Any], moto_endpoint: str
) -> None:
    """API Gateway answers "Output mapping refers to an invalid method response" as a 500 (issue 10)."""
    broken = json.loads(json.dumps(openapi_document))
    del broken["paths"]["/books"]["get"]["responses"]["400"]
    gateway = Gateway(
        broken,
        dynamodb_endpoint=moto_endpoint,
        opensearch_url="http://unused",
        credentials=api.credentials.secrets,
        host_names=[LOCAL_HOST],
    )

    reply = gateway.handle(
        "GET", "/books?limit=0", signed_for_gateway(api.credentials, "GET", "/books?limit=0")
    )

    assert reply.status == 500
    assert reply.json()["error"]["code"] == "API_CONFIGURATION_ERROR"
    assert api.call("GET", "/books?limit=0").status == 400  # the declared document answers 400


def test_undeclared_methods_are_403_like_api_gateway_not_an_html_501(api: Api) -> None:
    """Unknown resources and methods of a REST API: 403 "Missing Authentication Token"
    (https://repost.aws/knowledge-center/api-gateway-authentication-token-errors)."""
    for method in ("TRACE", "CONNECT", "PROPFIND"):
        reply = api.call(method, "/books")
        assert_error(reply, 403, "MISSING_AUTHENTICATION_TOKEN")
        assert reply.json()["error"]["message"] == "Missing Authentication Token"


@pytest.mark.parametrize("query", ["q=", "q=%20%20", "q"])
def test_a_blank_required_parameter_is_400(api: Api, query: str) -> None:
    """Request validation: required parameters must be "included and not blank"
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html)."""
    assert_error(api.call("GET", f"/search?{query}"), 400, "BAD_REQUEST_PARAMETERS")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_id_over_dynamodbs_2048_byte_partition_key_limit_is_400(api: Api, method: str) -> None:
    """ "Constraints in Amazon DynamoDB": a partition key value is at most 2048 bytes; moto takes longer ones
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html)."""
    too_long = "é" * 1025  # 2050 bytes of UTF-8, 1025 characters
    body = {"title": "t", "author": "a"} if method == "PUT" else None

    reply = api.call(method, f"/books/{urllib.parse.quote(too_long)}", body)

    assert_error(reply, 400, "BAD_REQUEST")
    assert "id" in reply.json()["error"]["message"]
    assert api.call(method, "/books/" + "a" * 2048, body).status == 404  # 2048 bytes: a valid, missing key


def test_an_item_over_dynamodbs_400_kb_limit_is_400_and_not_stored(
    api: Api, moto_endpoint: str, books_table: str
) -> None:
    """ "Constraints in Amazon DynamoDB": an item is at most 400 KB; moto stores bigger ones. The API's schema
    keeps books far below it, so a document with a looser schema shows the gateway answers as DynamoDB."""
    loose = render_openapi_document(
        table_name=books_table, authorization="AWS_IAM", limits={"description_max_length": 500_000}
    )
    gateway = Gateway(
        loose,
        dynamodb_endpoint=moto_endpoint,
        opensearch_url="http://unused",
        credentials=api.credentials.secrets,
        host_names=[LOCAL_HOST],
    )
    before = len(api.stored_items())
    body = json.dumps({"title": "t", "author": "a", "description": "d" * (400 * 1024)}).encode()
    headers = signed_for_gateway(
        api.credentials, "POST", "/books", body, {"Content-Type": "application/json"}
    )

    reply = gateway.handle("POST", "/books", headers, body)

    assert_error(reply, 400, "BAD_REQUEST")
    assert len(api.stored_items()) == before
