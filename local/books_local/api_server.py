"""The local API Gateway over HTTP: a threading server handing every request to :class:`Gateway`.

Usage::

    document = render_openapi_document(table_name="books")      # books_local.openapi_document
    server = make_server(document, dynamodb_endpoint="http://127.0.0.1:5000", opensearch_url="http://127.0.0.1:9200")
    thread = server.start()          # or server.serve_forever() in the current thread
    ...                              # signed requests to server.url, e.g. f"{server.url}/books"
    server.close()                   # shutdown() + server_close()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.credentials import Credentials

from books_local.apigateway import Gateway
from books_local.sigv4 import CallerIdentity

__all__ = ["LocalApiServer", "make_server"]

LOG = logging.getLogger("books_local.apigateway")


class _Handler(BaseHTTPRequestHandler):
    server: LocalApiServer
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.send_error(400, "invalid Content-Length")
            return
        body = self.rfile.read(length) if length else b""
        response = self.server.gateway.handle(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, PROPFIND, ...) is an undeclared method: API Gateway answers 403
        # Missing Authentication Token, never http.server's 501 HTML page.
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s " + format, self.address_string(), *args)


class LocalApiServer(ThreadingHTTPServer):
    """The gateway on a threading HTTP server: serve_forever()/shutdown() as usual, or start()/close()."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        super().__init__(address, _Handler)
        self.gateway = gateway
        # The names a client reaches this server by: its address, and localhost on the same port. Any other
        # Host never reaches the API (Gateway.handle answers 403 Forbidden, as API Gateway does).
        host, port = self.server_address[:2]
        gateway.host_names |= {f"{host}:{port}", f"localhost:{port}"}
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> threading.Thread:
        """Serves in a daemon thread and returns it."""
        self._thread = threading.Thread(target=self.serve_forever, name="local-api-gateway", daemon=True)
        self._thread.start()
        return self._thread

    def close(self) -> None:
        """Stops serving (when started) and releases the port."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()


def make_server(
    openapi: Mapping[str, Any] | str,
    dynamodb_endpoint: str,
    opensearch_url: str,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    stage: str = "local",
    region: str | None = None,
    credentials: Mapping[str, str] | None = None,
    identities: Mapping[str, CallerIdentity] | None = None,
    integration_credentials: Mapping[str, Credentials] | None = None,
) -> LocalApiServer:
    """A server for ``openapi`` (the api module's ``openapi_document``, JSON text or decoded); port 0: any.

    Raises OSError when the port is taken.
    """
    gateway = Gateway(
        openapi,
        dynamodb_endpoint=dynamodb_endpoint,
        opensearch_url=opensearch_url,
        stage=stage,
        region=region,
        credentials=credentials,
        identities=identities,
        integration_credentials=integration_credentials,
    )
    return LocalApiServer((host, port), gateway)
