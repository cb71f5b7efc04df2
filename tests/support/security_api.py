"""A stand-in for an Amazon OpenSearch Service domain's security REST API, strict where the real one is.

No OpenSearch with the security plugin can run here (nothing can be pulled, the stand-in osmem has no
security), so modules/opensearch/scripts/apply_security.py is tested against this server. It does what the
script relies on, as documented:

- every request must carry a valid Signature Version 4 for the service ``es`` and the domain's region
  (verified with botocore's signer, ``books_local.sigv4``), and temporary credentials must sign their
  ``X-Amz-Security-Token`` header ("Elements of an AWS API request signature",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html); a key the domain does not admit
  gets 403, as the domain access policy or fine-grained access control would answer;
- ``GET``/``PUT /_plugins/_security/api/roles/<role>`` and ``.../rolesmapping/<role>`` with the documented
  request fields only ("Create or update role", "Create or update role mapping",
  https://docs.opensearch.org/latest/security/access-control/api/): an unknown field is a 400; a PUT replaces
  the whole object; a GET answers ``{"<name>": {...}}`` with the stored fields plus ``reserved``, ``hidden``
  and ``static`` as the API adds them, or 404;
- ``unavailable_for`` answers the next N requests with 503, as a domain that is still starting does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from books_local import sigv4

API = "/_plugins/_security/api/"
ROLE_FIELDS = {"cluster_permissions", "index_permissions", "tenant_permissions", "description"}
INDEX_PERMISSION_FIELDS = {"index_patterns", "dls", "fls", "masked_fields", "allowed_actions"}
MAPPING_FIELDS = {"backend_roles", "and_backend_roles", "hosts", "users", "description"}


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    access_key: str | None
    signed_headers: list[str]


@dataclass
class SecurityApi:
    region: str
    secrets: dict[str, str]  # access key -> secret of the identities the domain admits
    temporary: set[str] = field(default_factory=set)  # access keys that need a signed security token
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    unavailable_for: int = 0
    url: str = ""

    def puts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "PUT"]


@contextmanager
def security_api(api: SecurityApi) -> Iterator[SecurityApi]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            with lock:
                status, answer = self._answer(raw)
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self, raw: bytes) -> tuple[int, Any]:
            headers = dict(self.headers.items())
            access_key = None
            try:
                access_key = sigv4.verify(
                    self.command,
                    self.path,
                    headers,
                    raw,
                    secrets=api.secrets,
                    region=api.region,
                    service="es",
                )
            except sigv4.AuthError as error:
                return 403, {"message": error.message}
            finally:
                authorization = self.headers.get("authorization") or ""
                signed = authorization.partition("SignedHeaders=")[2].partition(",")[0].split(";")
                body = json.loads(raw) if raw else None
                api.requests.append(Recorded(self.command, self.path, body, access_key, signed))
            if access_key in api.temporary and (
                "x-amz-security-token" not in signed or not self.headers.get("x-amz-security-token")
            ):
                return 403, {"message": "The security token included in the request is invalid."}
            if api.unavailable_for > 0:
                api.unavailable_for -= 1
                return 503, {"message": "OpenSearch Security not initialized."}
            kind, _, name = self.path.removeprefix(API).partition("/")
            store = {"roles": api.roles, "rolesmapping": api.mappings}.get(kind)
            if not self.path.startswith(API) or store is None or not name:
                return 400, {"status": "error", "reason": f"no such path {self.path}"}
            if self.command == "GET":
                if name not in store:
                    return 404, {"status": "NOT_FOUND", "message": f"Resource '{name}' not found."}
                return 200, {name: {**store[name], "reserved": False, "hidden": False, "static": False}}
            invalid = _invalid_keys(kind, body)
            if invalid:
                return 400, {"status": "error", "reason": "Invalid configuration", "invalid_keys": invalid}
            created = name not in store
            store[name] = body
            return (201, {"status": "CREATED"}) if created else (200, {"status": "OK"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def _invalid_keys(kind: str, body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["<body is not an object>"]
    allowed = ROLE_FIELDS if kind == "roles" else MAPPING_FIELDS
    invalid = sorted(set(body) - allowed)
    for permission in body.get("index_permissions") or [] if kind == "roles" else []:
        invalid += sorted(set(permission) - INDEX_PERMISSION_FIELDS)
    return invalid
