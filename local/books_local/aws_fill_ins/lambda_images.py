"""Invoking an image function whose ``ImageConfig.Command`` is a handler this stack can run.

moto cannot run a container-image function: a Lambda task of a state machine either errors or gets its input
echoed back. Here an invoke of a function whose image config command is one of ``routed_commands``
(``export_function.handler``, the bulk load's) runs that handler from the image's task root
(``artifacts/update_indices/lambda``) in an execution environment of its own: a worker process with the
function's environment (its configuration's ``Environment.Variables``, plus the local overrides the stream
runner applies: the local OpenSearch URL without SigV4, every AWS endpoint pointed at this moto, fake
credentials) and Lambda's defined runtime variables. Environments are reused while warm, as Lambda reuses
them, and are discarded after an error that ends them. Answers follow Lambda's Invoke API
(https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):

* a result: 200 and the JSON payload;
* an exception in the handler: 200, ``X-Amz-Function-Error: Unhandled`` and Lambda's error payload
  (``errorMessage``, ``errorType``, ``requestId``, ``stackTrace``); a handler that cannot be imported answers
  every invocation with ``Runtime.ImportModuleError``;
* a run past the function's timeout: the environment is killed (SIGKILL: nothing more of that invocation
  happens, as in Lambda) and the answer is ``Unhandled`` with ``errorType`` ``Sandbox.Timedout`` ("Task timed
  out after N.NN seconds"); an environment that exits is ``Runtime.ExitError``;
* payloads over the synchronous 6 MB quotas ("Lambda quotas",
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): a request is refused with 413
  ``RequestTooLargeException``, a response becomes ``Function.ResponseSizeTooLarge``;
* reserved concurrency: more concurrent invocations than the function reserves answer 429
  ``TooManyRequestsException`` (Step Functions retries ``Lambda.TooManyRequestsException``);
* ``Event`` invocations are accepted (202) and run in the background; ``DryRun`` answers 204.

Other functions keep moto's own behaviour.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moto.core.exceptions import JsonRESTError

ROOT = Path(__file__).resolve().parents[3]
TASK_ROOT = ROOT / "artifacts" / "update_indices" / "lambda"
ROUTED_COMMANDS = frozenset({"export_function.handler"})
# "Invocation payload (request and response): 6 MB each for request and response (synchronous)".
PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024
INIT_LIMIT_SECONDS = 120.0  # a worker that cannot even import its handler in this time is broken


class RequestTooLargeException(JsonRESTError):
    code = 413

    def __init__(self, size: int) -> None:
        super().__init__(
            "RequestTooLargeException",
            f"Request must be smaller than {PAYLOAD_LIMIT_BYTES} bytes for the InvokeFunction operation "
            f"(it has {size})",
        )


class TooManyRequestsException(JsonRESTError):
    code = 429

    def __init__(self, function_name: str, reserved: int) -> None:
        super().__init__(
            "TooManyRequestsException",
            f"Rate Exceeded. {function_name} reserves {reserved} concurrent executions and all are busy",
        )


@dataclass(frozen=True)
class ImageFunctionSettings:
    """Where the handlers live and what the local stack points them at."""

    moto_endpoint: str
    opensearch_url: str | None = None
    task_roots: tuple[Path, ...] = (TASK_ROOT,)
    routed_commands: frozenset[str] = ROUTED_COMMANDS
    log_dir: Path | None = None  # worker output goes to <log_dir>/<function>.log, else to moto's stderr


@dataclass(eq=False)
class Worker:
    """One warm execution environment."""

    process: subprocess.Popen[bytes]
    buffer: bytearray = field(default_factory=bytearray)
    warm: bool = False  # it has imported its handler (the Init phase is over)

    def send(self, message: Mapping[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def read_line(self, timeout: float) -> bytes | None:
        """The next line, or None when the time is up; b"" when the worker has exited."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b""
            self.buffer.extend(chunk)
        line, _, rest = bytes(self.buffer).partition(b"\n")
        self.buffer = bytearray(rest)
        return line

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@dataclass
class Answer:
    payload: bytes
    function_error: str | None = None


