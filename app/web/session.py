"""The dashboard's sessions, kept on the server, and the headers on every dashboard response.

The cookie holds only an opaque random id (`secrets.token_urlsafe(32)`); the `user_sessions`
row keyed by the id's SHA-256 holds who is signed in and the session's data (the CSRF token,
flash messages). So signing out, disabling a user or deactivating a therapist ends a session
on the server, and a saved cookie is worth nothing after that; and nothing in the cookie says
who anyone is.

A session lasts `user_sessions.SESSION_LIFETIME` (12 h) from sign-in at most, and ends after
`user_sessions.SESSION_IDLE` (2 h) without a request; its last request is written at most once a
minute, so reading a page rarely writes.

The middleware (`DashboardSessions`) reads the cookie and sets or clears it; it never touches
the database. The row is read and written through the request's own database session, by the
`DashboardSessionDep` dependency every page, form and sign-in route goes through (one way to the
database). The Twilio webhooks, the API and the calendar feeds never go through here.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import user_sessions
from app.deps import LineDep, SessionDep
from app.errors import describe
from app.line import Line
from app.models import UserSession
from app.web.errors import WebError

log = logging.getLogger("coachline.web")

COOKIE = "coachline_session"
STATE = "coachline.session"
# The browser forgets the cookie when the session would end anyway.
MAX_AGE_SECONDS = int(user_sessions.SESSION_LIFETIME.total_seconds())
# The last request is written at most this often (the idle timeout needs no finer).
TOUCH_EVERY = timedelta(minutes=1)
# What `secrets.token_urlsafe(32)` makes; anything else is no session (and is not hashed).
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")

# Paths that are not the dashboard: no session, no dashboard headers.
NOT_DASHBOARD = (
    "/twilio/",
    "/api/",
    "/ical/",
    "/healthz",
    "/metrics",
    "/docs",
    "/redoc",
    "/openapi.json",
)

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def is_dashboard_path(path: str) -> bool:
    return not any(path == p.rstrip("/") or path.startswith(p) for p in NOT_DASHBOARD)


def hash_id(session_id: str) -> str:
    """The row's key: the cookie's id is never stored."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class SessionState:
    """One request's view of its session. `request.session` is the session's data (a dict)."""

    sent: str | None  # the id the browser sent, when it looks like one of ours
    key: str | None = None  # the row in use (the id's SHA-256)
    user_id: int | None = None
    second_factor_at: datetime | None = None
    loaded: bool = False
    stored_data: dict[str, Any] = field(default_factory=dict)  # the data as the row holds it
    touch: bool = False  # the row's last request is to be written
    set_cookie: str | None = None  # a new id for the browser
    clear_cookie: bool = False

    @property
    def signed_in_user_id(self) -> int | None:
        """Whose session this is, once sign-in is complete (the second factor included)."""
        return self.user_id if self.second_factor_at is not None else None


def state_of(request: Request) -> SessionState:
    return request.scope[STATE]


def _is_live(row: UserSession, now: datetime) -> bool:
    return (
        row.ended_at is None
        and row.expires_at > now
        and row.last_seen_at > now - user_sessions.SESSION_IDLE
    )


def load(request: Request, db: Session, now: datetime) -> SessionState:
    """Read the request's session row, once; an unknown, ended or expired id is no session."""
    state = state_of(request)
    if state.loaded:
        return state
    state.loaded = True
    if state.sent is None:
        return state
    key = hash_id(state.sent)
    row = db.get(UserSession, key)
    if row is None or not _is_live(row, now):
        state.clear_cookie = True
        return state
    state.key, state.user_id = key, row.user_id
    state.second_factor_at = row.second_factor_at
    request.session.update(copy.deepcopy(row.data or {}))
    state.stored_data = copy.deepcopy(row.data or {})
    state.touch = now - row.last_seen_at >= TOUCH_EVERY
    return state


def save(request: Request, db: Session, now: datetime) -> None:
    """Write what the request changed in its session (a new anonymous session's first data,
    flashes added or shown, the last request), and commit it.

    Whatever the route left uncommitted is rolled back first, as it would have been: a route
    commits its own unit of work."""
    state = state_of(request)
    data = copy.deepcopy(dict(request.session))
    changed = data != state.stored_data
    if not changed and not (state.key and state.touch):
        return
    if state.key is None and not data:
        return
    db.rollback()
    if state.key is None:
        _insert(request, db, now, user_id=None, second_factor_at=None, data=data)
    else:
        values: dict[str, Any] = {"last_seen_at": now}
        if changed:
            values["data"] = data
        db.execute(
            update(UserSession)
            .where(UserSession.id == state.key, UserSession.ended_at.is_(None))
            .values(**values)
        )
    db.commit()
    state.stored_data, state.touch = data, False


