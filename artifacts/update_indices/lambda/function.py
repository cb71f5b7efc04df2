"""Lambda entry point (image CMD ``function.handler``); all the work is in the ``indexer`` package."""

from __future__ import annotations

from typing import Any

from indexer.batch import process_event
from indexer.wire import BatchResponse


def handler(event: dict[str, Any], context: Any) -> BatchResponse:
    return process_event(event, context)
