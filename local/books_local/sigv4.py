"""Signature Version 4 for ``execute-api``: sign a request as a consumer does, and verify one as API Gateway
does for a method whose authorization is ``AWS_IAM``.

Verification recomputes the signature with botocore's own signer over exactly the headers the request says
it signed ("Create a signed AWS API request",
https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html), with the secret of the access
key the local stack issued. What API Gateway answers when it fails (403, "Missing Authentication Token" for an
unsigned request, "The request signature we calculated does not match the signature you provided..." for a
bad one: "How do I troubleshoot HTTP 403 errors from API Gateway?",
https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden) comes back as :class:`AuthError`,
named by its gateway response type ("Gateway response types for API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).

Not emulated: IAM policy evaluation (every issued key may invoke every method), presigned query strings, and
temporary credentials' session tokens (accepted, not checked).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["SERVICE", "AuthError", "CallerIdentity", "sign", "verify"]

SERVICE = "execute-api"
# A signed request must reach AWS within five minutes of its X-Amz-Date ("Elements of an AWS API request
# signature", https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html).
MAX_CLOCK_SKEW = timedelta(minutes=5)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class CallerIdentity:
    """Who signed a request, as API Gateway puts it in ``$context.identity`` for AWS_IAM methods: the IAM
    principal's ARN (``userArn``), its unique id (``caller``, ``user``) and its account (``accountId``)."""

    user_arn: str
    caller: str
    account_id: str


@dataclass(frozen=True)
class AuthError(Exception):
    """Why API Gateway refuses the request: gateway response type and message (both 403)."""

    response_type: str
    message: str


def sign(
    method: str,
    url: str,
    body: bytes | None,
    headers: Mapping[str, str],
    *,
    access_key: str,
    secret_key: str,
    region: str,
) -> dict[str, str]:
    """``headers`` plus the SigV4 headers (Authorization, X-Amz-Date) for ``execute-api`` in ``region``."""
    request = AWSRequest(method=method.upper(), url=url, data=body or b"", headers=dict(headers))
    SigV4Auth(Credentials(access_key, secret_key), SERVICE, region).add_auth(request)
    return dict(request.headers.items())


class _SignedHeadersOnly(SigV4Auth):
    """botocore's signer restricted to the headers the client listed in SignedHeaders."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str], service: str) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> Mapping[str, str]:  # type: ignore[override]
        chosen = super().headers_to_sign(request)
        present = {name.lower(): value for name, value in request.headers.items()}
        for name in self._signed:  # botocore leaves out a few (user-agent, expect): the client's list rules
            if name not in chosen and name in present:
                chosen[name] = present[name]
        for name in list(chosen.keys()):
            if name not in self._signed:
                del chosen[name]
        return chosen


def _header(headers: Mapping[str, str], name: str) -> str | None:
    values = [value for key, value in headers.items() if key.lower() == name]
    return values[0] if values else None


def verify(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Mapping[str, str],
    region: str,
    now: datetime | None = None,
    service: str = SERVICE,
) -> str:
    """The access key that signed this request; raises :class:`AuthError` when API Gateway would refuse it.
    ``service`` is the one the credential scope must name (``es``: a request to an OpenSearch domain)."""
    authorization = _header(headers, "authorization")
    if authorization is None:
        raise AuthError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    parsed = _AUTHORIZATION.match(authorization.strip())
    if parsed is None:
        raise AuthError(
            "INVALID_SIGNATURE",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters "
            "(AWS4-HMAC-SHA256).",
        )
    access_key, _, scope = parsed["credential"].partition("/")
    scope_parts = scope.split("/")
    amz_date = _header(headers, "x-amz-date")
    if amz_date is None:
        raise AuthError(
            "INVALID_SIGNATURE", "Authorization header requires existence of an 'X-Amz-Date' header."
        )
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AuthError("INVALID_SIGNATURE", "X-Amz-Date must be in the ISO 8601 basic format.") from None
    if len(scope_parts) != 4 or scope_parts[0] != amz_date[:8] or scope_parts[3] != "aws4_request":
        raise AuthError(
            "INVALID_SIGNATURE", "Credential should be scoped to a valid date, region and service."
        )
    if scope_parts[1] != region:
        raise AuthError(
            "INVALID_SIGNATURE", f"Credential should be scoped to a valid region, not '{scope_parts[1]}'."
        )
    if scope_parts[2] != service:
        raise AuthError("INVALID_SIGNATURE", f"Credential should be scoped to correct service: '{service}'.")
    moment = now or datetime.now(UTC)
    if abs(moment - signed_at) > MAX_CLOCK_SKEW:
        raise AuthError(
            "INVALID_SIGNATURE", f"Signature expired: {amz_date} is outside the 5 minutes allowed."
        )
    secret = secrets.get(access_key)
    if secret is None:
        raise AuthError("INVALID_SIGNATURE", "The security token included in the request is invalid.")
    signed = parsed["signed"].split(";")
    if "host" not in signed:
        raise AuthError("INVALID_SIGNATURE", "'Host' must be a signed header.")
    content_hash = _header(headers, "x-amz-content-sha256")
    if content_hash not in (None, hashlib.sha256(body).hexdigest()):
        raise AuthError("INVALID_SIGNATURE", "The provided 'x-amz-content-sha256' header does not match.")

    host = _header(headers, "host") or ""
    request = AWSRequest(
        method=method.upper(), url=f"http://{host}{target}", data=body, headers=dict(headers)
    )
    request.context["timestamp"] = amz_date
    signer = _SignedHeadersOnly(Credentials(access_key, secret), region, signed, service)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, parsed["signature"]):
        raise AuthError("INVALID_SIGNATURE", SIGNATURE_MISMATCH)
    return access_key


def url_path(url: str) -> str:
    """The path and query of ``url``, as the server sees them in the request line."""
    split = urlsplit(url)
    return split.path + (f"?{split.query}" if split.query else "")
