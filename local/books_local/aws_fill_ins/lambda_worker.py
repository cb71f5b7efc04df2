"""One execution environment of an image function: imports the handler once, then runs one invocation per
request line on stdin and answers one line, as Lambda's runtime does for a warm environment.

Run by ``lambda_images`` as ``python -m books_local.aws_fill_ins.lambda_worker <module.function>`` with the
function's environment. Protocol (one JSON object per line): request ``{"event": ..., "request_id": ...,
"timeout_seconds": ...}``; answer ``{"payload": ...}`` or ``{"error": {"errorMessage", "errorType",
"stackTrace"}}`` (the shape Lambda's Python runtime gives an unhandled exception). The handler's own output
(print, logging) goes to stderr, never into the protocol. stdin's end (the moto process went away) ends it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class Context:
    """What a handler reads from Lambda's context; the remaining time counts down from the timeout."""

    def __init__(self, request_id: str, timeout_seconds: float) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("BOOKS_LOCAL_FUNCTION_ARN", "")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = f"local/{request_id}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exception: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exception),
        "errorType": type(exception).__name__,
        "stackTrace": traceback.format_tb(exception.__traceback__),
    }


def main(handler_name: str) -> int:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # a print in the handler must not corrupt the protocol
    module_name, _, function_name = handler_name.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exception:  # Lambda answers every invocation with the init error
        handler, init_error = None, _error(exception)
        init_error["errorType"] = "Runtime.ImportModuleError"
        init_error["errorMessage"] = f"Unable to import module '{module_name}': {exception}"
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        request = json.loads(line)
        if handler is None:
            answer: dict[str, Any] = {"error": init_error}
        else:
            context = Context(request["request_id"], float(request["timeout_seconds"]))
            try:
                answer = {"payload": handler(request["event"], context)}
            except Exception as exception:
                answer = {"error": _error(exception)}
        try:
            text = json.dumps(answer)
        except (TypeError, ValueError) as exception:  # what Lambda's runtime says of an unserialisable result
            text = json.dumps({"error": {**_error(exception), "errorType": "Runtime.MarshalError"}})
        answers.write(text + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
