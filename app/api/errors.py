"""The admin API's 422s for malformed input, in words.

FastAPI answers a value it cannot read with one entry per field: `loc` (where it is, e.g.
`["body", "occurred_at"]`), `type` (pydantic's code) and `msg`. `loc` and `type` stay as they
are, for programs; `msg` becomes a sentence a person can act on ("The time of the self-harm
event needs a UTC offset, ...") instead of pydantic's ("Input should have timezone info").
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

# What each field the API reads is, in words (path, query and body alike).
FIELD_WORDS = {
    "name": "the name",
    "language": "the language",
    "phone": "the phone number",
    "active": "whether they are active",
    "therapist_id": "the therapist's id",
    "client_id": "the client's id",
    "lockout_id": "the lockout's id",
    "item_id": "the attention item's id",
    "rotation_id": "the rotation's id",
    "override_id": "the override's id",
    "entity_id": "the record's id",
    "entity": "the kind of record",
    "lockout_rule_applies": "whether the 24-hour rule applies",
    "sms_opted_out": "whether the client texted STOP",
    "occurred_at": "the time of the self-harm event",
    "note": "the note",
    "reason": "the reason",
    "until": "the time they are back",
    "weekday": "the day of the week",
    "start": "the start time",
    "end": "the end time",
    "starts_at": "the start",
    "ends_at": "the end",
    "starts_on": "the date of the first handoff",
    "handoff_time": "the time of each handoff",
    "turn_days": "the days in each turn",
    "therapist_ids": "the list of therapists",
    "limit": "the number of items per page",
    "offset": "the number of items to skip",
    "all": "whether to include acknowledged items",
    "at": "the time asked about",
    "from": "the start of the period",
    "to": "the end of the period",
}

_EXAMPLE_INSTANT = "2026-11-27T21:42:00-06:00"

# pydantic's error types, as what is wrong with the field ({field} is its words).
_SENTENCES = {
    "missing": "{field} is required",
    "string_too_long": "{field} is too long: at most {max_length} characters",
    "string_too_short": "{field} is too short: at least {min_length} characters",
    "too_long": "{field} has too many entries: at most {max_length}",
    "too_short": "{field} needs at least {min_length} entries",
    "string_type": "{field} must be text",
    "string_pattern_mismatch": "{field} is not in the form expected",
    "int_type": "{field} must be a whole number",
    "int_parsing": "{field} must be a whole number",
    "int_from_float": "{field} must be a whole number",
    "greater_than_equal": "{field} must be {ge} or more",
    "greater_than": "{field} must be more than {gt}",
    "less_than_equal": "{field} must be {le} or less",
    "less_than": "{field} must be less than {lt}",
    "bool_type": "{field} must be true or false",
    "bool_parsing": "{field} must be true or false",
    "timezone_aware": "{field} needs a UTC offset, e.g. " + _EXAMPLE_INSTANT,
    "datetime_type": "{field} must be a date and time, e.g. " + _EXAMPLE_INSTANT,
    "datetime_parsing": "{field} must be a date and time, e.g. " + _EXAMPLE_INSTANT,
    "datetime_from_date_parsing": "{field} must be a date and time, e.g. " + _EXAMPLE_INSTANT,
    "date_type": "{field} must be a date, e.g. 2026-11-27",
    "date_parsing": "{field} must be a date, e.g. 2026-11-27",
    "date_from_datetime_parsing": "{field} must be a date, e.g. 2026-11-27",
    "date_from_datetime_inexact": "{field} must be a date without a time, e.g. 2026-11-27",
    "list_type": "{field} must be a list",
    "model_type": "{field} must be a JSON object",
    "model_attributes_type": "{field} must be a JSON object",
    "dict_type": "{field} must be a JSON object",
    "literal_error": "{field} must be one of: {expected}",
    "enum": "{field} must be one of: {expected}",
    # schemas.py's own checks
    "clock_time": '{field} must be a time as "HH:MM", 00:00 to 23:59',
    "iso_8601_text": "{field} must be ISO 8601 text, e.g. " + _EXAMPLE_INSTANT + " or 2026-11-27",
}


def name_words(name: str) -> str:
    return FIELD_WORDS.get(name, f"“{name}”")


def field_words(loc: tuple[Any, ...]) -> str:
    """A field's place in words: "the start time (entry 2 of the list)", "the request body"."""
    names = [part for part in loc[1:] if isinstance(part, str)]
    positions = [part for part in loc[1:] if isinstance(part, int)]
    if names:
        words = name_words(names[-1])
    else:
        words = "the request body" if loc[:1] == ("body",) else "a value"
    if positions:
        words += f" (entry {positions[0] + 1} of the list)"
    return words


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def in_words(error: dict[str, Any]) -> str:
    """One refused value's problem, as a sentence naming the field in words."""
    kind = error.get("type", "")
    loc = tuple(error.get("loc", ()))
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int | float)}
    if kind == "json_invalid":
        why = ctx.get("error")
        return _sentence("The request body is not valid JSON" + (f": {why}" if why else ""))
    if kind == "null_fields":  # schemas.Patch: {"name": null}
        names = [name_words(n) for n in str(ctx.get("fields", "")).split(", ") if n]
        listed = " and ".join(filter(None, [", ".join(names[:-1]), names[-1]])) if names else ""
        return _sentence(
            f"{listed or 'A field'} cannot be null: leave a field out to keep it as it is"
        )
    if kind == "extra_forbidden":
        name = loc[-1] if loc else "?"
        return _sentence(f"This request takes no “{name}”: leave it out, or check its spelling")
    template = _SENTENCES.get(kind)
    if template is not None:
        try:
            return _sentence(template.format(field=field_words(loc), **ctx))
        except (KeyError, IndexError, ValueError):
            pass
    message = str(error.get("msg", ""))
    if kind in ("value_error", "assertion_error"):
        # The records' own checks (app.domain), reused as validators: already a sentence.
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return _sentence(message)
    return _sentence(f"{field_words(loc)} is not valid ({message[:1].lower()}{message[1:]})")


async def bad_input(request: Request, exc: Exception) -> Response:
    """The API's 422 for malformed input: each entry keeps `loc` and `type`, `msg` in words.
    Other paths (the dashboard's forms, the webhooks) keep FastAPI's answer."""
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith("/api/"):
        return await request_validation_exception_handler(request, exc)
    detail = []
    for error in exc.errors():
        entry = {k: v for k, v in error.items() if k in ("type", "loc", "input", "ctx")}
        entry["msg"] = in_words(error)
        detail.append(entry)
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(detail)})
