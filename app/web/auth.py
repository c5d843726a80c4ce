"""Signing in to and out of the dashboard: email and password, a session kept on the server
(the cookie holds only its opaque id, renewed at sign-in), CSRF on the form. The passwords and
the pause after repeated failures are `app.users`'.

A failed sign-in says the same thing whether or not the email exists, whether the password was
wrong or the account is paused: "the email or password is not right" and how the pause works.

Sign-in's argon2 runs on a limiter of its own (`HASHING`), never on the thread pool that
answers Twilio's webhooks: a burst of sign-ins, or someone guessing passwords, waits its turn
instead of taking every request thread for a tenth of a second each.
"""

from __future__ import annotations

from datetime import datetime

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app import users
from app.deps import LineDep, SessionDep
from app.web.flash import flash
from app.web.forms import Form, csrf_token, field_text
from app.web.guard import signed_in_user
from app.web.render import render
from app.web.session import DashboardSessionDep, begin, end

FAILED = (
    f"The email or password is not right. After {users.MAX_FAILURES} failed attempts, signing "
    f"in to that account is paused for {int(users.PAUSE.total_seconds() // 60)} minutes."
)
# One sign-in hashes at a time (argon2 takes ~0.1 s and 64 MiB, on every core it can get).
HASHING = anyio.CapacityLimiter(1)

router = APIRouter(include_in_schema=False)


def safe_next(raw: str | None) -> str:
    """A local path to return to after signing in; anything else goes to Today."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    if any(ch in raw for ch in "\r\n\t") or len(raw) > 500:
        return "/"
    return raw


def _login_page(
    request: Request, next_path: str, email: str = "", error: str | None = None, status: int = 200
) -> HTMLResponse:
    csrf_token(request)
    return render(request, "login.html", status, next_path=next_path, email=email, error=error)


def _sign_in(request: Request, session: Session, now: datetime, email: str, password: str) -> bool:
    """Whether the user may sign in; if so, a new session is theirs. Committed either way.

    Sign-in is complete with the password when the user has no TOTP (`second_factor_at`);
    a user with TOTP needs a code as well, which is the second-factor step's to record."""
    user = users.attempt_login(session, now, email, password)
    if user is not None:
        request.session.clear()
        csrf_token(request)  # a fresh CSRF token with every sign-in
        second_factor_at = now if user.totp_confirmed_at is None else None
        begin(request, session, now, user.id, second_factor_at)
        users.purge_sessions(session, now)  # the cheap moment to drop sessions nobody can use
    session.commit()
    return user is not None


@router.get("/login")
def login_form(
    request: Request, session: SessionDep, _session: DashboardSessionDep, next: str = "/"
) -> Response:
    if signed_in_user(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/login")
async def login(request: Request, form: Form, line: LineDep, session: SessionDep) -> Response:
    email = field_text(form, "email", 254)
    password = form.get("password")
    password = password[: users.PASSWORD_MAX * 2] if isinstance(password, str) else ""
    next_path = safe_next(field_text(form, "next", 500))
    if not email or not password:
        return _login_page(request, next_path, email, "Enter your email and your password.", 422)
    signed = await anyio.to_thread.run_sync(
        _sign_in, request, session, line.now(), email, password, limiter=HASHING
    )
    if not signed:
        return _login_page(request, next_path, email, FAILED, 401)
    return RedirectResponse(next_path, status_code=303)


@router.post("/logout")
def logout(request: Request, _form: Form, line: LineDep, session: SessionDep) -> Response:
    """The session ends on the server: a saved copy of the cookie no longer signs anyone in."""
    end(request, session, line.now())
    session.commit()
    flash(request, "You are signed out.")
    return RedirectResponse("/login", status_code=303)
