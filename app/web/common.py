"""What every dashboard page needs: the signed-in user, templates, CSRF, flash messages, times
in the practice's zone, and paging.

A page is a plain FastAPI route taking `Page` (or `AdminPage`): the line, a database session,
the signed-in user, and `render`/`redirect`/`flash`. A form handler also takes `Form`, whose
CSRF token has been checked. Extending the layout (the phone simulator): add a `NavItem` to
`NAV` and extend `base.html`.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.api.deps import get_line, get_session
from app.context import Line
from app.models import PracticeSetting, User

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
CSRF_FIELD = "csrf_token"
PAGE_SIZE = 50
MAX_PAGE_NUMBER = 100_000


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    admin_only: bool = False


# The main navigation, in order. Another page adds itself here.
NAV: list[NavItem] = [
    NavItem("/", "Today"),
    NavItem("/clients", "Clients"),
    NavItem("/schedule", "Schedule"),
    NavItem("/logs", "Logs"),
    NavItem("/audit", "Audit", admin_only=True),
    NavItem("/settings", "Settings", admin_only=True),
    NavItem("/simulator", "Simulator", admin_only=True),
]


# ---- errors the dashboard answers with a page ---------------------------------------------


class WebError(Exception):
    """Answered with the friendly error page (see `install`)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.message = message


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__("login required")
        self.next_path = next_path


def not_found(what: str = "page") -> WebError:
    return WebError(404, "Not found", f"There is no such {what}, or it is not yours to see.")


def admin_only() -> WebError:
    return WebError(403, "Admins only", "Only the practice admin can see or change this.")


# ---- the session: who is signed in, CSRF ---------------------------------------------------


def password_fingerprint(user: User) -> str:
    """Kept in the session: a new password signs every other session out."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request) -> FormData:
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


def safe_next(raw: str | None) -> str:
    """A local path to return to after signing in; anything else goes to Today."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    if any(ch in raw for ch in "\r\n\t") or len(raw) > 500:
        return "/"
    return raw


# ---- times in the practice's zone ----------------------------------------------------------


def _hour(dt: datetime) -> str:
    return dt.strftime("%I:%M %p").lstrip("0")


def span(delta: timedelta) -> str:
    """A duration as people say it: "45 min", "3 h 5 min", "2 days 4 h"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min" if mins else "under a minute"


@dataclass(frozen=True)
class Fmt:
    """Times as the practice reads them; every page gets one as `fmt`."""

    tz: tzinfo
    now: datetime

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def when(self, instant: datetime | None) -> str:
        """ "Fri Nov 27, 9:42 PM" (with the year when it is not this year)."""
        if instant is None:
            return ""
        local = self.local(instant)
        year = f" {local.year}" if local.year != self.local(self.now).year else ""
        return f"{local:%a %b} {local.day}{year}, {_hour(local)}"

    def clock(self, instant: datetime) -> str:
        return _hour(self.local(instant))

    def iso(self, instant: datetime) -> str:
        return self.local(instant).isoformat(timespec="minutes")

    def input_value(self, instant: datetime) -> str:
        """For an <input type="datetime-local">: local wall-clock time, to the minute."""
        return self.local(instant).strftime("%Y-%m-%dT%H:%M")

    def since(self, instant: datetime) -> str:
        return span(self.now - instant)

    def until(self, instant: datetime) -> str:
        return span(instant - self.now)

    def span(self, delta: timedelta) -> str:
        return span(delta)

    def seconds(self, seconds: int | None) -> str:
        if seconds is None:
            return ""
        minutes, secs = divmod(int(seconds), 60)
        return f"{minutes}:{secs:02d}"

    @property
    def zone_name(self) -> str:
        return self.local(self.now).tzname() or str(self.tz)


def parse_local(raw: str, tz: tzinfo, field_name: str) -> datetime:
    """A datetime-local value ("2026-11-27T21:42") read in the practice's zone, as an instant.

    In the hour a fall-back change repeats, the earlier of the two is meant (fold=0).
    """
    from app.records import Invalid

    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(f"{field_name}: enter a date and time") from None
    if value.tzinfo is not None:
        raise Invalid(f"{field_name}: enter a local date and time")
    return value.replace(tzinfo=tz, second=0, microsecond=0)


# ---- paging --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pager:
    number: int
    size: int
    total: int
    base: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    def href(self, number: int) -> str:
        query = {k: v for k, v in self.params.items() if v not in (None, "")}
        query["page"] = number
        return f"{self.base}?{urlencode(query)}"

    @property
    def newer(self) -> str | None:
        return self.href(self.number - 1) if self.number > 1 else None

    @property
    def older(self) -> str | None:
        return self.href(self.number + 1) if self.number < self.pages else None


M = TypeVar("M")


def row_or_404(db: Session, model: type[M], raw: int | str, what: str) -> M:
    """The row a URL names by id, or the dashboard's "not found" naming what was asked for."""
    number = as_id(raw)
    row = db.get(model, number) if number is not None else None
    if row is None:
        raise not_found(what)
    return row


