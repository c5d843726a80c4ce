"""Signing in to the dashboard: email and password (argon2), a signed session cookie, CSRF on
every form, and a pause after repeated failures. `coachline set-password EMAIL` sets one.

A failed sign-in says the same thing whether or not the email exists, whether the password was
wrong or the account is paused: "the email or password is not right" and how the pause works.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Annotated

import typer
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.api.deps import get_line, get_session
from app.audit import audit
from app.context import Line
from app.models import User
from app.records import Invalid, NotFound
from app.web.common import (
    Form,
    csrf_token,
    field_text,
    password_fingerprint,
    render,
    safe_next,
    signed_in_user,
)

log = logging.getLogger("coachline.web")

MAX_FAILURES = 5
PAUSE = timedelta(minutes=15)
PASSWORD_MIN = 10
PASSWORD_MAX = 200
FAILED = (
    f"The email or password is not right. After {MAX_FAILURES} failed attempts, signing in "
    f"to that account is paused for {int(PAUSE.total_seconds() // 60)} minutes."
)

hasher = PasswordHasher()
# Verified against when the email is unknown, so that answer takes as long as any other.
_DUMMY_HASH = hasher.hash("not a password of anyone's")

router = APIRouter(include_in_schema=False)

LineDep = Annotated[Line, Depends(get_line)]
SessionDep = Annotated[Session, Depends(get_session)]


# ---- passwords -----------------------------------------------------------------------------


def check_password_rules(password: str, email: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise Invalid(f"a password needs at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise Invalid(f"a password has at most {PASSWORD_MAX} characters")
    if password.strip().lower() == email.strip().lower():
        raise Invalid("the password must not be the email")


def set_password(session: Session, actor: str, now: datetime, email: str, password: str) -> User:
    """Set a user's dashboard password (audited; the hash only). It also lifts a sign-in pause,
    and signs the user's other sessions out."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound("no user with that email; create one with `coachline create-user`")
    check_password_rules(password, user.email)
    user.password_hash = hasher.hash(password)
    user.failed_logins = 0
    user.login_locked_until = None
    session.flush()
    audit(session, actor, "set_password", "user", user.id, at=now)
    return user


def verify_password(user: User | None, password: str) -> bool:
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        ok = hasher.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored is not None


def attempt_login(session: Session, now: datetime, email: str, password: str) -> User | None:
    """The user, if the password is right and the account is not paused; failures are counted
    (5 in a row pause the account for 15 minutes). The caller commits."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    paused = (
        user is not None and user.login_locked_until is not None and user.login_locked_until > now
    )
    ok = verify_password(user, password)  # always run: the same time for every answer
    if user is None:
        return None
    if paused:
        return None
    if ok:
        user.failed_logins = 0
        user.login_locked_until = None
        if user.password_hash and hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        return user
    # Counted in the database, so two workers' failures add up.
    session.execute(
        update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
    )
    session.refresh(user)
    if user.failed_logins >= MAX_FAILURES:
        user.failed_logins = 0
        user.login_locked_until = now + PAUSE
        audit(
            session,
            "dashboard",
            "login_paused",
            "user",
            user.id,
            reason=f"{MAX_FAILURES} failed sign-in attempts",
            changes={"login_locked_until": user.login_locked_until},
            at=now,
        )
        log.warning("dashboard sign-in paused for user %s after repeated failures", user.id)
    return None


# ---- pages ---------------------------------------------------------------------------------


def _login_page(
    request: Request, next_path: str, email: str = "", error: str | None = None, status: int = 200
) -> HTMLResponse:
    csrf_token(request)
    return render(request, "login.html", status, next_path=next_path, email=email, error=error)


@router.get("/login")
def login_form(request: Request, session: SessionDep, next: str = "/") -> Response:
    if signed_in_user(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/login")
def login(request: Request, form: Form, line: LineDep, session: SessionDep) -> Response:
    email = field_text(form, "email", 254)
    password = form.get("password")
    password = password[: PASSWORD_MAX * 2] if isinstance(password, str) else ""
    next_path = safe_next(field_text(form, "next", 500))
    if not email or not password:
        return _login_page(request, next_path, email, "Enter your email and your password.", 422)
    now = line.now()
    user = attempt_login(session, now, email, password)
    session.commit()
    if user is None:
        return _login_page(request, next_path, email, FAILED, 401)
    # A fresh session (and CSRF token) on every sign-in.
    request.session.clear()
    request.session["uid"] = user.id
    request.session["pw"] = password_fingerprint(user)
    csrf_token(request)
    return RedirectResponse(next_path, status_code=303)


@router.post("/logout")
def logout(request: Request, _form: Form) -> Response:
    request.session.clear()
    request.session["flash"] = [{"kind": "ok", "text": "You are signed out."}]
    return RedirectResponse("/login", status_code=303)


# ---- the command -----------------------------------------------------------------------------


def set_password_command(
    email: Annotated[str, typer.Argument(help="the user's email (see `create-user`)")],
) -> None:
    """Set a user's dashboard password; asks for it twice, without showing it."""
    from app import cli  # the command line's helpers (app.cli registers this command)

    password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with cli._unit_of_work() as (line, session):
        user = set_password(session, cli.cli_actor(), line.now(), email, password)
        shown = user.email
    typer.echo(f"Set the dashboard password for {shown}.")
