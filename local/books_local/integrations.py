"""The backends of the local gateway's integrations: ``aws`` integrations to DynamoDB (``...:dynamodb:action/
<Action>``, JSON protocol, SigV4-signed with the integration role's credentials when given, else the
process's own) and to OpenSearch (``...:<domain>.es:path/<path>``, plain HTTP to the local OpenSearch,
unsigned), and ``mock`` integrations (the request template's ``statusCode``).

DynamoDB's size limits that moto skips are checked first (:mod:`books_local.dynamodb_limits`). moto does not
isolate concurrent transactions, so the API's own TransactWriteItems are sent one at a time
(:mod:`books_local.moto_transactions` isolates them inside the local stack's moto as well).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from books_local import dynamodb_limits
from books_local.gateway_errors import GatewayError

__all__ = ["INTEGRATION_TIMEOUT_SECONDS", "Integrations"]

LOG = logging.getLogger("books_local.apigateway")
INTEGRATION_TIMEOUT_SECONDS = 29.0
_DYNAMODB_URI = re.compile(r"^arn:aws[a-z-]*:apigateway:([a-z0-9-]+):dynamodb:action/([A-Za-z]+)$")
_OPENSEARCH_URI = re.compile(r"^arn:aws[a-z-]*:apigateway:([a-z0-9-]+):(?:[^:]+\.)?es:path/(.+)$")


class Integrations:
    """Calls an operation's ``x-amazon-apigateway-integration`` with a rendered request body."""

    def __init__(
        self,
        *,
        dynamodb_endpoint: str,
        opensearch_url: str,
        integration_credentials: Mapping[str, Credentials] | None = None,
    ) -> None:
        self.dynamodb_endpoint = dynamodb_endpoint.rstrip("/")
        self.opensearch_url = opensearch_url.rstrip("/")
        self.integration_credentials: Mapping[str, Credentials] = integration_credentials or {}
        self._key_schemas: dict[str, dict[str, str]] = {}
        self._credentials = botocore.session.get_session().get_credentials()
        self._transactions = threading.Lock()

    def call(self, integration: Mapping[str, Any], body: str) -> tuple[int, str]:
        uri = integration.get("uri", "")
        kind = integration.get("type", "").lower()
        if kind == "mock":
            return _mock_status(body), ""
        if kind != "aws":
            raise GatewayError("API_CONFIGURATION_ERROR", "Internal server error")
        if match := _DYNAMODB_URI.match(uri):
            credentials = self.integration_credentials.get(str(integration.get("credentials", "")))
            return self.call_dynamodb(match.group(1), match.group(2), body, credentials)
        if match := _OPENSEARCH_URI.match(uri):
            method = integration.get("httpMethod", "POST").upper()
            url = f"{self.opensearch_url}/{match.group(2)}"
            return _http(method, url, _utf8(body), {"Content-Type": "application/json"})
        raise GatewayError("API_CONFIGURATION_ERROR", "Internal server error")

    def call_dynamodb(
        self, region: str, action: str, body: str, credentials: Credentials | None = None
    ) -> tuple[int, str]:
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if isinstance(request, dict):
            message = dynamodb_limits.violation(action, request, lambda name: self._key_schema(region, name))
            if message is not None:
                return dynamodb_limits.validation_error(message)
        if action == "TransactWriteItems":
            with self._transactions:
                return self._dynamodb_request(region, action, body, credentials)
        return self._dynamodb_request(region, action, body, credentials)

    def _key_schema(self, region: str, table: str) -> dict[str, str]:
        """The table's key attributes (name -> HASH/RANGE), asked of DynamoDB once per table."""
        if table not in self._key_schemas:
            status, answer = self._dynamodb_request(region, "DescribeTable", json.dumps({"TableName": table}))
            if status != 200:
                return {}
            schema = json.loads(answer)["Table"]["KeySchema"]
            self._key_schemas[table] = {key["AttributeName"]: key["KeyType"] for key in schema}
        return self._key_schemas[table]

    def _dynamodb_request(
        self, region: str, action: str, body: str, credentials: Credentials | None = None
    ) -> tuple[int, str]:
        headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{action}",
        }
        request = AWSRequest(
            method="POST", url=f"{self.dynamodb_endpoint}/", data=_utf8(body), headers=headers
        )
        signing = credentials or (self._credentials.get_frozen_credentials() if self._credentials else None)
        if signing is not None:
            SigV4Auth(signing, "dynamodb", region).add_auth(request)
        return _http("POST", request.url, request.body, dict(request.headers.items()))


def _mock_status(request_body: str) -> int:
    """A mock integration's status: the ``statusCode`` its request template wrote, else 200 ("Set up mock
    integrations in API Gateway",
    https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-mock-integration.html)."""
    try:
        status = json.loads(request_body or "{}").get("statusCode", 200)
    except (ValueError, AttributeError):
        raise GatewayError("API_CONFIGURATION_ERROR", "Internal server error") from None
    return int(status)


def _utf8(text: str) -> bytes:
    """UTF-8 as Java writes it: a lone surrogate (valid in a JSON string escape) becomes "?"."""
    return text.encode("utf-8", errors="replace")


def _http(method: str, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body or None, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=INTEGRATION_TIMEOUT_SECONDS) as answer:
            return answer.status, answer.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", errors="replace")
    except TimeoutError as exc:
        raise GatewayError("INTEGRATION_TIMEOUT") from exc
    except OSError as exc:
        LOG.warning("integration %s %s failed: %s", method, url, exc)
        raise GatewayError("INTEGRATION_FAILURE") from exc
