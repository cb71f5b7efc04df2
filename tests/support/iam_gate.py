"""An OpenSearch Service front door for the stand-in: SigV4 for ``es`` and the caller's IAM policies.

Amazon OpenSearch Service authorises each HTTP request as the action ``es:ESHttp<Method>`` on the resource
``arn:aws:es:<region>:<account>:domain/<domain>/<path>`` ("Identity and Access Management in Amazon
OpenSearch Service": identity-based policies, resource ARNs down to indices and APIs,
https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ac.html). The stand-in checks nothing,
so this proxy does, before forwarding: it verifies the request's SigV4 signature (service ``es``, with the
secret of the key that signed it), looks up the signer's identity policies (``principals``: read from the
enforcing moto, so they are exactly what Terraform created) and evaluates them with moto's own policy engine
(``Action`` and ``Resource`` with wildcards, explicit Deny first). A request no statement allows gets AWS's
403.

Not evaluated here (conformance tests cover them): the domain's resource-based access policy and its
``aws:PrincipalArn`` condition, conditions in identity policies, fine-grained access control's roles.
"""

from __future__ import annotations

import contextlib
import hmac
import http.client
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<credential>[^,]+), *"
    r"SignedHeaders=(?P<signed>[^,]+), *Signature=(?P<sig>\w+)"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


@dataclass(frozen=True)
class Principal:
    """Who owns an access key: its ARN (for messages), its secret and its identity policies (JSON)."""

    arn: str
    secret: str
    policies: list[str]


@dataclass(frozen=True)
class Decision:
    principal: str
    action: str
    resource: str
    allowed: bool


class _Signer(SigV4Auth):
    """botocore's SigV4 over exactly the headers the client signed."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, "es", region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> Any:  # type: ignore[override]
        chosen = super().headers_to_sign(request)
        present = {name.lower(): value for name, value in request.headers.items()}
        for name in self._signed:
            if name not in chosen and name in present:
                chosen[name] = present[name]
        for name in list(chosen.keys()):
            if name not in self._signed:
                del chosen[name]
        return chosen


def evaluate(policies: list[str], action: str, resource: str) -> bool:
    """IAM's identity-policy logic with moto's engine: an explicit Deny wins, else any Allow, else deny."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    allowed = False
    for policy in policies:
        result = IAMPolicy(policy).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return False
        allowed = allowed or result == PermissionResult.PERMITTED
    return allowed


class IamGate:
    def __init__(
        self,
        upstream: str,
        *,
        domain_arn: str,
        region: str,
        principals: Callable[[str], Principal | None],
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.domain_arn = domain_arn
        self.region = region
        self.principals = principals
        self.decisions: list[Decision] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.gate = self  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> IamGate:
        threading.Thread(target=self._server.serve_forever, name="iam-gate", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def denied(self) -> list[Decision]:
        with self._lock:
            return [d for d in self.decisions if not d.allowed]

    def authorise(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """(0, "") when the request may pass, else AWS's status and message."""
        lowered = {k.lower(): v for k, v in headers.items()}
        parsed = _AUTHORIZATION.match(lowered.get("authorization", ""))
        if parsed is None:
            return 403, "Missing Authentication Token"
        access_key, _, scope = parsed["credential"].partition("/")
        date, region, service, _ = [*scope.split("/"), "", "", "", ""][:4]
        principal = self.principals(access_key)
        if principal is None:
            return 403, "The security token included in the request is invalid."
        if service != "es" or region != self.region:
            return 403, f"Credential should be scoped to a valid region and service, not {region}/{service}."
        request = AWSRequest(method=method, url=f"http://{lowered.get('host', '')}{target}", data=body)
        for name, value in headers.items():
            request.headers[name] = value
        request.context["timestamp"] = lowered.get("x-amz-date", "")
        signer = _Signer(Credentials(access_key, principal.secret), region, parsed["signed"].split(";"))
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if not hmac.compare_digest(expected, parsed["sig"]) or date != lowered.get("x-amz-date", "")[:8]:
            return 403, "The request signature we calculated does not match the signature you provided."
        action = f"es:ESHttp{method.capitalize()}"
        resource = f"{self.domain_arn}/{unquote(urlsplit(target).path).lstrip('/')}"
        allowed = evaluate(principal.policies, action, resource)
        with self._lock:
            self.decisions.append(Decision(principal.arn, action, resource, allowed))
        if allowed:
            return 0, ""
        return 403, (
            f"User: {principal.arn} is not authorized to perform: {action} on resource: {resource} "
            "because no identity-based policy allows the action"
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _handle(self) -> None:
        gate: IamGate = self.server.gate  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = dict(self.headers.items())
        status, message = gate.authorise(self.command, self.path, headers, body)
        if status:
            self._reply(status, json.dumps({"Message": message}).encode(), "application/json")
            return
        connection = http.client.HTTPConnection(*gate.upstream, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(self.command, self.path, body=body or None, headers=forwarded)
            answer = connection.getresponse()
            data = answer.read()
            self._reply(answer.status, data, answer.getheader("Content-Type") or "application/json")
        finally:
            connection.close()

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)
