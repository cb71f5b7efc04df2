"""A small local API Gateway: serves the api module's rendered OpenAPI document over HTTP on localhost.

Per request, as API Gateway does for a REST API with AWS integrations: match the route; validate parameters
and body with the method's request validator and the document's schemas; render the request template
(:mod:`books_local.vtl`); call DynamoDB (``...:dynamodb:action/<Action>``, SigV4-signed JSON protocol)
or OpenSearch (``...:<domain>.es:path/<path>``, plain HTTP to ``opensearch_url``); select the integration
response whose selectionPattern matches the status (else ``default``); render its template, honouring
``$context.responseOverride``; answer. Errors the gateway raises itself go through the document's
``x-amazon-apigateway-gateway-responses``.

Host names: API Gateway routes by host name, so a request whose ``Host`` is not one of this API's names never
reaches it (403 ``Forbidden``, before routing and authorization, in API Gateway's own words rather than the
API's gateway responses). Request ids follow :mod:`books_local.request_ids`: ``$context.requestId`` may be
the client's ``x-amzn-RequestId``, ``$context.extendedRequestId`` never is.

Authorization: an operation whose own ``security`` names a SigV4 scheme (``AWS_IAM``) accepts only requests
signed for ``execute-api`` with a key the local stack issued (:mod:`books_local.sigv4`), and puts the
signer's identity in ``$context.identity``; root-level security is ignored, as API Gateway ignores it.
Integrations (:mod:`books_local.integrations`): ``aws`` (DynamoDB, signed with the credentials given for
the integration's role, else the process's own; OpenSearch, unsigned) and ``mock`` (the request template's
``statusCode`` selects the integration response). Differences from AWS: no evaluation of the caller's IAM
policy, no API keys, usage plans or throttling.

Serving it over HTTP is :mod:`books_local.api_server`; rendering the document with Terraform is
:mod:`books_local.openapi_document`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.credentials import Credentials
from jsonschema import Draft4Validator

from books_local import request_ids, sigv4, vtl
from books_local.gateway_errors import GATEWAY_RESPONSES, GatewayError
from books_local.integrations import Integrations

__all__ = ["HTTP_METHODS", "Gateway", "GatewayError", "Response"]

LOG = logging.getLogger(__name__)
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

MAX_BODY_BYTES = 10 * 1024 * 1024
_CONTEXT_REFERENCE = re.compile(r"\$context\.([A-Za-z]+(?:\.[A-Za-z]+)*)")


@dataclass(frozen=True)
class Response:
    """What the gateway answers: status, headers and body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class _Route:
    template: str
    pattern: re.Pattern[str]
    literal_length: int
    methods: Mapping[str, Any]
    parameters: list[Mapping[str, Any]]


def _compile_route(template: str, item: Mapping[str, Any]) -> _Route:
    regex = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("+}"):
            regex += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    methods = {name: operation for name, operation in item.items() if name in HTTP_METHODS}
    literal = len(re.sub(r"\{[^}]+\}", "", template))
    return _Route(template, re.compile(f"^{regex}/?$"), literal, methods, list(item.get("parameters", [])))


