"""A book's id is chosen by the server: no header a client sends can pick it.

AWS: "$context.requestId: An ID for the request. Clients can override this request ID. Use
$context.extendedRequestId for a unique request ID that API Gateway generates." ("Variables for data
transformations for API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html), and
"Clients can override the value in the x-amzn-RequestId header with a value in the format of a universally
unique identifier (UUID). API Gateway returns this request ID in the x-amzn-RequestId response header. [...]
$context.extendedRequestId is a unique ID that API Gateway generates. API Gateway returns this request ID in
the x-amz-apigw-id response header. An API caller can't provide or override this request ID." ("Set up
CloudWatch logging for REST APIs in API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).

The local gateway honours the override exactly so (books_local.request_ids); these tests fail on a template
that takes the id from $context.requestId.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from api_http_client import Api

from books_local import request_ids, vtl

JSON = {"Content-Type": "application/json"}


def create(api: Api, headers: dict[str, str]) -> Any:
    return api.call("POST", "/books", {"title": "t", "author": "a"}, JSON | headers)


def test_a_client_chosen_x_amzn_request_id_never_becomes_the_book_id(api: Api) -> None:
    chosen = str(uuid.uuid4())

    first = create(api, {"x-amzn-RequestId": chosen})
    second = create(api, {"X-Amzn-RequestId": chosen})

    # The gateway took the override, as API Gateway does: the response carries the client's id back.
    assert first.headers["x-amzn-RequestId"] == chosen
    assert second.headers["x-amzn-RequestId"] == chosen
    # ... and the books still got the server's ids: two creates, two books, neither named by the client.
    assert (first.status, second.status) == (201, 201), (first.body, second.body)
    ids = {first.json()["id"], second.json()["id"]}
    assert len(ids) == 2
    assert chosen not in ids
    assert api.call("GET", f"/books/{chosen}").status == 404
    assert first.headers["x-amz-apigw-id"] != second.headers["x-amz-apigw-id"]


def test_a_deleted_book_cannot_be_created_again_under_its_id(api: Api) -> None:
    """A re-created id starts again at version 1, under its tombstone's version in the index (2 * 1 + 1), so
    it would never be searchable (artifacts/update_indices/lambda/indexer/versions.py)."""
    chosen = str(uuid.uuid4())
    book_id = create(api, {"x-amzn-RequestId": chosen}).json()["id"]
    assert api.call("DELETE", f"/books/{book_id}").status == 204

    again = create(api, {"x-amzn-RequestId": chosen})
    same_id = create(api, {"x-amzn-RequestId": book_id})

    assert again.status == same_id.status == 201
    assert book_id not in {again.json()["id"], same_id.json()["id"]}
    assert api.call("GET", f"/books/{book_id}").status == 404


def test_an_override_that_is_not_a_uuid_is_replaced_as_aws_documents() -> None:
    """ "API Gateway replaces overridden request IDs that aren't in the format of a UUID with
    UUID_REPLACED_INVALID_REQUEST_ID" (set-up-logging.html)."""
    chosen = str(uuid.uuid4())

    assert request_ids.request_id({"X-AMZN-REQUESTID": chosen}) == chosen
    assert request_ids.request_id({"x-amzn-RequestId": "my-own-id"}) == request_ids.INVALID_OVERRIDE
    assert uuid.UUID(request_ids.request_id({}))
    assert request_ids.extended_request_id() != request_ids.extended_request_id()


@pytest.mark.parametrize("extended", ["ab+/cdEFgh12345=", "++++////++++///="])
def test_ids_from_the_extended_request_id_are_safe_in_a_path(
    openapi_document: dict[str, Any], extended: str
) -> None:
    """AWS's extended request ids are base64 (e.g. "x-amz-apigw-id: Fvd3sG5FoAMFbWQ="), which may hold "+" and
    "/"; the id maps them one to one to "-" and "_" so /books/{id} and Location work unencoded."""
    integration = openapi_document["paths"]["/books"]["post"]["x-amazon-apigateway-integration"]
    context = vtl.new_context(
        request_id=str(uuid.uuid4()),
        extended_request_id=extended,
        request_time_epoch=1_700_000_000_000,
        http_method="POST",
        resource_path="/books",
        path="/v1/books",
    )
    body = json.dumps({"title": "t", "author": "a"})

    request = json.loads(
        vtl.render(integration["requestTemplates"]["application/json"], body=body, context=context).text
    )
    template = integration["responses"]["default"]["responseTemplates"]["application/json"]
    answer = vtl.render(template, body="{}", context=context)

    expected = extended.replace("+", "-").replace("/", "_")
    assert json.dumps(request).count(f'"{expected}"') == 1
    assert json.loads(answer.text)["id"] == expected
    assert answer.header_overrides["Location"] == f"/v1/books/{expected}"
