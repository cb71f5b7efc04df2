"""Every mapping template of the rendered document, run with the VTL runtime against DynamoDB on moto.

Request templates must turn valid and hostile values into JSON that DynamoDB accepts and stores exactly;
response templates must turn DynamoDB (and OpenSearch) JSON into plain JSON and errors into one shape.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from api_hostile_values import HOSTILE_VALUES, TEN_THOUSAND
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from books_local import vtl

HOSTILE = [*HOSTILE_VALUES.values(), TEN_THOUSAND]
HOSTILE_IDS = [*HOSTILE_VALUES.keys(), "ten_thousand_characters"]


def integration(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return document["paths"][path][method]["x-amazon-apigateway-integration"]


CALLER = "arn:aws:iam::123456789012:user/tester"


def context(method: str = "GET", path: str = "/") -> vtl.JavaMap:
    """$context of a request an AWS_IAM caller signed (its ARN is $context.identity.userArn)."""
    ctx = vtl.new_context(
        request_id=str(uuid.uuid4()),
        extended_request_id=str(uuid.uuid4()),
        request_time_epoch=1_700_000_000_000,
        http_method=method,
        resource_path=path,
        path=path,
    )
    ctx["identity"]["userArn"] = CALLER
    return ctx


def render_request(
    document: dict[str, Any],
    route: str,
    method: str,
    body: Any = None,
    **params: dict[str, str],
) -> tuple[dict[str, Any], vtl.JavaMap]:
    """The request template's output, parsed as JSON (a template that emits invalid JSON fails here)."""
    ctx = context(method.upper())
    template = integration(document, route, method)["requestTemplates"]["application/json"]
    text = vtl.render(
        template, body="" if body is None else json.dumps(body), params=params, context=ctx
    ).text
    return json.loads(text), ctx


def render_response(
    document: dict[str, Any], path: str, method: str, status: int, payload: Any
) -> tuple[int, str]:
    """Selects the integration response for ``status`` as API Gateway does and renders its template."""
    responses = integration(document, path, method)["responses"]
    selected = next(
        (
            r
            for pattern, r in responses.items()
            if pattern != "default" and re.fullmatch(pattern, str(status))
        ),
        responses["default"],
    )
    rendered = vtl.render(
        selected["responseTemplates"]["application/json"], body=json.dumps(payload), context=context()
    )
    return rendered.status_override or int(selected["statusCode"]), rendered.text


