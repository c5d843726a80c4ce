"""Forms: the CSRF token every POSTed form carries, and reading its fields.

A form handler takes `Form`: the form, its CSRF token already checked against the session's
(kept on the server with the session, never in the cookie).
"""

from __future__ import annotations

import secrets
from datetime import datetime, tzinfo
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from app.domain import Invalid
from app.web.errors import WebError
from app.web.session import DashboardSessionDep

CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request, _session: DashboardSessionDep) -> FormData:
    """A POSTed form whose CSRF token matches the session's; otherwise the 403 page."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not (
        isinstance(sent, str)
        and isinstance(expected, str)
        and expected
        and secrets.compare_digest(sent.encode(), expected.encode())
    ):
        raise WebError(
            403,
            "This form has expired",
            "For your safety the form was not accepted: it did not come from this session "
            "(perhaps you signed in again in another tab, or the page was open a long time). "
            "Go back, reload the page, and try again. The dashboard needs cookies to be allowed.",
        )
    return form


Form = Annotated[FormData, Depends(checked_form)]


def field_text(form: FormData, name: str, limit: int = 4000) -> str:
    value = form.get(name)
    return value[:limit].strip() if isinstance(value, str) else ""


def field_checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "true", "1", "yes")


def parse_local(raw: str, tz: tzinfo, field_name: str) -> datetime:
    """A datetime-local value ("2026-11-27T21:42") read in the practice's zone, as an instant.

    In the hour a fall-back change repeats, the earlier of the two is meant (fold=0).
    """
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(f"{field_name}: enter a date and time") from None
    if value.tzinfo is not None:
        raise Invalid(f"{field_name}: enter a local date and time")
    return value.replace(tzinfo=tz, second=0, microsecond=0)
