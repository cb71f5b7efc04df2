"""Structured logs: one JSON object per line on stdout (CloudWatch Logs Insights parses the fields)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

LOGGER_NAME = "indexer"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at emit time (the Lambda runtime and pytest both replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure(level: str) -> logging.Logger:
    """The indexer's logger with one JSON handler; idempotent."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False  # the Lambda runtime's root handler would prefix the JSON with plain text
    return logger


def log_event(message: str, level: int = logging.INFO, **fields: Any) -> None:
    """One JSON line: ``message`` plus the given fields."""
    logging.getLogger(LOGGER_NAME).log(level, message, extra={"fields": fields})