def dynamodb_call(endpoint: str, action: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Sends the template's JSON to DynamoDB as API Gateway does, without an SDK re-serializing it."""
    http_request = urllib.request.Request(
        endpoint + "/",
        data=json.dumps(request).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{action}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20200101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(http_request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def plain(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in item.items()}


def dynamo(values: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {key: serializer.serialize(value) for key, value in values.items()}


def error_of(text: str) -> dict[str, str]:
    body = json.loads(text)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    return body["error"]


# --- request templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "k'$#{}/<>&%+=:#set"], ids=["no-key", "hostile-key"])
@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
def test_create_template_stores_hostile_values_exactly(
    openapi_document: dict[str, Any], books_table: str, moto_endpoint: str, value: str, key: str | None
) -> None:
    """The book, and with an Idempotency-Key its guard records, whose requestBody is the book as JSON."""
    book = {"title": value[:512], "author": value[:256], "description": value, "year": 1999}
    headers = {"Idempotency-Key": key + str(uuid.uuid4())} if key else {}
    request, ctx = render_request(openapi_document, "/books", "post", book, header=headers)

    status, answer = dynamodb_call(moto_endpoint, "TransactWriteItems", request)

    assert status == 200, answer
    book_id = ctx["extendedRequestId"]
    status, stored = dynamodb_call(
        moto_endpoint, "GetItem", {"TableName": books_table, "Key": {"id": {"S": book_id}}}
    )
    item = plain(stored["Item"])
    assert {key: item[key] for key in book} == book
    assert item["version"] == 1
    assert item["createdAt"] == item["updatedAt"] == 1_700_000_000_000
    guards = [action["Put"]["Item"] for action in request["TransactItems"][1:]]
    assert len(guards) == (2 if key else 0)
    for guard in guards:
        status, stored = dynamodb_call(
            moto_endpoint,
            "GetItem",
            {"TableName": f"{books_table}-idempotency", "Key": {k: guard[k] for k in ("scope", "entry")}},
        )
        record = plain(stored["Item"])
        assert json.loads(record["requestBody"]) == book
        assert (record["scope"], record["bookId"]) == (CALLER, book_id)
        assert record["entry"].endswith(headers["Idempotency-Key"])
        assert record["expiresAt"] == 1_700_000_000 + 24 * 3600


@settings(max_examples=200, deadline=None)
@given(
    title=st.text(min_size=1, max_size=40),
    description=st.text(max_size=200),
    key=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'), min_size=1),
)
def test_create_template_emits_json_that_decodes_to_any_text(
    openapi_document: dict[str, Any], title: str, description: str, key: str
) -> None:
    book = {"title": title, "author": title, "description": description}

    request, _ = render_request(openapi_document, "/books", "post", book, header={"Idempotency-Key": key})

    book_item, *guards = (action["Put"]["Item"] for action in request["TransactItems"])
    assert {field: book_item[field]["S"] for field in book} == book
    assert [guard["entry"]["S"] for guard in guards] == [f"replay:{key}", f"mismatch:{key}"]
    assert all(json.loads(guard["requestBody"]["S"]) == book for guard in guards)


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
def test_update_template_replaces_a_book_with_hostile_values(
    openapi_document: dict[str, Any], books_table: str, moto_endpoint: str, value: str
) -> None:
    book_id = f"id-{uuid.uuid4()}"
    original = dynamo(
        {"id": book_id, "title": "t", "author": "a", "description": "d", "year": 1, "version": 1}
    )
    assert dynamodb_call(moto_endpoint, "PutItem", {"TableName": books_table, "Item": original})[0] == 200
    replacement = {"title": value[:512], "author": value[:256], "year": 2000}
    request, _ = render_request(openapi_document, "/books/{id}", "put", replacement, path={"id": book_id})

    status, answer = dynamodb_call(moto_endpoint, "UpdateItem", request)

    assert status == 200, answer
    item = plain(answer["Attributes"])
    assert item == replacement | {"id": book_id, "version": 2, "updatedAt": 1_700_000_000_000}


@pytest.mark.parametrize(
    ("fields", "removed"),
    [({"description": "d", "year": 3}, set()), ({"year": 3}, {"description"}), ({}, {"description", "year"})],
)
def test_update_template_removes_optional_attributes_the_body_leaves_out(
    openapi_document: dict[str, Any], books_table: str, moto_endpoint: str, fields: dict, removed: set
) -> None:
    book_id = f"id-{uuid.uuid4()}"
    original = dynamo({"id": book_id, "title": "t", "author": "a", "description": "old", "year": 1})
    assert dynamodb_call(moto_endpoint, "PutItem", {"TableName": books_table, "Item": original})[0] == 200
    request, _ = render_request(
        openapi_document, "/books/{id}", "put", {"title": "T", "author": "A", **fields}, path={"id": book_id}
    )

    status, answer = dynamodb_call(moto_endpoint, "UpdateItem", request)

    assert status == 200, answer
    item = plain(answer["Attributes"])
    assert removed.isdisjoint(item)
    assert {key: item[key] for key in fields} == fields


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
@pytest.mark.parametrize(
    ("path", "method", "action", "expected_status"),
    [
        ("/books/{id}", "get", "GetItem", 200),
        ("/books/{id}", "delete", "DeleteItem", 200),
        ("/books/{id}", "put", "UpdateItem", 400),  # ConditionalCheckFailed: no such book, JSON accepted
    ],
)
def test_key_templates_send_hostile_ids_as_data(
    openapi_document: dict[str, Any],
    books_table: str,
    moto_endpoint: str,
    path: str,
    method: str,
    action: str,
    expected_status: int,
    value: str,
) -> None:
    body = {"title": "t", "author": "a"} if method == "put" else None
    request, _ = render_request(openapi_document, path, method, body, path={"id": value})

    status, answer = dynamodb_call(moto_endpoint, action, request)

    assert request["Key"] == {"id": {"S": value}}
    assert status == expected_status, answer
    if expected_status == 400:
        assert answer["__type"].endswith("ConditionalCheckFailedException")


@pytest.mark.parametrize("value", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_list_template_decodes_tokens_of_hostile_ids_into_start_keys(
    openapi_document: dict[str, Any], books_table: str, moto_endpoint: str, value: str
) -> None:
    token = base64.urlsafe_b64encode(value.encode()).decode()
    request, _ = render_request(openapi_document, "/books", "get", querystring={"nextToken": token})

    status, answer = dynamodb_call(moto_endpoint, "Scan", request)

    assert status == 200, answer
    assert request["ExclusiveStartKey"] == {"id": {"S": value}}


@pytest.mark.parametrize(
    "querystring",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "1e2"},
        {"limit": "5 "},
        {"nextToken": "abcde"},
        {"nextToken": "not base64!"},
        {"nextToken": HOSTILE_VALUES["json_injection"]},
        {"nextToken": base64.urlsafe_b64encode(b"x" * 2049).decode()},  # longer than any partition key
    ],
)
def test_list_template_makes_dynamodb_reject_invalid_page_parameters(
    openapi_document: dict[str, Any], books_table: str, moto_endpoint: str, querystring: dict[str, str]
) -> None:
    request, _ = render_request(openapi_document, "/books", "get", querystring=querystring)

    status, answer = dynamodb_call(moto_endpoint, "Scan", request)

    assert status == 400
    assert answer["__type"].endswith("ValidationException")
    code, text = render_response(openapi_document, "/books", "get", status, answer)
    assert code == 400
    assert error_of(text)["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
def test_search_template_sends_hostile_queries_as_data(openapi_document: dict[str, Any], value: str) -> None:
    value = value[:200]  # q is at most 256 UTF-16 units (test_search_parameters.py)
    request, _ = render_request(openapi_document, "/search", "get", querystring={"q": value})

    query = request["query"]["bool"]["must"]["multi_match"]
    assert query["query"] == value
    assert query["fuzziness"] == ("AUTO:4,8" if len(value.encode("utf-16-le")) // 2 <= 64 else 0)
    assert set(request["highlight"]["fields"]) == {"title", "author", "description"}
    assert request["_source"] == {"excludes": ["indexer_*"]}  # the indexer's own fields never leave


# --- response templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
def test_get_response_turns_dynamodb_json_into_plain_json(
    openapi_document: dict[str, Any], value: str
) -> None:
    book = {"id": value, "title": value, "author": "a", "description": value, "year": -44, "version": 3}
    book |= {"createdAt": 1, "updatedAt": 2}

    status, text = render_response(openapi_document, "/books/{id}", "get", 200, {"Item": dynamo(book)})

    assert status == 200
    assert json.loads(text) == book


def test_get_response_turns_a_missing_item_into_404(openapi_document: dict[str, Any]) -> None:
    status, text = render_response(openapi_document, "/books/{id}", "get", 200, {})

    assert status == 404
    assert error_of(text)["code"] == "NOT_FOUND"


def test_update_response_is_the_plain_book_after_the_write(openapi_document: dict[str, Any]) -> None:
    book = {"id": "x", "title": "t", "author": "a", "version": 2, "createdAt": 1, "updatedAt": 2}

    status, text = render_response(openapi_document, "/books/{id}", "put", 200, {"Attributes": dynamo(book)})

    assert (status, json.loads(text)) == (200, book)


def test_delete_response_is_204_without_body_or_404(openapi_document: dict[str, Any]) -> None:
    deleted = render_response(
        openapi_document, "/books/{id}", "delete", 200, {"Attributes": dynamo({"id": "x"})}
    )
    missing = render_response(openapi_document, "/books/{id}", "delete", 200, {})

    assert deleted == (204, "")
    assert missing[0] == 404
    assert error_of(missing[1])["code"] == "NOT_FOUND"


def test_create_response_answers_201_with_the_new_id(openapi_document: dict[str, Any]) -> None:
    template = integration(openapi_document, "/books", "post")["responses"]["default"]
    ctx = context("POST", path="/v1/books")

    rendered = vtl.render(template["responseTemplates"]["application/json"], body="{}", context=ctx)

    assert template["statusCode"] == "201"
    assert json.loads(rendered.text) == {"id": ctx["extendedRequestId"], "version": 1}
    assert rendered.header_overrides == {"Location": f"/v1/books/{ctx['extendedRequestId']}"}


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
def test_list_response_is_plain_json_with_an_opaque_next_token(
    openapi_document: dict[str, Any], value: str
) -> None:
    books = [{"id": f"{value}{n}", "title": value, "author": "a", "version": 1} for n in range(3)]
    page = {"Items": [dynamo(book) for book in books], "LastEvaluatedKey": dynamo({"id": books[-1]["id"]})}

    status, text = render_response(openapi_document, "/books", "get", 200, page)

    body = json.loads(text)
    assert status == 200
    assert body["items"] == books
    assert base64.urlsafe_b64decode(body["nextToken"]).decode() == books[-1]["id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]*=*", body["nextToken"])


def test_last_list_page_has_no_next_token(openapi_document: dict[str, Any]) -> None:
    status, text = render_response(openapi_document, "/books", "get", 200, {"Items": [], "Count": 0})

    assert (status, json.loads(text)) == (200, {"items": []})


@pytest.mark.parametrize(
    ("path", "method", "error_type", "expected"),
    [
        ("/books", "post", "TransactionCanceledException", (409, "CONFLICT")),
        ("/books/{id}", "put", "ConditionalCheckFailedException", (404, "NOT_FOUND")),
        ("/books/{id}", "get", "ProvisionedThroughputExceededException", (429, "THROTTLED")),
        ("/books", "post", "ThrottlingException", (429, "THROTTLED")),
        ("/books", "get", "ValidationException", (400, "BAD_REQUEST")),
        ("/books/{id}", "delete", "AccessDeniedException", (500, "INTERNAL_ERROR")),
        ("/books/{id}", "delete", "ResourceNotFoundException", (500, "INTERNAL_ERROR")),
    ],
)
def test_dynamodb_errors_become_one_error_shape(
    openapi_document: dict[str, Any], path: str, method: str, error_type: str, expected: tuple[int, str]
) -> None:
    payload = {"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": 'it\'s "bad"'}
    if error_type == "TransactionCanceledException":  # the book's own condition: an id collision
        payload["CancellationReasons"] = [{"Code": "ConditionalCheckFailed"}]

    status, text = render_response(openapi_document, path, method, 400, payload)

    assert (status, error_of(text)["code"]) == expected


@pytest.mark.parametrize(("path", "method"), [("/books", "post"), ("/books/{id}", "get"), ("/search", "get")])
def test_server_errors_become_one_error_shape(
    openapi_document: dict[str, Any], path: str, method: str
) -> None:
    status, text = render_response(openapi_document, path, method, 503, {"message": "down"})

    assert (status, error_of(text)["code"]) == (500, "INTERNAL_ERROR")


def test_search_response_is_plain_hits_with_highlights(openapi_document: dict[str, Any]) -> None:
    hits = [
        {
            "_id": "1",
            "_score": 2.5,
            "_source": {"id": "1", "title": 'It\'s "x"'},
            "highlight": {"title": ["<em>x</em>"]},
        },
        {"_id": "2", "_score": 1.0, "_source": {"id": "2", "title": "y"}},
    ]
    payload = {"took": 1, "hits": {"total": {"value": 2, "relation": "eq"}, "hits": hits}}

    status, text = render_response(openapi_document, "/search", "get", 200, payload)

    assert status == 200
    assert json.loads(text) == {
        "total": 2,
        "items": [
            {"id": "1", "score": 2.5, "book": hits[0]["_source"], "highlight": {"title": ["<em>x</em>"]}},
            {"id": "2", "score": 1.0, "book": hits[1]["_source"]},
        ],
    }


@pytest.mark.parametrize(
    ("status", "expected"), [(404, (200, None)), (429, (429, "THROTTLED")), (403, (500, "INTERNAL_ERROR"))]
)
def test_search_errors(
    openapi_document: dict[str, Any], status: int, expected: tuple[int, str | None]
) -> None:
    payload = {"error": {"type": "some_exception", "reason": "it's"}, "status": status}

    code, text = render_response(openapi_document, "/search", "get", status, payload)

    assert code == expected[0]
    if expected[1] is None:
        assert json.loads(text) == {"items": [], "total": 0}
    else:
        assert error_of(text)["code"] == expected[1]
