"""POST /books' transaction against DynamoDB's documented rules where moto is kinder or silent.

"TransactWriteItems" (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html):
up to 100 actions, "no two actions can target the same item", "The aggregate size of the items in the
transaction cannot exceed 4 MB"; a cancelled transaction lists a reason per action, in order, with the codes
None, ConditionalCheckFailed, ItemCollectionSizeLimitExceeded, TransactionConflict ("Transaction is ongoing
for the item"), ProvisionedThroughputExceeded, ThrottlingError and ValidationError, and the item when
ReturnValuesOnConditionCheckFailure is ALL_OLD. moto serialises every call, so it never answers
TransactionConflict, and it does not enforce the 4 MB aggregate: those rules are checked here on the rendered
requests and on AWS-shaped answers.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from test_api_mapping_templates import dynamodb_call

from books_local import dynamodb_limits, vtl

CANCELLED = "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024


def post_integration(document: dict[str, Any]) -> dict[str, Any]:
    return document["paths"]["/books"]["post"]["x-amazon-apigateway-integration"]


def context(key: str | None = None) -> tuple[vtl.JavaMap, vtl.Params]:
    ctx = vtl.new_context(
        request_id=str(uuid.uuid4()),
        extended_request_id="Fvd3sG5FoAMFbWQ=",
        request_time_epoch=1_700_000_000_000,
        http_method="POST",
        resource_path="/books",
        path="/v1/books",
    )
    ctx["identity"]["userArn"] = "arn:aws:iam::123456789012:user/reader"
    params: vtl.Params = {"header": {"Idempotency-Key": key} if key is not None else {}}
    return ctx, params


def render_request(document: dict[str, Any], body: dict[str, Any], key: str | None) -> dict[str, Any]:
    ctx, params = context(key)
    template = post_integration(document)["requestTemplates"]["application/json"]
    return json.loads(vtl.render(template, body=json.dumps(body), params=params, context=ctx).text)


def render_error(document: dict[str, Any], answer: dict[str, Any], key: str = "k-1") -> tuple[int, Any]:
    ctx, params = context(key)
    response = post_integration(document)["responses"]["4\\d{2}"]
    rendered = vtl.render(
        response["responseTemplates"]["application/json"], body=json.dumps(answer), params=params, context=ctx
    )
    return rendered.status_override or int(response["statusCode"]), json.loads(rendered.text)


def cancelled(*codes: str, item: dict[str, Any] | None = None) -> dict[str, Any]:
    """A TransactionCanceledException as DynamoDB's JSON protocol answers it (TransactWriteItems, Errors)."""
    reasons = [
        {"Code": code} | ({"Item": item} if item and code == "ConditionalCheckFailed" else {})
        for code in codes
    ]
    return {
        "__type": CANCELLED,
        "CancellationReasons": reasons,
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
        f"[{', '.join(codes)}]",
    }


def test_a_transaction_conflict_is_a_409_to_retry(openapi_document: dict[str, Any]) -> None:
    """Two retries of one key in flight at once: DynamoDB cancels one with TransactionConflict; the client
    retries with the same key and gets the first result."""
    status, body = render_error(openapi_document, cancelled("None", "TransactionConflict", "None"))

    assert status == 409
    assert body["error"]["code"] == "CONFLICT"
    assert "retry" in body["error"]["message"]


@pytest.mark.parametrize("code", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_throttled_action_is_a_429(openapi_document: dict[str, Any], code: str) -> None:
    status, body = render_error(openapi_document, cancelled(code, "None", "None"))

    assert (status, body["error"]["code"]) == (429, "THROTTLED")


def test_a_replay_answers_the_first_book_from_the_cancelled_actions_old_item(
    openapi_document: dict[str, Any],
) -> None:
    first = {"scope": {"S": "arn:aws:iam::123456789012:user/reader"}, "bookId": {"S": "first-book"}}

    status, body = render_error(
        openapi_document, cancelled("None", "ConditionalCheckFailed", "None", item=first)
    )

    assert (status, body) == (201, {"id": "first-book", "version": 1})


def test_the_largest_create_fits_dynamodbs_item_and_transaction_limits(
    openapi_document: dict[str, Any],
) -> None:
    """Every schema maximum at once, in 4-byte characters, with the longest key: each item stays under 400 KB
    and the transaction under 4 MB ("Constraints in Amazon DynamoDB",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html), which moto does not
    check for transactions."""
    wide = "\U0001f4da"
    schema = openapi_document["components"]["schemas"]["BookInput"]["properties"]
    body = {name: wide * schema[name]["maxLength"] for name in ("title", "author", "description")} | {
        "year": -9999
    }
    request = render_request(openapi_document, body, key="k" * 255)

    items = [action["Put"]["Item"] for action in request["TransactItems"]]
    sizes = [dynamodb_limits.item_size(item) for item in items]
    assert len(items) == 3
    assert max(sizes) <= dynamodb_limits.MAX_ITEM_BYTES, sizes
    assert len(json.dumps(request).encode()) < MAX_TRANSACTION_BYTES


def test_an_invalid_key_sends_a_transaction_dynamodb_refuses_whole(
    openapi_document: dict[str, Any], books_table: str, moto_endpoint: str
) -> None:
    """The template names one item twice, which DynamoDB refuses before writing anything ("no two actions can
    target the same item"); the error template then names the header. Were it accepted, the client would get a
    201 for a book that was never written."""
    request = render_request(openapi_document, {"title": "t", "author": "a"}, key="not a valid key")

    status, answer = dynamodb_call(moto_endpoint, "TransactWriteItems", request)

    assert 400 <= status < 500, answer
    assert answer["__type"].endswith(("ValidationException", "TransactionCanceledException")), answer
    status, body = render_error(openapi_document, answer, key="not a valid key")
    assert status == 400
    assert body["error"]["message"].startswith("Idempotency-Key must be")
