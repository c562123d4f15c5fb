"""One JSON object per line, with a stable `action` field, so a log search finds every event of a kind."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

_logger = logging.getLogger("flowbuilder")  # both functions' lines


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "action": record.msg,
            **getattr(record, "fields", {}),
        }
        return json.dumps(line, default=str)


def configure(level: str = "INFO", stream=None) -> None:
    """Own handler (stdout by default), not propagated: the Lambda runtime's root handler would reformat the line."""
    if not _logger.handlers:
        handler = logging.StreamHandler(stream or sys.stdout)
        handler.setFormatter(_JsonFormatter())
        _logger.addHandler(handler)
        _logger.propagate = False
    _logger.setLevel(level)


def log(action: str, level: int = logging.INFO, **fields: object) -> None:
    _logger.log(level, action, extra={"fields": fields})