class ImageFunctions:
    """The execution environments of every routed function of this moto process."""

    def __init__(self, settings: ImageFunctionSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str], list[Worker]] = {}
        self._busy: dict[str, int] = {}
        self._all: set[Worker] = set()
        atexit.register(self.close)

    def routes(self, function: Any) -> bool:
        command = list(getattr(function.image_config, "cmd", None) or [])
        return (
            function.package_type == "Image"
            and len(command) == 1
            and command[0] in self.settings.routed_commands
        )

    # ---- invoke ---------------------------------------------------------------------------------------

    def invoke(self, function: Any, body: bytes | str | None, invocation_type: str) -> Answer:
        raw = body.encode() if isinstance(body, str) else (body or b"")
        if len(raw) > PAYLOAD_LIMIT_BYTES:
            raise RequestTooLargeException(len(raw))
        event = json.loads(raw) if raw else {}
        if invocation_type == "DryRun":
            return Answer(b"")
        if invocation_type == "Event":
            threading.Thread(target=self._run, args=(function, event), daemon=True).start()
            return Answer(b"")
        return self._run(function, event)

    def _run(self, function: Any, event: Any) -> Answer:
        self._reserve(function)
        try:
            return self._run_reserved(function, event)
        finally:
            with self._lock:
                self._busy[function.function_arn] -= 1

    def _reserve(self, function: Any) -> None:
        reserved = function.reserved_concurrency
        with self._lock:
            busy = self._busy.get(function.function_arn, 0)
            if reserved is not None and busy >= int(reserved):
                raise TooManyRequestsException(function.function_name, int(reserved))
            self._busy[function.function_arn] = busy + 1

    def _run_reserved(self, function: Any, event: Any) -> Answer:
        request_id = str(uuid.uuid4())
        timeout = float(function.timeout)
        key = (function.function_arn, self.revision(function))
        worker = self._take(key, function)
        if not worker.warm:
            ready = worker.read_line(INIT_LIMIT_SECONDS)
            if not ready:
                return self._lost(worker, request_id, INIT_LIMIT_SECONDS, timed_out=ready is None)
            worker.warm = True
        worker.send({"event": event, "request_id": request_id, "timeout_seconds": timeout})
        line = worker.read_line(timeout)
        if not line:
            return self._lost(worker, request_id, timeout, timed_out=line is None)
        self._give_back(key, worker)
        answer = json.loads(line)
        if "error" in answer:
            return Answer(json.dumps({**answer["error"], "requestId": request_id}).encode(), "Unhandled")
        payload = json.dumps(answer["payload"]).encode()
        if len(payload) > PAYLOAD_LIMIT_BYTES:
            error = {
                "errorMessage": "Response payload size exceeded maximum allowed payload size "
                f"({PAYLOAD_LIMIT_BYTES} bytes).",
                "errorType": "Function.ResponseSizeTooLarge",
            }
            return Answer(json.dumps(error).encode(), "Unhandled")
        return Answer(payload)

    def _lost(self, worker: Worker, request_id: str, timeout: float, *, timed_out: bool) -> Answer:
        """The environment timed out or exited: it is gone, and Lambda answers as below."""
        worker.kill()
        with self._lock:
            self._all.discard(worker)
        if timed_out:
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
            }
        else:
            status = worker.process.returncode
            error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                f"exit status {status}",
            }
        return Answer(json.dumps(error).encode(), "Unhandled")

    # ---- environments ---------------------------------------------------------------------------------

    @staticmethod
    def revision(function: Any) -> str:
        """What an environment is made from: a new configuration or image gets new environments."""
        configuration = {
            "environment": function.environment_vars,
            "timeout": function.timeout,
            "memory": function.memory_size,
            "image": getattr(function, "image_uri", None) or str(getattr(function, "code", "")),
            "command": list(function.image_config.cmd or []),
        }
        return json.dumps(configuration, sort_keys=True, default=str)

    def _take(self, key: tuple[str, str], function: Any) -> Worker:
        stale: list[Worker] = []
        with self._lock:
            for other in [k for k in self._idle if k[0] == key[0] and k != key]:
                stale.extend(self._idle.pop(other))  # environments of an older configuration
            idle = self._idle.setdefault(key, [])
            worker = None
            while idle and worker is None:
                candidate = idle.pop()
                if candidate.process.poll() is None:
                    worker = candidate
                else:
                    self._all.discard(candidate)
            self._all.difference_update(stale)
        for old in stale:
            old.kill()
        if worker is not None:
            return worker
        worker = self._start(function)
        with self._lock:
            self._all.add(worker)
        return worker

    def _give_back(self, key: tuple[str, str], worker: Worker) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(worker)

    def _start(self, function: Any) -> Worker:
        command = [
            sys.executable,
            "-m",
            "books_local.aws_fill_ins.lambda_worker",
            function.image_config.cmd[0],
        ]
        stderr: IO[bytes] | None = None
        if self.settings.log_dir is not None:
            self.settings.log_dir.mkdir(parents=True, exist_ok=True)
            stderr = (self.settings.log_dir / f"{function.function_name}.log").open("ab")
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=self.environment(function),
            cwd=str(self.settings.task_roots[0]),
        )
        if stderr is not None:
            stderr.close()
        return Worker(process)

    def environment(self, function: Any) -> dict[str, str]:
        """The function's environment as its handler sees it here (see the module docstring)."""
        region = function.region
        local_package = str(ROOT / "local")
        paths = [*(str(p) for p in self.settings.task_roots), local_package]
        env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TZ") if name in os.environ}
        env.update({str(k): str(v) for k, v in (function.environment_vars or {}).items()})
        if self.settings.opensearch_url:
            env.update(OPENSEARCH_ENDPOINT=self.settings.opensearch_url, OPENSEARCH_AUTH="none")
        env.update(
            PYTHONPATH=os.pathsep.join(paths),
            PYTHONUNBUFFERED="1",
            AWS_ENDPOINT_URL=self.settings.moto_endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            AWS_REGION=region,
            AWS_DEFAULT_REGION=region,
            AWS_LAMBDA_FUNCTION_NAME=function.function_name,
            AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(function.memory_size),
            AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{function.function_name}",
            BOOKS_LOCAL_FUNCTION_ARN=function.function_arn,
        )
        return env

    def close(self) -> None:
        with self._lock:
            workers, self._all = list(self._all), set()
            self._idle.clear()
        for worker in workers:
            worker.kill()


def install(settings: ImageFunctionSettings) -> ImageFunctions:
    """Routes the invokes of image functions with a routed command (in this process) to their handlers."""
    from moto.awslambda.models import LambdaBackend

    functions = ImageFunctions(settings)
    original = LambdaBackend.invoke

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> Any:
        function = self.get_function(function_name, qualifier)
        if not functions.routes(function):
            return original(self, function_name, qualifier, body, headers, response_headers)
        answer = functions.invoke(function, body, headers.get("X-Amz-Invocation-Type") or "RequestResponse")
        if answer.function_error:
            response_headers["x-amz-function-error"] = answer.function_error
        response_headers["x-amz-executed-version"] = "$LATEST"
        response_headers["Content-Length"] = str(len(answer.payload))
        return answer.payload

    LambdaBackend.invoke = invoke
    return functions
