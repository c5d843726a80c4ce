"""The dashboard's session cookie and the headers on every dashboard response.

The cookie is signed with SESSION_SECRET, or, when that is unset, with a secret generated once
and kept in `practice_settings` under "_session_secret", so every worker signs alike (the
key is not EDITABLE, so `Settings.with_changes` ignores it).

The secret is resolved on the first dashboard request rather than at start-up, so the line
starts while its database is down; the Twilio webhooks, the API and the calendar feeds never
go through here (a call never waits on the dashboard's database read).
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import describe
from app.line import Line

log = logging.getLogger("coachline.web")

SECRET_KEY = "_session_secret"
COOKIE = "coachline_session"
# A login lasts a working day at most; signing in again is cheap.
MAX_AGE_SECONDS = 12 * 60 * 60
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


def session_secret(line: Line) -> str:
    """SESSION_SECRET, else the one kept in the database (made by whichever worker is first)."""
    if line.settings.session_secret:
        return line.settings.session_secret
    return line.kept_secret(SECRET_KEY, 48)


UNAVAILABLE = (
    b"<!doctype html><html lang=en><meta charset=utf-8><title>Dashboard unavailable</title>"
    b"<main><h1>The dashboard cannot reach its database</h1><p>Calls and texts are still "
    b"answered. Try again in a minute.</p></main></html>"
)


class DashboardSessions:
    """Starlette's signed-cookie sessions on the dashboard's paths, with a lazily resolved
    secret; the dashboard's security headers on its responses."""

    def __init__(self, app: ASGIApp, line: Line) -> None:
        self.app = app
        self.line = line
        self._sessions: SessionMiddleware | None = None

    async def _inner(self) -> SessionMiddleware | None:
        if self._sessions is None:
            try:
                secret = await run_in_threadpool(session_secret, self.line)
            except SQLAlchemyError as exc:
                log.warning("dashboard session secret unavailable: %s", describe(exc))
                return None
            self._sessions = SessionMiddleware(
                self.app,
                secret_key=secret,
                session_cookie=COOKIE,
                max_age=MAX_AGE_SECONDS,
                same_site="lax",
                https_only=self.line.settings.public_base_url.startswith("https://"),
            )
        return self._sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_dashboard_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        inner = await self._inner()
        if inner is None:
            await with_headers(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": UNAVAILABLE})
            return
        await inner(scope, receive, with_headers)
