"""The second step of signing in, and enrolling in two-factor (the rules are `app.two_factor`'s).

- `/login/code`: after the password, a user with two-factor enters the 6-digit code from their
  authenticator app, or one of their recovery codes. Only then is the session signed in (a new
  id, `second_factor_at` set). A wrong code counts toward the same limits as a wrong password.
- `/two-factor/enrol`: the QR code (an otpauth URI: the practice's name as issuer, the email as
  the account) and the secret as text, and a first code to confirm it; then the ten recovery
  codes, shown once. Reached after the password by an admin (or, by the practice's setting, a
  therapist) without two-factor, who is signed in when the first code is right; or by any
  signed-in user without it, by choice.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app import two_factor, users
from app.deps import LineDep, SessionDep
from app.models import User
from app.web.auth import (
    CODE_STEP,
    ENROL_STEP,
    pending_user,
    safe_next,
    signed_in,
    throttled,
    wait_before_trying,
    wait_message,
)
from app.web.forms import Form, csrf_token, field_text
from app.web.guard import signed_in_user
from app.web.render import render
from app.web.session import DashboardSessionDep
from app.web.sign_in_limits import client_address, limits_of

WRONG_CODE = (
    "That code is not right, or it was used already. Enter the 6-digit code your "
    "authenticator app shows now, or one of your recovery codes."
)
WRONG_FIRST_CODE = (
    "That code is not right. Enter the 6-digit code the app shows now for this account "
    "(check that the phone's clock is set automatically)."
)

router = APIRouter(include_in_schema=False)


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def _wrong(request: Request, session: Session, now: datetime, user: User) -> None:
    """A wrong code counts as a wrong password does."""
    users.count_failure(session, now, user)
    session.commit()
    limits_of(request).failed(user.email, client_address(request))


# ---- the code after the password -------------------------------------------------------------


def _code_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    csrf_token(request)
    return render(request, "two_factor_code.html", status, error=error)


@router.get(CODE_STEP)
def code_form(
    request: Request, line: LineDep, session: SessionDep, state: DashboardSessionDep
) -> Response:
    user = pending_user(request, session, state, line.now())
    if user is None or not two_factor.is_on(user):
        return _to_sign_in()
    return _code_page(request)


@router.post(CODE_STEP)
def code_given(
    request: Request, form: Form, line: LineDep, session: SessionDep, state: DashboardSessionDep
) -> Response:
    now = line.now()
    user = pending_user(request, session, state, now)
    if user is None or not two_factor.is_on(user):
        return _to_sign_in()
    wait = wait_before_trying(request, session, now, user.email)
    if wait is not None:
        return throttled(_code_page(request, wait_message(wait), 429), wait)
    code = field_text(form, "code", 60)
    step = None
    if two_factor.looks_like_a_code(code):
        step = two_factor.check_code(session, now, user, code)
        ok = step is not None
    else:
        ok = two_factor.use_recovery_code(session, now, user, code)
    if not ok:
        _wrong(request, session, now, user)
        return _code_page(request, WRONG_CODE, 401)
    target = signed_in(request, session, now, user, step)
    session.commit()
    return RedirectResponse(target, status_code=303)


# ---- enrolling -------------------------------------------------------------------------------


def _enrolling(
    request: Request, session: Session, state, now: datetime
) -> tuple[User | None, bool]:
    """Who may enrol here, and whether they are still signing in: a user part-way through
    signing in who must enrol, or a signed-in user; never one who has two-factor on already
    (that would let a password alone replace the code)."""
    user = signed_in_user(request, session)
    signing_in = False
    if user is None:
        user, signing_in = pending_user(request, session, state, now), True
    if user is None or two_factor.is_on(user):
        return None, False
    return user, signing_in


def _enrol_page(
    request: Request,
    session: Session,
    line,
    user: User,
    signing_in: bool,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    csrf_token(request)
    secret = two_factor.enrolment_secret(user)
    session.commit()
    issuer = line.current_settings(session).practice_name
    uri = two_factor.otpauth_uri(secret, user.email, issuer)
    return render(
        request,
        "two_factor_enrol.html",
        status,
        user=None if signing_in else user,
        email=user.email,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr=two_factor.qr_svg(uri),
        required=signing_in,
        error=error,
    )


@router.get(ENROL_STEP)
def enrol_form(
    request: Request, line: LineDep, session: SessionDep, state: DashboardSessionDep
) -> Response:
    user, signing_in = _enrolling(request, session, state, line.now())
    if user is None:
        return _to_sign_in()
    return _enrol_page(request, session, line, user, signing_in)


@router.post(ENROL_STEP)
def enrol_confirm(
    request: Request, form: Form, line: LineDep, session: SessionDep, state: DashboardSessionDep
) -> Response:
    now = line.now()
    user, signing_in = _enrolling(request, session, state, now)
    if user is None:
        return _to_sign_in()
    wait = wait_before_trying(request, session, now, user.email)
    if wait is not None:
        page = _enrol_page(request, session, line, user, signing_in, wait_message(wait), 429)
        return throttled(page, wait)
    confirmed = two_factor.confirm(session, now, user, field_text(form, "code", 60))
    if confirmed is None:
        _wrong(request, session, now, user)
        return _enrol_page(request, session, line, user, signing_in, WRONG_FIRST_CODE, 422)
    step, codes = confirmed
    if signing_in:
        next_path = signed_in(request, session, now, user, step)
    else:
        next_path = "/"
        request.session["totp_step"] = step
    session.commit()
    # Shown once, in this answer only: never kept anywhere but as their hashes.
    csrf_token(request)
    return render(
        request, "two_factor_codes.html", 200, user=user, codes=codes, next_path=next_path
    )


@router.post("/two-factor/done")
def codes_saved(request: Request, form: Form) -> Response:
    """The recovery codes are saved: on to the page the user asked for."""
    return RedirectResponse(safe_next(field_text(form, "next", 500)), status_code=303)
