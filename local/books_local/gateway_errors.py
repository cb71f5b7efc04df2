"""The errors API Gateway answers itself (gateway responses), shared by the gateway and its integrations.

Types and default statuses: "Gateway response types for API Gateway"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
"""

from __future__ import annotations

from books_local import sigv4

__all__ = ["GATEWAY_RESPONSES", "GatewayError"]

# API Gateway's gateway response types used here: default status and message.
GATEWAY_RESPONSES: dict[str, tuple[int, str]] = {
    "ACCESS_DENIED": (403, "Forbidden"),
    "THROTTLED": (429, "Too Many Requests"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "INVALID_SIGNATURE": (403, sigv4.SIGNATURE_MISMATCH),
    "BAD_REQUEST_PARAMETERS": (400, "Missing required request parameters"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error"),
    "INTEGRATION_FAILURE": (504, "Internal server error"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
}


class GatewayError(Exception):
    """An error API Gateway answers itself, by gateway response type."""

    def __init__(self, response_type: str, message: str | None = None, validation: str = "") -> None:
        super().__init__(message or GATEWAY_RESPONSES[response_type][1])
        self.response_type = response_type
        self.message = message or GATEWAY_RESPONSES[response_type][1]
        self.validation = validation
