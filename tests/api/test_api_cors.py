"""The api module's opt-in CORS, over HTTP through the local gateway.

"Enabling CORS for a REST API resource"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html): a resource answers the
OPTIONS preflight "with at least the following response headers mandated by the Fetch standard:
Access-Control-Allow-Methods, Access-Control-Allow-Headers, Access-Control-Allow-Origin" (a mock integration
does), and "each of the actual CORS-enabled methods must also return the Access-Control-Allow-Origin [...]
header", "set to the origins allowed to access the resource". The Fetch standard sends preflights without
credentials (https://fetch.spec.whatwg.org/#cors-preflight-fetch), so OPTIONS carries no authorization while
every other method keeps AWS_IAM.
"""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from api_http_client import Api, Reply
from test_api_conformance import operations

from books_local.api_credentials import ApiCredentials
from books_local.api_server import make_server
from books_local.openapi_document import render_openapi_document

ORIGIN = "https://books.example"
STRANGER = "https://evil.example"


@pytest.fixture(scope="module")
def cors_document(api_names: dict[str, str]) -> dict[str, Any]:
    return render_openapi_document(authorization="AWS_IAM", cors={"allow_origins": [ORIGIN]}, **api_names)


@pytest.fixture(scope="module")
def cors_api(
    cors_document: dict[str, Any],
    books_table: str,
    dynamodb: Any,
    moto_endpoint: str,
    consumer: ApiCredentials,
    api_names: dict[str, str],
) -> Iterator[Api]:
    server = make_server(
        cors_document,
        moto_endpoint,
        "http://unused",
        credentials=consumer.secrets,
        identities=consumer.identities,
    )
    server.start()
    try:
        yield Api(server.url, books_table, api_names["opensearch_index"], dynamodb, consumer)
    finally:
        server.close()


def preflight(api: Api, path: str, origin: str, method: str = "PUT") -> Reply:
    request = urllib.request.Request(
        api.url + path,
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,if-match,x-amz-date",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return Reply(answer.status, answer.read(), dict(answer.headers))


def test_a_preflight_from_a_configured_origin_lists_the_paths_methods_and_headers(cors_api: Api) -> None:
    reply = preflight(cors_api, f"/books/{uuid.uuid4()}", ORIGIN)

    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert reply.headers["Access-Control-Allow-Methods"] == "DELETE, GET, PUT, OPTIONS"
    allowed = {name.strip().lower() for name in reply.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key", "x-amz-date"} <= allowed
    assert reply.headers["Access-Control-Max-Age"] == "600"
    assert reply.headers["Vary"] == "Origin"


def test_a_preflight_from_another_origin_gets_no_cors_headers(cors_api: Api) -> None:
    reply = preflight(cors_api, "/books", STRANGER, "POST")

    assert reply.status == 204
    assert not any(name.lower().startswith("access-control-") for name in reply.headers)


def test_answers_name_a_configured_origin_and_no_other(cors_api: Api) -> None:
    created = cors_api.call(
        "POST",
        "/books",
        {"title": "t", "author": "a"},
        {"Content-Type": "application/json", "Origin": ORIGIN},
    )
    book_id = created.json()["id"]

    mine = cors_api.call("GET", f"/books/{book_id}", headers={"Origin": ORIGIN})
    theirs = cors_api.call("GET", f"/books/{book_id}", headers={"Origin": STRANGER})
    missing = cors_api.call("GET", f"/books/{uuid.uuid4()}", headers={"Origin": ORIGIN})

    assert created.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert (mine.status, mine.headers["Access-Control-Allow-Origin"]) == (200, ORIGIN)
    assert "ETag" in mine.headers["Access-Control-Expose-Headers"]
    assert theirs.status == 200
    assert "Access-Control-Allow-Origin" not in theirs.headers
    assert (missing.status, missing.headers["Access-Control-Allow-Origin"]) == (404, ORIGIN)


def test_api_gateways_own_errors_name_a_single_configured_origin(cors_api: Api) -> None:
    """Gateway responses are no VTL: a static header, so only with one origin (the module's README)."""
    unsigned = cors_api.call("GET", "/books", headers={"Origin": ORIGIN}, sign=False)

    assert unsigned.status == 403
    assert unsigned.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_with_cors_only_the_preflights_are_unauthenticated(cors_document: dict[str, Any]) -> None:
    secured = {
        f"{method.upper()} {path}": operation.get("security")
        for path, method, operation in operations(cors_document)
    }

    assert {name for name, security in secured.items() if not security} == {
        "OPTIONS /books",
        "OPTIONS /books/{id}",
        "OPTIONS /search",
    }
    assert all(
        security == [{"sigv4": []}] for name, security in secured.items() if not name.startswith("OPTIONS")
    )


def test_several_origins_are_checked_in_the_templates_and_never_named_statically(
    api_names: dict[str, str],
) -> None:
    document = render_openapi_document(
        authorization="AWS_IAM", cors={"allow_origins": [ORIGIN, "http://localhost:3000"]}, **api_names
    )

    template = document["paths"]["/books"]["get"]["x-amazon-apigateway-integration"]["responses"]["default"]
    text = template["responseTemplates"]["application/json"]
    assert f'$corsOrigin == "{ORIGIN}"' in text
    assert '$corsOrigin == "http://localhost:3000"' in text
    for response in document["x-amazon-apigateway-gateway-responses"].values():
        assert "responseParameters" not in response


def test_without_cors_there_is_no_preflight_and_no_cors_header(api: Api) -> None:
    """CORS is off by default: OPTIONS is an undeclared method (403 Missing Authentication Token)."""
    reply = api.call("GET", "/books?limit=1", headers={"Origin": ORIGIN})
    options = api.call("OPTIONS", "/books", headers={"Origin": ORIGIN}, sign=False)

    assert reply.status == 200
    assert not any(name.lower().startswith("access-control-") for name in reply.headers)
    assert options.status == 403
