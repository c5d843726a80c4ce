"""Signing in to and out of the dashboard: email and password, a session kept on the server
(the cookie holds only its opaque id, renewed at sign-in), CSRF on the form. The passwords and
the account's pause are `app.users`'; the limits per address and overall are
`app.web.sign_in_limits`'; the second step (a TOTP code, or enrolling) is `app.web.two_factor`'s.

A failed sign-in says the same thing whether or not the email exists and whatever was wrong:
"the email or password is not right". A sign-in over a limit is refused with 429 and
Retry-After before any argon2 (a cheap refusal), saying only to wait.

The password alone signs in a user without two-factor who need not have it. A user with it
gets a session that is not yet signed in (`second_factor_at` unset, the password's time in its
data) and goes to the code step; an admin (or, by the practice's setting, a therapist) without
it goes to enrol, and is signed in once a first code confirms it.

Sign-in's argon2 runs on a limiter of its own (`HASHING`), never on the thread pool that
answers Twilio's webhooks: a burst of sign-ins, or someone guessing passwords, waits its turn
instead of taking every request thread for a tenth of a second each.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app import two_factor, user_sessions, users
from app.deps import LineDep, SessionDep
from app.line import Line
from app.models import User
from app.web.flash import flash
from app.web.forms import Form, csrf_token, field_text
from app.web.guard import signed_in_user
from app.web.render import render
from app.web.session import DashboardSessionDep, SessionState, begin, end
from app.web.sign_in_limits import client_address, limits_of

FAILED = "The email or password is not right."
# The second step must follow the password within this long.
PENDING_FOR = timedelta(minutes=10)
CODE_STEP = "/login/code"
ENROL_STEP = "/two-factor/enrol"
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


def throttled(response: HTMLResponse, seconds: int) -> HTMLResponse:
    response.headers["Retry-After"] = str(seconds)
    return response


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many sign-in attempts. Wait {minutes} {unit}, then try again."


def wait_before_trying(request: Request, session: Session, now: datetime, email: str) -> int | None:
    """Seconds this address must wait before trying the account, or None (cheap: no argon2)."""
    address = client_address(request)
    limits = limits_of(request)
    wait = limits.wait_before_trying(email, address, now)
    if wait is None and not limits.is_known(email, address, now):
        left = users.pause_left(session, now, email)
        wait = math.ceil(left.total_seconds()) if left is not None else None
    return wait


def pending_user(request: Request, session: Session, state: SessionState, now: datetime):
    """The user whose password this session took lately, when a second step is still to come."""
    if state.user_id is None or state.second_factor_at is not None:
        return None
    raw = request.session.get("password_at")
    try:
        password_at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        password_at = None
    if password_at is None or not now - PENDING_FOR <= password_at <= now:
        return None
    user = session.get(User, state.user_id)
    if user is None or user.disabled_at is not None or not user.password_hash:
        return None
    return user


def signed_in(
    request: Request, session: Session, now: datetime, user: User, step: int | None = None
) -> str:
    """Sign-in complete: a new session id, signed in; where to go now. The caller commits."""
    next_path = safe_next(request.session.pop("next", "/"))
    request.session.pop("password_at", None)
    if step is not None:
        request.session["totp_step"] = step  # so the code is not taken again (app.two_factor)
    begin(request, session, now, user.id, now)
    user_sessions.purge_sessions(session, now)  # the cheap moment to drop sessions nobody can use
    users.clear_failures(user)
    limits_of(request).signed_in(user.email, client_address(request), now)
    return next_path


def _sign_in(
    request: Request,
    session: Session,
    line: Line,
    now: datetime,
    form: tuple[str, str, str],
    pause_applies: bool,
) -> str | None:
    """Where the user goes next, if the password is right; None if not. Committed either way."""
    email, password, next_path = form
    user = users.attempt_login(session, now, email, password, pause_applies=pause_applies)
    if user is None:
        session.commit()
        return None
    request.session.clear()
    csrf_token(request)  # a fresh CSRF token with every sign-in
    request.session["next"] = next_path
    if two_factor.is_on(user):
        target = CODE_STEP
    elif two_factor.required_for(user, line.current_settings(session)):
        target = ENROL_STEP
    else:
        target = signed_in(request, session, now, user)
        session.commit()
        return target
    request.session["password_at"] = now.isoformat()
    begin(request, session, now, user.id, None)  # not signed in until the second step
    session.commit()
    return target


@router.get("/login")
def login_form(
    request: Request,
    line: LineDep,
    session: SessionDep,
    state: DashboardSessionDep,
    next: str = "/",
) -> Response:
    if signed_in_user(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    user = pending_user(request, session, state, line.now())
    if user is not None:  # the password is done: on to the second step
        step = CODE_STEP if two_factor.is_on(user) else ENROL_STEP
        return RedirectResponse(step, status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/login")
async def login(request: Request, form: Form, line: LineDep, session: SessionDep) -> Response:
    email = field_text(form, "email", 254)
    password = form.get("password")
    password = password[: users.PASSWORD_MAX * 2] if isinstance(password, str) else ""
    next_path = safe_next(field_text(form, "next", 500))
    if not email or not password:
        return _login_page(request, next_path, email, "Enter your email and your password.", 422)
    now = line.now()
    address = client_address(request)
    wait = await anyio.to_thread.run_sync(wait_before_trying, request, session, now, email)
    if wait is not None:
        page = _login_page(request, next_path, email, wait_message(wait), 429)
        return throttled(page, wait)
    pause_applies = not limits_of(request).is_known(email, address, now)
    target = await anyio.to_thread.run_sync(
        _sign_in,
        request,
        session,
        line,
        now,
        (email, password, next_path),
        pause_applies,
        limiter=HASHING,
    )
    if target is None:
        limits_of(request).failed(email, address)
        return _login_page(request, next_path, email, FAILED, 401)
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, _form: Form, line: LineDep, session: SessionDep) -> Response:
    """The session ends on the server: a saved copy of the cookie no longer signs anyone in."""
    end(request, session, line.now())
    session.commit()
    flash(request, "You are signed out.")
    return RedirectResponse("/login", status_code=303)


# The second step's pages live in their own module, which uses the helpers above.
from app.web import two_factor as _second_step  # noqa: E402

router.include_router(_second_step.router)
