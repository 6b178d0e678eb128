"""Log lines for machines: ``RECSVC_LOG_FORMAT=json`` writes one JSON object per line to stderr.

Each line has ``time`` (ISO 8601, UTC), ``level``, ``logger`` and ``message``, then the record's
extra fields (the access log adds ``request_id``, ``method``, ``path``, ``status``, ``ms``), and the
traceback as ``exc`` when there is one. ``text`` keeps the usual one-line text.
"""

import json
import logging
import sys
from datetime import datetime, timezone

FORMATS = ("json", "text")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
"""The attributes every LogRecord has; anything else on a record came as ``extra`` and is logged."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(fmt: str, level: str = "INFO") -> None:
    """Send the root logger's records to stderr in ``fmt`` (``json`` or ``text``), replacing its handlers."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(sys.stderr)
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonFormatter() if fmt == "json" else text)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
