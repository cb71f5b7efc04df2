"""A minimal Lambda Runtime API server, so a function image runs under its own runtime interface client.

The image's entrypoint (``awslambdaric``) asks ``AWS_LAMBDA_RUNTIME_API`` for the next invocation and gets
the event with its deadline in ``Lambda-Runtime-Deadline-Ms`` (epoch milliseconds); the client builds the
handler's context from it, so ``get_remaining_time_in_millis`` counts down real time, as in Lambda. The
paths and headers are those of "Using the Lambda runtime API for custom runtimes"
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): ``GET /2018-06-01/runtime/invocation/next``,
``POST .../invocation/{AwsRequestId}/response`` and ``.../error``, ``POST .../runtime/init/error``.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:books-indexer"


@dataclass(frozen=True)
class Outcome:
    """What the function answered: a response or an error, and when (epoch seconds) it arrived."""

    request_id: str
    deadline: float  # epoch seconds
    answered_at: float
    response: Any = None
    error: Any = None

    @property
    def in_time(self) -> bool:
        return self.answered_at <= self.deadline


class RuntimeApi:
    """Serves invocations one at a time on 127.0.0.1 (run the image with ``--network host``)."""

    def __init__(self) -> None:
        self._pending: queue.Queue[tuple[str, float, bytes]] = queue.Queue()
        self._outcomes: dict[str, queue.Queue[Outcome]] = {}
        self._deadlines: dict[str, float] = {}
        self.init_errors: list[Any] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RuntimeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def invoke(self, event: Any, timeout_seconds: float, wait_seconds: float = 120.0) -> Outcome:
        """Hand ``event`` to the function with ``timeout_seconds`` to run; wait for its answer."""
        request_id = str(uuid.uuid4())
        self._outcomes[request_id] = queue.Queue()
        self._pending.put((request_id, timeout_seconds, json.dumps(event).encode()))
        waited_until = time.monotonic() + wait_seconds
        while time.monotonic() < waited_until:
            try:
                return self._outcomes[request_id].get(timeout=0.2)
            except queue.Empty:
                if self.init_errors:  # the function failed to start: it never takes the event
                    now = time.time()
                    return Outcome(request_id, now, now, error=self.init_errors[-1])
        raise TimeoutError(f"the function did not answer within {wait_seconds} s")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._answer(404, {"errorMessage": "unknown path"})
                    return
                request_id, timeout_seconds, body = api._pending.get()
                deadline = time.time() + timeout_seconds  # the clock starts when the function gets the event
                api._deadlines[request_id] = deadline
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(deadline * 1000)))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                trace = f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"
                self.send_header("Lambda-Runtime-Trace-Id", trace)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                payload = json.loads(body) if body else None
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_errors.append(payload)
                elif len(parts) == 3 and parts[0] == "invocation" and parts[1] in api._outcomes:
                    request_id, kind = parts[1], parts[2]
                    outcome = Outcome(
                        request_id,
                        api._deadlines[request_id],
                        time.time(),
                        response=payload if kind == "response" else None,
                        error=payload if kind == "error" else None,
                    )
                    api._outcomes[request_id].put(outcome)
                else:
                    self._answer(404, {"errorMessage": "unknown path"})
                    return
                self._answer(202, {"status": "OK"})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