def _insert(
    request: Request,
    db: Session,
    now: datetime,
    *,
    user_id: int | None,
    second_factor_at: datetime | None,
    data: dict[str, Any],
) -> None:
    state = state_of(request)
    session_id = secrets.token_urlsafe(32)
    db.add(
        UserSession(
            id=hash_id(session_id),
            user_id=user_id,
            data=data,
            second_factor_at=second_factor_at,
            created_at=now,
            last_seen_at=now,
            expires_at=now + user_sessions.SESSION_LIFETIME,
        )
    )
    state.key, state.user_id = hash_id(session_id), user_id
    state.second_factor_at = second_factor_at
    state.stored_data = copy.deepcopy(data)
    state.set_cookie, state.touch = session_id, False


def begin(
    request: Request, db: Session, now: datetime, user_id: int, second_factor_at: datetime | None
) -> None:
    """Signed in: a new session under a new id, holding `request.session`'s data. The session it
    replaces ends, so an id known before sign-in never becomes a signed-in one. The caller
    commits."""
    _end_row(request, db, now)
    _insert(
        request,
        db,
        now,
        user_id=user_id,
        second_factor_at=second_factor_at,
        data=copy.deepcopy(dict(request.session)),
    )


def end(request: Request, db: Session, now: datetime) -> None:
    """Signed out: the session ends on the server and its data goes. The caller commits."""
    _end_row(request, db, now)
    request.session.clear()
    state = state_of(request)
    state.key = state.user_id = state.second_factor_at = None
    state.stored_data, state.clear_cookie = {}, True


def _end_row(request: Request, db: Session, now: datetime) -> None:
    key = state_of(request).key
    if key is not None:
        db.execute(
            update(UserSession)
            .where(UserSession.id == key, UserSession.ended_at.is_(None))
            .values(ended_at=now)
        )


UNAVAILABLE = WebError(
    503,
    "The dashboard cannot reach its database",
    "Calls and texts are still answered. Try again in a minute.",
)


def dashboard_session(request: Request, line: LineDep, db: SessionDep) -> Iterator[SessionState]:
    """The request's session, read through its database session; what the route changed in it
    is saved before the response goes (not when the route raised: its error page follows)."""
    try:
        state = load(request, db, line.now())
    except SQLAlchemyError as exc:
        log.warning("dashboard session unavailable: %s", describe(exc))
        raise UNAVAILABLE from None
    yield state
    try:
        save(request, db, line.now())
    except SQLAlchemyError as exc:  # the page is made; only a flash or the last request is lost
        db.rollback()
        log.warning("dashboard session not saved: %s", describe(exc))


# "function": the session is saved before the response is sent, so the next page sees it.
DashboardSessionDep = Annotated[SessionState, Depends(dashboard_session, scope="function")]


def _cookie_header(value: str, max_age: int, secure: bool) -> str:
    parts = [f"{COOKIE}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class DashboardSessions:
    """On the dashboard's paths: the session cookie read into the request (`request.session`
    starts empty; `DashboardSessionDep` fills it) and set or cleared on the response, and the
    dashboard's security headers."""

    def __init__(self, app: ASGIApp, line: Line) -> None:
        self.app = app
        # Secure whenever the line is served over https, as it is in production.
        self.secure = line.settings.public_base_url.startswith("https://")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_dashboard_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        sent = HTTPConnection(scope).cookies.get(COOKIE)
        state = SessionState(sent=sent if sent and _SESSION_ID.match(sent) else None)
        scope[STATE] = state
        scope["session"] = {}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
                if state.set_cookie is not None:
                    headers.append(
                        "set-cookie", _cookie_header(state.set_cookie, MAX_AGE_SECONDS, self.secure)
                    )
                elif state.clear_cookie or (sent and state.sent is None):
                    headers.append("set-cookie", _cookie_header("", 0, self.secure))
            await send(message)

        await self.app(scope, receive, with_headers)
