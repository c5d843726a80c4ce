"""The page a password link opens (`app.password_links`): its owner chooses their password, and
then signs in as usual (their two-factor step included). Nobody need be signed in; the link is
the key. A link that is used, expired, altered or for a disabled user says only that it no
longer works, and who can make a new one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app import password_links, users
from app.deps import LineDep, SessionDep
from app.domain import DomainError
from app.line import Line
from app.models import User
from app.web.flash import flash
from app.web.forms import Form, csrf_token
from app.web.render import render
from app.web.session import DashboardSessionDep

router = APIRouter(include_in_schema=False)

TOKEN_MAX = 80


def _page(
    request: Request, token: str, user: User | None, error: str | None = None, status: int = 200
) -> Response:
    csrf_token(request)
    return render(
        request,
        "password_link.html",
        status if user is not None else 404,
        token=token,
        login=user,
        error=error,
        password_min=users.PASSWORD_MIN,
    )


def _user(line: Line, session, token: str) -> User | None:
    secret = line.kept_secret(password_links.SECRET_KEY)
    return password_links.user_for_link(session, secret, line.now(), token[:TOKEN_MAX])


@router.get("/password-link/{token}")
def password_link_page(
    request: Request, token: str, line: LineDep, session: SessionDep, _s: DashboardSessionDep
) -> Response:
    return _page(request, token[:TOKEN_MAX], _user(line, session, token))


@router.post("/password-link/{token}")
def choose_password(
    request: Request, token: str, form: Form, line: LineDep, session: SessionDep
) -> Response:
    token = token[:TOKEN_MAX]
    user = _user(line, session, token)
    if user is None:
        return _page(request, token, None)
    password, again = form.get("password"), form.get("password_again")
    password = password[: users.PASSWORD_MAX * 2] if isinstance(password, str) else ""
    again = again[: users.PASSWORD_MAX * 2] if isinstance(again, str) else ""
    if not password:
        return _page(request, token, user, "Choose a password.", 422)
    if password != again:
        return _page(request, token, user, "The two passwords are not the same.", 422)
    secret = line.kept_secret(password_links.SECRET_KEY)
    try:
        done = password_links.set_password_by_link(session, line.now(), secret, token, password)
        session.commit()
    except DomainError as exc:
        session.rollback()
        said = exc.message[:1].upper() + exc.message[1:] + "."
        return _page(request, token, user, said, 422)
    flash(request, f"Your password is set. Sign in with {done.email} and your new password.")
    return RedirectResponse("/login", status_code=303)
