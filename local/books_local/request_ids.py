"""The two request ids API Gateway gives every request of a REST API, as AWS documents them.

"Set up CloudWatch logging for REST APIs in API Gateway"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html):

    $context.requestId logs the value in the x-amzn-RequestId header. Clients can override the value in the
    x-amzn-RequestId header with a value in the format of a universally unique identifier (UUID). API Gateway
    returns this request ID in the x-amzn-RequestId response header. API Gateway replaces overridden request
    IDs that aren't in the format of a UUID with UUID_REPLACED_INVALID_REQUEST_ID in your access logs.
    $context.extendedRequestId is a unique ID that API Gateway generates. API Gateway returns this request ID
    in the x-amz-apigw-id response header. An API caller can't provide or override this request ID.

and the `$context` reference ("Variables for data transformations for API Gateway",
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html):
"$context.requestId: An ID for the request. Clients can override this request ID. Use
$context.extendedRequestId for a unique request ID that API Gateway generates."

So anything derived from ``$context.requestId`` is the client's choice; only ``$context.extendedRequestId``
is the server's. AWS documents the replacement value for access logs; the local gateway uses it as
``$context.requestId`` itself (what the access log prints), the stricter reading.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Mapping

__all__ = ["INVALID_OVERRIDE", "extended_request_id", "request_id"]

INVALID_OVERRIDE = "UUID_REPLACED_INVALID_REQUEST_ID"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def request_id(headers: Mapping[str, str]) -> str:
    """``$context.requestId``: the client's ``x-amzn-RequestId`` when it is a UUID, a replacement marker when
    it is something else, a fresh UUID when the client sent none."""
    sent = [value for name, value in headers.items() if name.lower() == "x-amzn-requestid"]
    if not sent:
        return str(uuid.uuid4())
    value = sent[0].strip()
    return value if _UUID.fullmatch(value) else INVALID_OVERRIDE


def extended_request_id() -> str:
    """``$context.extendedRequestId``: generated here, never taken from the request. Shaped like AWS's (the
    ``x-amz-apigw-id`` header, e.g. ``Fvd3sG5FoAMFbWQ=``): standard base64 of 11 random bytes, so it may
    contain ``+`` and ``/`` as AWS's do."""
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")
