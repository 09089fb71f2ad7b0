"""Structured logging: one JSON object per line on stderr, one line per event.

Kubernetes collects stderr; a JSON line per event is greppable locally and parsed as-is by
every log pipeline, without a logging sidecar or a multi-line traceback parser.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

# `color_message` is uvicorn's ANSI-coloured copy of the message: noise in a JSON line.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "color_message",
}
# Client libraries that log every request at INFO; their failures still show as WARNING.
_CHATTY = ("httpx", "httpcore")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            # Keep the event on one line: the exception type and message, not the traceback.
            exc = record.exc_info[1]
            entry["error"] = f"{type(exc).__name__}: {exc}"
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_logging(service: str, level: str = "INFO") -> logging.Logger:
    """Route the root logger to stderr as JSON lines; return the service's logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return logging.getLogger(f"sutra.{service}")


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log `event` with `fields` as top-level keys of the JSON line."""
    logger.log(level, event, extra=fields)
