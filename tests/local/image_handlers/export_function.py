"""A stand-in for the image's ``export_function.handler``, for the tests of the local stack's Lambda fill-in
(``books_local.aws_fill_ins.lambda_images``): each event says what to do, so a test can see what the
execution environment gives a handler and how Lambda's answers come back. The real handler is tested end to
end on the local stack (tests/local/test_bulk_load_end_to_end.py)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

INVOCATIONS = 0  # per execution environment: a warm one keeps counting


def handler(event: dict[str, Any], context: Any) -> Any:
    global INVOCATIONS
    INVOCATIONS += 1
    if event.get("mark"):
        Path(event["mark"]).write_text(f"{os.getpid()}\n")
    action = event.get("do", "echo")
    if action == "raise":
        raise ValueError(f"bad input {event.get('value')!r}")
    if action == "exit":
        os._exit(3)
    if action == "sleep":
        time.sleep(float(event["seconds"]))
        if event.get("after"):
            Path(event["after"]).write_text("the invocation went on after its timeout\n")
    if action == "big":
        return "x" * int(event["bytes"])
    if action == "print":
        print("a handler's own output goes to the log, not into the answer")
        sys.stdout.flush()
    if action == "status":  # what the state machine's loops read
        return {"status": event["status"], "wait_seconds": 0, "counts": {"items": 1}}
    names = ("OPENSEARCH_ENDPOINT", "OPENSEARCH_AUTH", "OPENSEARCH_INDEX", "TABLE_NAME", "AWS_ENDPOINT_URL")
    names += ("AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    names += ("AWS_ACCESS_KEY_ID",)
    return {
        "event": event,
        "environment": {name: os.environ.get(name) for name in names},
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "function_arn": context.invoked_function_arn,
        "pid": os.getpid(),
        "invocations": INVOCATIONS,
    }
