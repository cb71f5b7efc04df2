"""The API under fuzzing, as the fixtures hand it to the tests (a module of its own: test modules cannot
import ``conftest`` reliably when several test folders each have one), and the SigV4 signing every request
to it needs: the document requires AWS_IAM on every operation, as dev and prod deploy it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from books_local.api_credentials import ApiCredentials
from books_local.sigv4 import sign


class SigV4(requests.auth.AuthBase):
    """Signs a prepared requests request for execute-api with the consumer key the fixtures issued."""

    def __init__(self, credentials: ApiCredentials) -> None:
        self.credentials = credentials

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        headers = sign(
            str(request.method),
            str(request.url),
            body,
            dict(request.headers),
            access_key=self.credentials.access_key_id,
            secret_key=self.credentials.secret_access_key,
            region=self.credentials.region,
        )
        request.headers.update(headers)
        return request


@dataclass(frozen=True)
class FuzzTarget:
    url: str
    document: dict[str, Any]
    table: str
    dynamodb: Any
    auth: SigV4