class Gateway:
    """The request pipeline for one OpenAPI document, without HTTP: the server (and tests) call handle()."""

    def __init__(
        self,
        openapi: Mapping[str, Any] | str,
        *,
        dynamodb_endpoint: str,
        opensearch_url: str,
        stage: str = "local",
        region: str | None = None,
        credentials: Mapping[str, str] | None = None,
        identities: Mapping[str, sigv4.CallerIdentity] | None = None,
        host_names: Iterable[str] = (),
        integration_credentials: Mapping[str, Credentials] | None = None,
    ) -> None:
        """``credentials`` maps the access keys the local stack issued to their secrets: the only keys whose
        SigV4 signatures AWS_IAM operations accept; ``identities`` says whose they are
        (``$context.identity``).
        ``host_names`` are the ``Host`` values (``name`` or ``name:port``) this API answers for; a server
        adds its own address (:class:`books_local.api_server.LocalApiServer`). ``integration_credentials``
        maps an integration's role ARN (its ``credentials``) to the keys its DynamoDB calls are signed with,
        as API Gateway signs them with the role's session."""
        self.credentials: Mapping[str, str] = credentials or {}
        self.identities: Mapping[str, sigv4.CallerIdentity] = identities or {}
        self.host_names: set[str] = {name.lower() for name in host_names}
        self.document: Mapping[str, Any] = json.loads(openapi) if isinstance(openapi, str) else openapi
        self.integrations = Integrations(
            dynamodb_endpoint=dynamodb_endpoint,
            opensearch_url=opensearch_url,
            integration_credentials=integration_credentials,
        )
        self.stage = stage
        self.region = (
            region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        )
        self._routes = sorted(
            (_compile_route(path, item) for path, item in self.document.get("paths", {}).items()),
            key=lambda route: -route.literal_length,
        )
        self._validators: dict[str, Draft4Validator] = {}

    # --- pipeline ------------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes = b"") -> Response:
        """Answers one HTTP request (``target`` is the path with its query string)."""
        split = urlsplit(target)
        path = unquote(split.path) or "/"
        host = next((value.strip() for name, value in headers.items() if name.lower() == "host"), "")
        if host.lower() not in self.host_names:
            return _forbidden_host()
        context = vtl.new_context(
            request_id=request_ids.request_id(headers),
            extended_request_id=request_ids.extended_request_id(),
            domain_name=re.sub(r":\d+$", "", host),
            request_time_epoch=int(time.time() * 1000),
            http_method=method.upper(),
            resource_path=path,
            path=path,
            stage=self.stage,
            source_ip=headers.get("X-Forwarded-For", "127.0.0.1"),
            user_agent=headers.get("User-Agent", ""),
            api_key=headers.get("x-api-key"),
        )
        try:
            if len(body) > MAX_BODY_BYTES:
                raise GatewayError("REQUEST_TOO_LARGE")
            route, path_params = self._route(split.path)
            operation = route.methods.get(method.lower())
            if operation is None:
                raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
            context["resourcePath"] = route.template
            if self._requires_sigv4(operation):
                try:
                    access_key = sigv4.verify(
                        method, target, headers, body, secrets=self.credentials, region=self.region
                    )
                except sigv4.AuthError as error:
                    raise GatewayError(error.response_type, error.message) from None
                identity = context["identity"]
                identity["accessKey"] = access_key
                known = self.identities.get(access_key)
                if known is not None:
                    identity.update(
                        userArn=known.user_arn,
                        caller=known.caller,
                        user=known.caller,
                        accountId=known.account_id,
                    )
            params: vtl.Params = {
                "path": path_params,
                "querystring": dict(parse_qsl(split.query, keep_blank_values=True)),
                "header": dict(headers),
            }
            return self._invoke(route, operation, params, body.decode("utf-8", errors="replace"), context)
        except GatewayError as error:
            return self.gateway_response(error, context)
        except Exception:  # a bug here must still answer, as API Gateway would, with a 5xx
            LOG.exception("local gateway failed on %s %s", method, target)
            return self.gateway_response(GatewayError("API_CONFIGURATION_ERROR"), context)

    def _requires_sigv4(self, operation: Mapping[str, Any]) -> bool:
        """Whether the operation's own ``security`` names a SigV4 scheme. The document's root-level
        ``security`` is ignored, as API Gateway ignores it for REST APIs ("Amazon API Gateway important notes
        for REST APIs": https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html)."""
        schemes = (self.document.get("components") or {}).get("securitySchemes") or {}
        return any(
            (schemes.get(name) or {}).get("x-amazon-apigateway-authtype") == "awsSigv4"
            for requirement in operation.get("security") or []
            for name in requirement
        )

    def _route(self, raw_path: str) -> tuple[_Route, dict[str, str]]:
        for route in self._routes:
            match = route.pattern.match(raw_path)
            if match:
                return route, {name: unquote(value) for name, value in match.groupdict().items()}
        raise GatewayError("MISSING_AUTHENTICATION_TOKEN")

    def _invoke(
        self,
        route: _Route,
        operation: Mapping[str, Any],
        params: vtl.Params,
        body: str,
        context: vtl.JavaMap,
    ) -> Response:
        integration = operation.get("x-amazon-apigateway-integration")
        if not integration:
            raise GatewayError("API_CONFIGURATION_ERROR")
        content_type = _media_type(params["header"], default="application/json")
        self._validate(route, operation, params, body, content_type)

        templates = integration.get("requestTemplates") or {}
        if content_type in templates:
            request_body = self._render(templates[content_type], body, params, context).text
        elif integration.get("passthroughBehavior", "when_no_match").lower() == "never":
            raise GatewayError("UNSUPPORTED_MEDIA_TYPE")
        else:
            request_body = body

        status, response_body = self.integrations.call(integration, request_body)
        if integration.get("type", "").lower() == "mock":
            response_body = ""
        LOG.debug("%s %s -> integration %s", context["httpMethod"], route.template, status)
        selected = _select_response(integration.get("responses") or {}, status)
        if selected is None:
            raise GatewayError("API_CONFIGURATION_ERROR", "Internal server error")
        response_templates = selected.get("responseTemplates") or {}
        template = response_templates.get("application/json") or next(iter(response_templates.values()), None)
        rendered = (
            self._render(template, response_body, params, context)
            if template is not None
            else vtl.Rendered(text=response_body)
        )
        declared = str(selected.get("statusCode", 200))
        if declared not in (operation.get("responses") or {}):
            # API Gateway: "Output mapping refers to an invalid method response", a 500 to the client.
            LOG.warning("integration response %s is not a method response of %s", declared, route.template)
            raise GatewayError("API_CONFIGURATION_ERROR", "Internal server error")
        status_code = rendered.status_override or int(declared)
        headers = {"Content-Type": "application/json"}
        for name, value in (selected.get("responseParameters") or {}).items():
            if name.startswith("method.response.header.") and value.startswith("'"):
                headers[name.removeprefix("method.response.header.")] = value.strip("'")
        headers |= rendered.header_overrides
        headers["x-amzn-RequestId"] = context["requestId"]
        headers["x-amz-apigw-id"] = context["extendedRequestId"]
        payload = b"" if status_code in (204, 304) else rendered.text.encode()
        return Response(status_code, headers, payload)

    def _render(self, template: str, body: str, params: vtl.Params, context: vtl.JavaMap) -> vtl.Rendered:
        try:
            return vtl.render(template, body=body, params=params, context=context)
        except vtl.TemplateError as exc:
            LOG.warning("mapping template failed: %s", exc)
            raise GatewayError("API_CONFIGURATION_ERROR", "Internal server error") from exc

    # --- validation ----------------------------------------------------------------------------------------

    def _validate(
        self,
        route: _Route,
        operation: Mapping[str, Any],
        params: vtl.Params,
        body: str,
        content_type: str,
    ) -> None:
        name = operation.get("x-amazon-apigateway-request-validator") or self.document.get(
            "x-amazon-apigateway-request-validator"
        )
        validator = (self.document.get("x-amazon-apigateway-request-validators") or {}).get(name) or {}
        if validator.get("validateRequestParameters"):
            missing = [
                parameter["name"]
                for parameter in [*route.parameters, *operation.get("parameters", [])]
                if parameter.get("required") and not _has_parameter(params, parameter)
            ]
            if missing:
                raise GatewayError(
                    "BAD_REQUEST_PARAMETERS", f"Missing required request parameters: [{', '.join(missing)}]"
                )
        request_body = operation.get("requestBody")
        if validator.get("validateRequestBody") and request_body:
            schema = ((request_body.get("content") or {}).get(content_type) or {}).get("schema")
            if schema is None:
                return
            try:
                instance = json.loads(body)
            except ValueError as exc:
                raise GatewayError("BAD_REQUEST_BODY", validation=f"Invalid JSON: {exc}") from exc
            errors = sorted(self._schema_validator(schema).iter_errors(instance), key=str)
            if errors:
                raise GatewayError("BAD_REQUEST_BODY", validation="; ".join(e.message for e in errors[:5]))

    def _schema_validator(self, schema: Mapping[str, Any]) -> Draft4Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            # The components ride along so "#/components/schemas/..." references resolve in this document.
            root = {**schema, "components": self.document.get("components", {})}
            self._validators[key] = Draft4Validator(root)
        return self._validators[key]

    # --- integrations --------------------------------------------------------------------------------------

    # --- gateway responses ---------------------------------------------------------------------------------

    def gateway_response(self, error: GatewayError, context: Mapping[str, Any] | None = None) -> Response:
        """The document's gateway response for ``error`` (its type's own, else DEFAULT_4XX/DEFAULT_5XX)."""
        context = context or {}
        default_status = GATEWAY_RESPONSES.get(error.response_type, (500, ""))[0]
        configured = self.document.get("x-amazon-apigateway-gateway-responses") or {}
        fallback = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
        response = configured.get(error.response_type) or configured.get(fallback) or {}
        status = int(response.get("statusCode", default_status))
        values = {
            "error.responseType": error.response_type,
            "error.message": error.message,
            "error.messageString": json.dumps(error.message),
            "error.validationErrorString": error.validation,
            "requestId": str(context.get("requestId", "")),
            "httpMethod": str(context.get("httpMethod", "")),
            "resourcePath": str(context.get("resourcePath", "")),
            "stage": self.stage,
        }
        templates = response.get("responseTemplates") or {}
        template = templates.get("application/json")
        if template is None:
            text = json.dumps({"message": error.message})
        else:
            text = _CONTEXT_REFERENCE.sub(lambda m: values.get(m.group(1), ""), template)
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error.response_type}
        for name, value in (response.get("responseParameters") or {}).items():
            if name.startswith("gatewayresponse.header.") and value.startswith("'"):
                headers[name.removeprefix("gatewayresponse.header.")] = value.strip("'")
        headers["x-amzn-RequestId"] = values["requestId"]
        return Response(status, headers, text.encode())


