"""Structured logs: one JSON object a line, with phone numbers and secret URLs masked.

Names are never logged in the first place (log lines carry ids, not people); the mask is
the second line of defence for numbers that slip into a message or an access-log path.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# A phone number as it may appear in text: E.164, or 10+ digits with the usual separators.
PHONE = re.compile(r"(?<![\w])\+?\d[\d\s().\-]{8,}\d(?![\w])")
# Calendar feeds are authorised by the secret in their path.
SECRET_PATH = re.compile(r"(/ical/(?:therapists|rotations)/)[^/\s\"?]+")
MARKER = "_coachline_json"


def redact(text: str) -> str:
    text = SECRET_PATH.sub(r"\1***", text)
    return PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group())[-2:], text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type only: its message can carry what the mask cannot catch.
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry)


def configure(level: str = "INFO") -> None:
    """JSON to stderr for our loggers and uvicorn's; safe to call more than once."""
    root = logging.getLogger()
    if any(getattr(h, MARKER, False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    setattr(handler, MARKER, True)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # Client libraries log every request they make at INFO: URLs, not events of the line.
    for name in ("httpx", "twilio.http_client", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
