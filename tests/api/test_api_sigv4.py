"""AWS_IAM on the local gateway as on API Gateway: only requests signed (SigV4, service execute-api) with a
key the stack issued reach the integration; anything else is 403 in API Gateway's words, before validation.

- unsigned, or an unknown route or method: 403 "Missing Authentication Token"
  (https://repost.aws/knowledge-center/api-gateway-authentication-token-errors);
- a signature that does not match: 403 "The request signature we calculated does not match the signature you
  provided..." (https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden);
- a request more than five minutes from its X-Amz-Date
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html).
"""

from __future__ import annotations

import copy
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from api_http_client import LOCAL_HOST, Api, signed

from books_local.api_credentials import ApiCredentials
from books_local.apigateway import Gateway
from books_local.openapi_document import render_openapi_document
from books_local.sigv4 import SIGNATURE_MISMATCH


def error_of(reply: object) -> tuple[int, str, str]:
    body = reply.json()  # type: ignore[attr-defined]
    return reply.status, body["error"]["code"], body["error"]["message"]  # type: ignore[attr-defined]


def test_unsigned_is_403_missing_authentication_token_and_signed_is_201(api: Api) -> None:
    before = len(api.stored_items())

    unsigned = api.call("POST", "/books", {"title": "t", "author": "a"}, sign=False)
    signed_reply = api.call("POST", "/books", {"title": "t", "author": "a"})

    assert error_of(unsigned) == (403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    assert signed_reply.status == 201
    assert len(api.stored_items()) == before + 1


@pytest.mark.parametrize(("method", "path"), [("GET", "/books"), ("GET", "/books/x"), ("DELETE", "/books/x")])
def test_every_operation_requires_a_signature(api: Api, method: str, path: str) -> None:
    assert api.call(method, path, sign=False).status == 403


def test_auth_comes_before_validation(api: Api) -> None:
    """An unsigned invalid request is refused as unauthenticated, before it is validated."""
    assert error_of(api.call("GET", "/search", sign=False))[1] == "MISSING_AUTHENTICATION_TOKEN"


def test_a_body_changed_after_signing_is_403_signature_mismatch(api: Api) -> None:
    url = api.url + "/books"
    headers = signed(
        api.credentials, "POST", url, b'{"title": "t", "author": "a"}', {"Content-Type": "application/json"}
    )

    reply = api.call("POST", "/books", b'{"title": "evil", "author": "a"}', headers, sign=False)

    assert error_of(reply) == (403, "INVALID_SIGNATURE", SIGNATURE_MISMATCH)


def test_a_wrong_secret_is_403_signature_mismatch(api: Api) -> None:
    forged = ApiCredentials(api.credentials.access_key_id, "not-the-secret", api.credentials.region)
    headers = signed(forged, "GET", api.url + "/books", None, {})

    assert error_of(api.call("GET", "/books", None, headers, sign=False))[:2] == (403, "INVALID_SIGNATURE")


def test_a_key_the_stack_did_not_issue_is_403(api: Api) -> None:
    stranger = ApiCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1")
    headers = signed(stranger, "GET", api.url + "/books", None, {})

    status, code, message = error_of(api.call("GET", "/books", None, headers, sign=False))
    assert (status, code, message) == (
        403,
        "INVALID_SIGNATURE",
        "The security token included in the request is invalid.",
    )


def test_another_region_or_service_is_403(api: Api) -> None:
    elsewhere = ApiCredentials(api.credentials.access_key_id, api.credentials.secret_access_key, "eu-west-1")
    headers = signed(elsewhere, "GET", api.url + "/books", None, {})

    assert api.call("GET", "/books", None, headers, sign=False).status == 403


def test_a_signature_older_than_five_minutes_is_403(api: Api) -> None:
    headers = signed(api.credentials, "GET", api.url + "/books", None, {})
    stale = (datetime.now(UTC) - timedelta(minutes=6)).strftime("%Y%m%dT%H%M%SZ")
    headers["X-Amz-Date"] = stale  # the signature no longer matches either; the date is checked first

    status, code, message = error_of(api.call("GET", "/books", None, headers, sign=False))
    assert (status, code) == (403, "INVALID_SIGNATURE")
    assert message.startswith("Signature expired")


def test_curl_aws_sigv4_as_the_readme_shows_it(api: Api) -> None:
    """The README's consumer example: curl --aws-sigv4 "aws:amz:<region>:execute-api" --user KEY:SECRET."""
    credentials = api.credentials
    answer = subprocess.run(
        [
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", f"{api.url}/books",
            "--aws-sigv4", f"aws:amz:{credentials.region}:execute-api",
            "--user", f"{credentials.access_key_id}:{credentials.secret_access_key}",
            "-H", "content-type: application/json", "-d", '{"title": "curl", "author": "c"}',
        ],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip

    assert answer.stdout == "201"


def test_root_level_security_is_ignored_like_api_gateway_does(api: Api, moto_endpoint: str) -> None:
    """API Gateway ignores the document root's `security` for REST APIs ("Amazon API Gateway important notes
    for REST APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html):
    a method secured only there is open, and the local gateway says so rather than hiding the defect."""

    document = render_openapi_document(table_name=api.table_name, authorization="AWS_IAM")
    root_only = copy.deepcopy(document)
    root_only["security"] = [{"sigv4": []}]
    for item in root_only["paths"].values():
        for operation in item.values():
            operation.pop("security")
    host = {"Host": LOCAL_HOST}
    open_gateway = Gateway(
        root_only, dynamodb_endpoint=moto_endpoint, opensearch_url="http://unused", host_names=[LOCAL_HOST]
    )
    secured = Gateway(
        document, dynamodb_endpoint=moto_endpoint, opensearch_url="http://unused", host_names=[LOCAL_HOST]
    )

    assert open_gateway.handle("GET", "/books", host).status == 200
    assert secured.handle("GET", "/books", host).status == 403


def test_a_request_for_another_host_never_reaches_the_api(api: Api) -> None:
    """API Gateway picks the API by host name ("Invoke a private API": the Host header, or x-apigw-api-id,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-api-test-invoke-url.html):
    a request correctly signed for, and sent with, another Host is not this API's, and a REST API's host it
    does not serve answers "an HTTP '403 Forbidden' error for REST APIs"
    (https://repost.aws/knowledge-center/api-gateway-disable-endpoint), from API Gateway's front door, not
    in the API's own error shape."""
    before = len(api.stored_items())
    body = b'{"title": "t", "author": "a"}'
    elsewhere = "books.attacker.example"
    headers = signed(
        api.credentials,
        "POST",
        f"http://{elsewhere}/books",
        body,
        {"Host": elsewhere, "Content-Type": "application/json"},
    )

    reply = api.call("POST", "/books", body, headers, sign=False)

    assert (reply.status, reply.json()) == (403, {"message": "Forbidden"})
    assert reply.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert len(api.stored_items()) == before


def test_the_server_answers_for_its_address_and_localhost(api: Api) -> None:
    port = api.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        headers = signed(api.credentials, "GET", f"http://{host}/books?limit=1", None, {"Host": host})
        assert api.call("GET", "/books?limit=1", None, headers, sign=False).status == 200, host