def as_id(raw: int | str) -> int | None:
    """A record id from a URL: a positive 32-bit integer, or None."""
    text = str(raw)
    if not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 1 <= number <= 2_147_483_647 else None


def page_number(raw: str | None) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE_NUMBER)


# ---- the page context ----------------------------------------------------------------------


@dataclass
class Page:
    request: Request
    line: Line
    db: Session
    user: User
    now: datetime

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def therapist_id(self) -> int | None:
        return self.user.therapist_id

    @property
    def actor(self) -> str:
        """How the audit log names the signed-in user (as the API does)."""
        return self.user.email

    @property
    def tz(self) -> tzinfo:
        return self.line.settings.tz

    @property
    def fmt(self) -> Fmt:
        return Fmt(self.tz, self.now)

    def can_manage_therapist(self, therapist_id: int) -> bool:
        """Their own away and hours for a therapist; anyone's for an admin."""
        return self.is_admin or self.therapist_id == therapist_id

    def flash(self, message: str, kind: str = "ok") -> None:
        messages = list(self.request.session.get("flash", []))[-4:]
        messages.append({"kind": kind, "text": message[:500]})
        self.request.session["flash"] = messages

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return render(self.request, template, status, user=self.user, fmt=self.fmt, **context)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)


def render(
    request: Request,
    template: str,
    status: int = 200,
    *,
    user: User | None = None,
    fmt: Fmt | None = None,
    **context: Any,
) -> HTMLResponse:
    line: Line = request.app.state.line
    flashes = request.session.pop("flash", []) if "session" in request.scope else []
    is_admin = user is not None and user.role == "admin"
    nav = [item for item in NAV if is_admin or not item.admin_only] if user else []
    current = next(
        (
            item.href
            for item in sorted(nav, key=lambda i: len(i.href), reverse=True)
            if request.url.path == item.href
            or (item.href != "/" and request.url.path.startswith(item.href + "/"))
        ),
        None,
    )
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "is_admin": is_admin,
            "nav": nav,
            "current_nav": current,
            "fmt": fmt or Fmt(line.settings.tz, line.now()),
            "practice_name": context.pop("practice_name", None)
            or request.scope.get("coachline.practice_name")
            or line.settings.practice_name,
            "csrf_token": csrf_token(request) if "session" in request.scope else "",
            "csrf_field": CSRF_FIELD,
            "flashes": flashes,
            **context,
        },
        status_code=status,
    )


def signed_in_user(request: Request, session: Session) -> User | None:
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        return None
    user = session.get(User, uid)
    if user is None or not user.password_hash:
        return None
    if not secrets.compare_digest(str(request.session.get("pw", "")), password_fingerprint(user)):
        return None
    return user


def page(
    request: Request,
    line: Annotated[Line, Depends(get_line)],
    session: Annotated[Session, Depends(get_session)],
) -> Page:
    user = signed_in_user(request, session)
    if user is None:
        if request.session.get("uid") is not None:
            request.session.clear()
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(back if request.method == "GET" else "/")
    # The header shows the practice's name as the dashboard has set it (read afresh: the call
    # flow may keep a cached copy for a moment).
    stored = session.get(PracticeSetting, "practice_name")
    name = stored.value if stored is not None and isinstance(stored.value, str) else None
    request.scope["coachline.practice_name"] = name or line.settings.practice_name
    return Page(request=request, line=line, db=session, user=user, now=line.now())


def admin_page(ctx: Annotated[Page, Depends(page)]) -> Page:
    if not ctx.is_admin:
        raise admin_only()
    return ctx


PageDep = Annotated[Page, Depends(page)]
AdminPageDep = Annotated[Page, Depends(admin_page)]


# ---- words for the codes the line records ------------------------------------------------------

OUTCOMES = {
    "ringing": "Ringing",
    "bridged": "Talked with a coach",
    "wait_script": "Missed: heard the wait-time script",
    "caller_hung_up": "Missed: hung up while ringing",
    "lockout_script": "24-hour rule script",
    "crisis_resources": "Crisis resources",
    "being_called_back": "Already being called back",
    "menu": "Therapist: missed-call menu",
    "calling_back": "Therapist calling back",
    "returned": "Call-back reached the client",
    "not_reached": "Call-back did not reach the client",
}
ROUTES = {
    "unknown_caller": "Unknown caller",
    "locked_out": "24-hour rule",
    "coaching": "Coaching",
    "fallback": "Fallback",
    "therapist": "Therapist calling",
}
KINDS = {
    "inbound": "Text in",
    "reply": "Reply",
    "notification": "To a therapist",
    "escalation": "Escalation",
    "success_digest": "Success digest",
    "prompt": "Prompt",
}
SOURCES = {"rotation": "rotation", "override": "override", "shift": "shift"}

templates.env.globals.update(OUTCOMES=OUTCOMES, ROUTES=ROUTES, KINDS=KINDS, SOURCES=SOURCES)
