"""Signing in to and out of the dashboard: email and password, a signed session cookie, CSRF on
the form. The passwords and the pause after repeated failures are `app.users`'.

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
from app.web.guard import password_fingerprint, signed_in_user
from app.web.render import render

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


def _sign_in(session: Session, now: datetime, email: str, password: str) -> tuple[int, str] | None:
    """The user's id and password fingerprint if they may sign in; the attempt is committed."""
    user = users.attempt_login(session, now, email, password)
    signed = (user.id, password_fingerprint(user)) if user is not None else None
    session.commit()
    return signed


@router.get("/login")
def login_form(request: Request, session: SessionDep, next: str = "/") -> Response:
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
        _sign_in, session, line.now(), email, password, limiter=HASHING
    )
    if signed is None:
        return _login_page(request, next_path, email, FAILED, 401)
    # A fresh session (and CSRF token) on every sign-in.
    request.session.clear()
    request.session["uid"], request.session["pw"] = signed
    csrf_token(request)
    return RedirectResponse(next_path, status_code=303)


@router.post("/logout")
def logout(request: Request, _form: Form) -> Response:
    request.session.clear()
    flash(request, "You are signed out.")
    return RedirectResponse("/login", status_code=303)
