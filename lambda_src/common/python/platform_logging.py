"""Structured JSON logging shared by the platform's Lambda functions.

Each call writes one JSON object on one line of stdout, which Lambda sends to
CloudWatch Logs. The fixed keys come first (level, timestamp, service,
correlation_id, message), then the caller's named keys. Values under names
that look like secrets are replaced and long values are cut, so a careless call
can neither leak a credential nor dump a whole event.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any, Protocol

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}
RESERVED_KEYS = ("level", "timestamp", "service", "correlation_id", "message")
REDACTED = "[redacted]"
MAX_VALUE_CHARS = 2000
_SECRET_NAME = re.compile(
    r"passw|secret|token|credential|authoriz|api_?key|private_?key|cookie",
    re.IGNORECASE,
)


class LambdaContext(Protocol):
    """The part of the Lambda context object the logger reads."""

    aws_request_id: str


class Logger:
    """Writes JSON lines tagged with the current invocation's request id."""

    def __init__(self, service: str, level: str | None = None) -> None:
        self.service = service
        name = (level or os.environ.get("LOG_LEVEL") or "INFO").upper()
        self.threshold = LEVELS.get(name, LEVELS["INFO"])
        self.correlation_id: str | None = None

    def bind(self, context: LambdaContext | None) -> None:
        """Tag every later line with the request id of this invocation."""
        self.correlation_id = getattr(context, "aws_request_id", None)

    def debug(self, message: str, /, **fields: Any) -> None:
        """Write a DEBUG line with the given named fields."""
        self._emit("DEBUG", message, fields)

    def info(self, message: str, /, **fields: Any) -> None:
        """Write an INFO line with the given named fields."""
        self._emit("INFO", message, fields)

    def warning(self, message: str, /, **fields: Any) -> None:
        """Write a WARNING line with the given named fields."""
        self._emit("WARNING", message, fields)

    def error(self, message: str, /, **fields: Any) -> None:
        """Write an ERROR line with the given named fields."""
        self._emit("ERROR", message, fields)

    def _emit(self, level: str, message: str, fields: dict[str, Any]) -> None:
        if LEVELS[level] < self.threshold:
            return
        record: dict[str, Any] = {
            "level": level,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "service": self.service,
            "correlation_id": self.correlation_id,
            "message": message,
        }
        for name, value in fields.items():
            # A caller's field never overwrites one of the fixed keys.
            key = f"{name}_" if name in RESERVED_KEYS else name
            record[key] = _safe_value(name, value)
        sys.stdout.write(json.dumps(record, default=str) + "\n")


def _safe_value(name: str, value: Any) -> Any:
    if _SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, dict):
        value = {str(k): _safe_value(str(k), v) for k, v in value.items()}
    elif isinstance(value, list | tuple | set | frozenset):
        value = [_safe_value(name, item) for item in value]
    elif not isinstance(value, str | int | float | bool | type(None)):
        value = str(value)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= MAX_VALUE_CHARS:
        return value
    cut = len(text) - MAX_VALUE_CHARS
    return f"{text[:MAX_VALUE_CHARS]}...[{cut} more characters cut]"
