"""Structured logs: one JSON object a line, with phone numbers and secret URLs masked.

Names are never logged in the first place (log lines carry ids, not people); the mask is
the second line of defence for numbers that slip into a message or an access-log path.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# A phone number as it may appear in a log line: E.164, written with the usual separators, or
# URL-encoded (an access log's query string: "%2B1314...", "+1+314+..." for spaces, "%28314%29",
# twice-encoded "%252B"). The candidate is judged by its digits in `_number`.
_PLUS = r"(?:\+|%(?:25)?2[bB]|\\u002[bB])"
_SEP = r"(?:[\s().\-/+\u2010-\u2015]|%(?:25)?(?:20|28|29|2[bBdDeEfF]))"
PHONE = re.compile(
    # Not inside a word or an id (a Twilio SID), but a %XX escape may come just before.
    r"(?:(?<![\w%])|(?<=%[0-9A-Fa-f]{2}))"
    rf"{_PLUS}?\(?\d(?:{_SEP}{{0,3}}\d){{6,}}(?!\w)"
)
_ESCAPE = re.compile(r"%(?:25)?[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_NOT_A_PHONE = re.compile(
    r"\d+\.\d+"  # a decimal (a duration in seconds)
    r"|\d{1,3}(?:\.\d{1,3}){3}"  # an IPv4 address (uvicorn's client address)
)
# Calendar feeds and password links are authorised by the secret in their path.
SECRET_PATH = re.compile(r"(/ical/(?:therapists|rotations)/|/password-link/)[^/\s\"?]+")
MARKER = "_coachline_json"


def _number(match: re.Match[str]) -> str:
    """A candidate masked to its last two digits when it can be a phone number: 10-15 digits
    (a North American number with or without its 1, any E.164 number), or 7 and more after a
    plus. Longer runs are masked too: numbers run together ("2026-11-27 13145550142") must not
    slip through as one long number."""
    text = match.group()
    date = _DATE.match(text)
    if date:  # a date with something after it: the date stays, the rest is judged alone
        return text[: date.end()] + PHONE.sub(_number, text[date.end() :])
    if _NOT_A_PHONE.fullmatch(text):
        return text
    plain = _ESCAPE.sub(" ", text)
    digits = re.sub(r"\D", "", plain)
    plus = bool(re.match(_PLUS, text))
    if len(digits) >= 10 or (plus and len(digits) >= 7):
        return "***" + digits[-2:]
    return text


def redact(text: str) -> str:
    text = SECRET_PATH.sub(r"\1***", text)
    return PHONE.sub(_number, text)


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
