"""HTTP client for the api tests: calls the local gateway, signed with SigV4 as an AWS_IAM consumer does, and
reads the table behind it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from books_local.api_credentials import ApiCredentials
from books_local.sigv4 import sign

LOCAL_HOST = "gateway.local"


def signed(
    credentials: ApiCredentials, method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> dict[str, str]:
    """``headers`` with the SigV4 headers for execute-api."""
    return sign(
        method,
        url,
        body,
        headers,
        access_key=credentials.access_key_id,
        secret_key=credentials.secret_access_key,
        region=credentials.region,
    )


def signed_for_gateway(
    credentials: ApiCredentials,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """Headers (Host included) for calling ``Gateway.handle`` directly with a signed request."""
    headers = {"Host": LOCAL_HOST, **(headers or {})}
    return signed(credentials, method, f"http://{LOCAL_HOST}{target}", body, headers)


@dataclass(frozen=True)
class Api:
    """The local gateway under test, the consumer key it accepts, and the table and index behind it."""

    url: str
    table_name: str
    index: str
    dynamodb: Any
    credentials: ApiCredentials

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        sign: bool = True,
        as_caller: ApiCredentials | None = None,
    ) -> Reply:
        """One request, signed with the consumer's key (or ``as_caller``'s: another IAM user the gateway
        accepts) unless ``sign`` is false."""
        data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        headers = dict(headers or {"Content-Type": "application/json"})
        if sign:
            headers = signed(as_caller or self.credentials, method, self.url + path, data, headers)
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return Reply(answer.status, answer.read(), dict(answer.headers))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read(), dict(error.headers))

    def stored_items(self) -> list[dict[str, Any]]:
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=self.table_name, ConsistentRead=True)
        return [item for page in pages for item in page["Items"]]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)