def _forbidden_host() -> Response:
    """What API Gateway answers for a host name no API of it serves: 403 ``{"message":"Forbidden"}`` from the
    front door (``x-amzn-ErrorType: ForbiddenException``), never one of the API's gateway responses, which
    the request never reaches. API Gateway picks the API by host name (or ``x-apigw-api-id``: "Invoke a
    private API", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-api-test-invoke-url.html),
    and a REST API's own endpoint once it is switched off answers "an HTTP '403 Forbidden' error for REST
    APIs" (AWS Knowledge Center, https://repost.aws/knowledge-center/api-gateway-disable-endpoint)."""
    body = json.dumps({"message": "Forbidden"}).encode()
    return Response(403, {"Content-Type": "application/json", "x-amzn-ErrorType": "ForbiddenException"}, body)


def _media_type(headers: Mapping[str, str], default: str) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type" and value.strip():
            return value.split(";", 1)[0].strip().lower()
    return default


def _has_parameter(params: vtl.Params, parameter: Mapping[str, Any]) -> bool:
    location = {"query": "querystring", "path": "path", "header": "header"}.get(parameter.get("in", ""), "")
    values = params.get(location, {})  # type: ignore[misc]
    if location == "header":
        present = [value for name, value in values.items() if name.lower() == parameter["name"].lower()]
    else:
        present = [values[parameter["name"]]] if parameter["name"] in values else []
    # Request validation: required parameters must be "included and not blank"
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html).
    return any(value.strip() for value in present)


def _select_response(responses: Mapping[str, Any], status: int) -> Mapping[str, Any] | None:
    """The integration response whose selectionPattern matches the whole status code, else ``default``."""
    for pattern, response in responses.items():
        if pattern != "default" and re.fullmatch(response.get("selectionPattern", pattern), str(status)):
            return response
    return responses.get("default")
