"""The api module's OpenAPI document as Terraform renders it: valid OpenAPI 3, wired as API Gateway needs."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
from openapi_spec_validator import validate

from books_local import vtl
from books_local.openapi_document import render_openapi_document

MODULE = Path(__file__).resolve().parents[2] / "modules" / "api"
OPERATIONS = [
    ("/books", "post"),
    ("/books", "get"),
    ("/books/{id}", "get"),
    ("/books/{id}", "put"),
    ("/books/{id}", "delete"),
    ("/search", "get"),
]


def test_document_is_valid_openapi_3(openapi_document: dict[str, Any]) -> None:
    validate(openapi_document)
    assert openapi_document["openapi"].startswith("3.")


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_operation_is_a_signed_aws_integration_with_templates_and_error_mappings(
    openapi_document: dict[str, Any], path: str, method: str
) -> None:
    integration = openapi_document["paths"][path][method]["x-amazon-apigateway-integration"]

    assert integration["type"] == "aws"
    assert integration["httpMethod"] == "POST"
    assert integration["passthroughBehavior"] == "never"
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/.+", integration["credentials"])
    assert set(integration["requestTemplates"]) == {"application/json"}
    assert {"default", "4\\d{2}", "5\\d{2}"} <= set(integration["responses"])
    for response in integration["responses"].values():
        assert set(response["responseTemplates"]) == {"application/json"}


def test_writes_validate_bodies_and_everything_validates_parameters(openapi_document: dict[str, Any]) -> None:
    validators = openapi_document["x-amazon-apigateway-request-validators"]
    default = openapi_document["x-amazon-apigateway-request-validator"]
    for path, method in OPERATIONS:
        operation = openapi_document["paths"][path][method]
        validator = validators[operation.get("x-amazon-apigateway-request-validator", default)]
        assert validator["validateRequestParameters"] is True
        assert validator["validateRequestBody"] is (method in ("post", "put"))
    book = openapi_document["components"]["schemas"]["BookInput"]
    assert book["required"] == ["title", "author"]
    assert book["additionalProperties"] is False
    assert all("maxLength" in book["properties"][field] for field in ("title", "author", "description"))


def test_integration_uris_name_the_table_actions_and_the_domain_index(
    openapi_document: dict[str, Any], api_names: dict[str, str]
) -> None:
    uris = {
        (path, method): openapi_document["paths"][path][method]["x-amazon-apigateway-integration"]["uri"]
        for path, method in OPERATIONS
    }
    assert uris[("/books", "post")].endswith(":dynamodb:action/TransactWriteItems")
    assert uris[("/books", "get")].endswith(":dynamodb:action/Scan")
    assert uris[("/books/{id}", "get")].endswith(":dynamodb:action/GetItem")
    assert uris[("/books/{id}", "put")].endswith(":dynamodb:action/UpdateItem")
    assert uris[("/books/{id}", "delete")].endswith(":dynamodb:action/DeleteItem")
    assert uris[("/search", "get")] == (
        f"arn:aws:apigateway:us-east-1:search-books-local.es:path/{api_names['opensearch_index']}/_search"
    )
    templates = json.dumps(openapi_document)
    assert f'\\"TableName\\": \\"{api_names["table_name"]}\\"' in templates


# IAM authorizes each action of a TransactWriteItems as the single-item call it stands for, on that item's
# table ("Using IAM with DynamoDB transactions",
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
TRANSACTION_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def used_permissions(document: dict[str, Any], names: dict[str, str]) -> set[tuple[str, str]]:
    """(IAM action, resource in iam.tf's terms) for every call the document's integrations make; a
    transaction is rendered (with an Idempotency-Key, its widest form) to read its actions and tables."""
    tables = {
        names["table_name"]: "${var.table_arn}",
        names["idempotency_table_name"]: "${aws_dynamodb_table.idempotency.arn}",
    }
    used: set[tuple[str, str]] = set()
    for path, method in OPERATIONS:
        integration = document["paths"][path][method]["x-amazon-apigateway-integration"]
        uri = integration["uri"]
        if uri.endswith(":dynamodb:action/TransactWriteItems"):
            context = vtl.new_context(
                request_id="r",
                request_time_epoch=1_700_000_000_000,
                http_method="POST",
                resource_path=path,
                path=path,
            )
            context["identity"]["userArn"] = "arn:aws:iam::123456789012:user/u"
            rendered = vtl.render(
                integration["requestTemplates"]["application/json"],
                body=json.dumps({"title": "t", "author": "a"}),
                params={"header": {"Idempotency-Key": "k"}},
                context=context,
            )
            for action in json.loads(rendered.text)["TransactItems"]:
                ((kind, call),) = action.items()
                used.add((TRANSACTION_ACTIONS[kind], tables[call["TableName"]]))
        elif ":dynamodb:" in uri:
            used.add(("dynamodb:" + uri.rsplit("/", 1)[1], "${var.table_arn}"))
        else:
            used.add(("es:ESHttpPost", "${var.opensearch_domain_arn}/${var.opensearch_index}/_search"))
    return used


def test_execution_role_allows_exactly_the_actions_the_document_uses(
    openapi_document: dict[str, Any], api_names: dict[str, str]
) -> None:
    with (MODULE / "iam.tf").open() as handle:
        iam = hcl2.load(handle)
    documents = {
        name: body
        for block in iam["data"]
        for kind, named in block.items()
        for name, body in named.items()
        if kind == "aws_iam_policy_document"
    }
    allowed = {
        (action, resource)
        for statement in documents["execution"]["statement"]
        for action in statement["actions"]
        for resource in statement["resources"]
    }

    assert allowed == used_permissions(openapi_document, api_names)


def test_gateway_responses_give_the_error_shape_for_every_4xx_and_5xx(
    openapi_document: dict[str, Any],
) -> None:
    responses = openapi_document["x-amazon-apigateway-gateway-responses"]
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template = responses[response_type]["responseTemplates"]["application/json"]
        rendered = template.replace("$context.error.responseType", "THROTTLED").replace(
            "$context.error.messageString", json.dumps('it\'s "quoted" \\')
        )
        assert json.loads(rendered) == {"error": {"code": "THROTTLED", "message": 'it\'s "quoted" \\'}}


@pytest.mark.parametrize(
    ("authorization", "scheme"),
    [
        (
            "AWS_IAM",
            {
                "sigv4": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "awsSigv4",
                }
            },
        ),
        ("API_KEY", {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}),
    ],
)
def test_authorization_input_sets_the_security_scheme(authorization: str, scheme: dict[str, Any]) -> None:
    document = render_openapi_document(table_name="books", authorization=authorization)

    validate(document)
    assert document["components"]["securitySchemes"] == scheme
    assert "security" not in document  # API Gateway ignores it at the root: test_api_conformance.py
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["security"] == [{name: []} for name in scheme]


def test_module_readme_tables_are_generated_from_the_code() -> None:
    """The Inputs/Outputs tables are what tests/infra/readme_tables.py (shared by all modules) writes."""
    generator = MODULE.parents[1] / "tests" / "infra" / "readme_tables.py"
    spec = importlib.util.spec_from_file_location("readme_tables", generator)
    assert spec is not None
    assert spec.loader is not None
    readme_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(readme_tables)

    assert readme_tables.render(MODULE) == (MODULE / "README.md").read_text(), (
        "stale tables: run .venv/bin/python tests/infra/readme_tables.py modules/api"
    )


def test_integration_uris_use_the_partition_of_the_account() -> None:
    """Integration URIs are ARNs, ``arn:<partition>:apigateway:<region>:...`` (API Gateway's
    x-amazon-apigateway-integration ``uri``; partitions: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html):
    a hard-coded ``arn:aws`` breaks the API in aws-cn and aws-us-gov."""
    document = render_openapi_document(table_name="books", partition="aws-cn", region="cn-north-1")
    operations = [document["paths"][path][method] for path, method in OPERATIONS]
    uris = [operation["x-amazon-apigateway-integration"]["uri"] for operation in operations]
    assert all(uri.startswith("arn:aws-cn:apigateway:cn-north-1:") for uri in uris), uris


def test_the_search_integration_uri_names_the_domain_as_aws_documents_subdomains() -> None:
    """An AWS integration's uri is "arn:aws:apigateway:{region}:{subdomain.service|service}:path|action/
    {service_api}", {subdomain} being "a designated subdomain supported by certain AWS service for fast
    host-name lookup" (API Gateway API reference, Integration.uri:
    https://docs.aws.amazon.com/apigateway/latest/api/API_Integration.html). AWS's worked example for a search
    domain is CloudSearch's: for the search endpoint search-my-test-....us-west-1.cloudsearch.amazonaws.com,
    "For AWS Subdomain, specify" its first label, without the region ("Integrating Amazon CloudSearch with API
    Gateway", https://docs.aws.amazon.com/cloudsearch/latest/developerguide/api-gateway.html). OpenSearch
    endpoints have the same shape, "domain-id.region.es.amazonaws.com", and the service is es ("Making and
    signing OpenSearch Service requests",
    https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-signing-service-requests.html).
    No AWS page shows an OpenSearch domain in this form; the form follows the general rule and that example,
    and the api module refuses a domain endpoint that does not rebuild to this host in the API's region."""
    endpoint = "search-books-abc123.eu-west-1.es.amazonaws.com"
    document = render_openapi_document(
        table_name="books", region="eu-west-1", opensearch_domain_endpoint=endpoint, opensearch_index="books"
    )
    uri = document["paths"]["/search"]["get"]["x-amazon-apigateway-integration"]["uri"]

    match = re.fullmatch(r"arn:aws:apigateway:([a-z0-9-]+):([a-z0-9-]+)\.es:path/(.+)", uri)
    assert match is not None, uri
    region, subdomain, path = match.groups()
    assert f"{subdomain}.{region}.es.amazonaws.com" == endpoint
    assert path == "books/_search"
