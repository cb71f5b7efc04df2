"""AWS rules the rendered OpenAPI document must follow that no emulator enforces (moto imports anything).

Each rule quotes or cites the AWS documentation it encodes. Each check is a function over a document, so it is
also run against a document that breaks the rule: a check that cannot fail proves nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest

from books_local.apigateway import HTTP_METHODS
from books_local.openapi_document import render_openapi_document

# "Amazon API Gateway important notes for REST APIs": API Gateway does not support the root-level `security`
# of an OpenAPI document; security must be defined on each operation, or the method deploys with no
# authorization. https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html
KNOWN_ISSUES = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html"
# An integration response may only select a status the method declares as a method response, else the call
# fails with "Output mapping refers to an invalid method response" (a 500). "Set up an integration response":
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-integration-settings-integration-response.html
INTEGRATION_RESPONSE = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
    "api-gateway-integration-settings-integration-response.html"
)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def operations_without_security(document: dict[str, Any], scheme: str) -> list[str]:
    """Operations that would deploy without ``scheme``: root-level security does not count (KNOWN_ISSUES)."""
    return [
        f"{method.upper()} {path}"
        for path, method, operation in operations(document)
        if {scheme: []} not in operation.get("security", [])
    ]


def undeclared_integration_statuses(document: dict[str, Any]) -> list[str]:
    """Integration responses whose statusCode is not a declared response of their operation."""
    return [
        f"{method.upper()} {path}: {pattern!r} -> {response['statusCode']}"
        for path, method, operation in operations(document)
        for pattern, response in operation["x-amazon-apigateway-integration"]["responses"].items()
        if str(response["statusCode"]) not in operation["responses"]
    ]


@pytest.fixture(scope="module")
def iam_document() -> dict[str, Any]:
    return render_openapi_document(table_name="books", authorization="AWS_IAM")


def test_every_operation_requires_sigv4_itself_not_through_the_root(iam_document: dict[str, Any]) -> None:
    """Root-level security is ignored by API Gateway for REST APIs (KNOWN_ISSUES)."""
    assert operations_without_security(iam_document, "sigv4") == []
    assert "security" not in iam_document, "root-level security is ignored by API Gateway: it only misleads"


def test_a_document_with_security_only_at_the_root_fails_the_security_check(
    iam_document: dict[str, Any],
) -> None:
    root_only = copy.deepcopy(iam_document)
    root_only["security"] = [{"sigv4": []}]
    for _, _, operation in operations(root_only):
        operation.pop("security", None)

    assert len(operations_without_security(root_only, "sigv4")) == 6


def test_api_key_authorization_is_also_set_per_operation() -> None:
    document = render_openapi_document(table_name="books", authorization="API_KEY")

    assert operations_without_security(document, "api_key") == []


def test_every_integration_status_is_a_declared_method_response(iam_document: dict[str, Any]) -> None:
    """Selecting an undeclared status is a 500 at run time (INTEGRATION_RESPONSE)."""
    assert undeclared_integration_statuses(iam_document) == []


def test_the_status_check_finds_an_undeclared_400(iam_document: dict[str, Any]) -> None:
    """The defect issue 10 found: GET /books/{id} mapped DynamoDB 4xx to 400 without declaring 400."""
    broken = copy.deepcopy(iam_document)
    del broken["paths"]["/books/{id}"]["get"]["responses"]["400"]

    assert undeclared_integration_statuses(broken) == ["GET /books/{id}: '4\\\\d{2}' -> 400"]


def test_the_integration_role_trusts_api_gateway_without_undocumented_condition_keys() -> None:
    """API Gateway does not supply aws:SourceAccount (nor aws:SourceArn) when it assumes an integration role:
    AWS documents neither for apigateway.amazonaws.com, and with one the role cannot be assumed ("API Gateway
    does not have permission to assume the provided role", a 500 on every route). IAM ignores nothing here:
    an absent key makes a StringEquals condition false."""
    with (Path(__file__).resolve().parents[2] / "modules" / "api" / "iam.tf").open() as handle:
        iam = hcl2.load(handle)
    assume = next(
        body
        for block in iam["data"]
        for kind, named in block.items()
        for name, body in named.items()
        if kind == "aws_iam_policy_document" and name == "assume"
    )

    for statement in assume["statement"]:
        assert statement["principals"][0]["identifiers"] == ["apigateway.amazonaws.com"]
        assert "condition" not in statement, statement.get("condition")


def overridden_statuses(document: dict[str, Any]) -> list[str]:
    """Statuses a response template sets through $context.responseOverride.status that its operation does not
    declare: the document must tell consumers (and schemathesis) every status the API answers."""
    pattern = re.compile(r"responseOverride\.status = (\d{3})")
    return [
        f"{method.upper()} {path}: {status}"
        for path, method, operation in operations(document)
        for response in operation["x-amazon-apigateway-integration"]["responses"].values()
        for template in response.get("responseTemplates", {}).values()
        for status in pattern.findall(template)
        if status not in operation["responses"]
    ]


def test_every_status_a_template_answers_is_declared(iam_document: dict[str, Any]) -> None:
    assert overridden_statuses(iam_document) == []
    broken = copy.deepcopy(iam_document)
    del broken["paths"]["/books/{id}"]["put"]["responses"]["412"]
    assert overridden_statuses(broken) == ["PUT /books/{id}: 412"]
