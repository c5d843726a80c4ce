"""Logins (admin): adding a user who signs in to the dashboard, and giving someone a password.

A new login has no password and no API token (`app.users.create_login`). Its password comes one
of two ways, from the login's password page:
- a link the admin passes on, where its owner chooses the password (`app.password_links`):
  shown once, working once, for a day; the admin never learns the password and nothing is
  texted (a text's body is kept, in the messages table and on the Logs page);
- or a password the admin types, judged by `app.passwords` like any other, never shown again.
Either ends the user's open sessions (`app.users.set_password`). All of it is audited. An admin
does neither for themself here (the command line's `coachline set-password` does).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from app import password_links, users
from app.domain import DomainError
from app.models import Therapist, User
from app.web.errors import WebError
from app.web.forms import Form, field_text
from app.web.pages import AdminPageDep, Page
from app.web.paging import as_id, row_or_404

router = APIRouter(include_in_schema=False)

ROLE_WORDS = {
    "therapist": "Therapist: sees their own clients, sets their own hours and away time",
    "admin": "Admin: runs the practice (every client, the settings, the users)",
}


def _said(exc: DomainError) -> str:
    return exc.message[:1].upper() + exc.message[1:] + "."


def _active_therapists(ctx: Page) -> list[Therapist]:
    stmt = select(Therapist).where(Therapist.active.is_(True)).order_by(Therapist.name)
    return list(ctx.db.scalars(stmt))


# ---- a new login -------------------------------------------------------------------------------


def _login_form(ctx: Page, values: dict[str, Any], errors: dict[str, str] | None = None):
    return ctx.render(
        "login_form.html",
        422 if errors else 200,
        values=values,
        errors=errors or {},
        therapists=_active_therapists(ctx),
        roles=ROLE_WORDS,
    )


@router.get("/users/new")
def new_login_form(ctx: AdminPageDep, therapist_id: str = ""):
    chosen = as_id(therapist_id)
    return _login_form(ctx, {"email": "", "role": "therapist", "therapist_id": chosen})


def _login_errors(ctx: Page, values: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values["email"]:
        errors["email"] = "Enter their email address: they sign in with it."
    if values["role"] not in ROLE_WORDS:
        errors["role"] = "Choose what they may do: therapist or admin."
    therapist_id = values["therapist_id"]
    therapist = ctx.db.get(Therapist, therapist_id) if therapist_id else None
    if therapist_id and (therapist is None or not therapist.active):
        errors["therapist_id"] = "That therapist is not active; reactivate them first."
    elif values["role"] == "therapist" and therapist is None:
        errors["therapist_id"] = "Choose the therapist this login is for."
    return errors


@router.post("/users/new")
def create_login(ctx: AdminPageDep, form: Form):
    values = {
        "email": field_text(form, "email", 300),
        "role": field_text(form, "role", 20),
        "therapist_id": as_id(field_text(form, "therapist_id", 12)),
    }
    errors = _login_errors(ctx, values)
    if errors:
        return _login_form(ctx, values, errors)
    try:
        user = users.create_login(ctx.db, ctx.actor, ctx.now, **values)
        ctx.db.commit()
    except DomainError as exc:  # what is left to refuse is about the email
        ctx.db.rollback()
        return _login_form(ctx, values, {"email": _said(exc)})
    ctx.flash(f"Added the login {user.email}. Now give them a password: a link, or type one.")
    return ctx.redirect(f"/users/{user.id}/password")


# ---- a password for a login -------------------------------------------------------------------


def _someone_else(ctx: Page, raw: str) -> User:
    user = row_or_404(ctx.db, User, raw, "user")
    if user.id == ctx.user.id:
        raise WebError(
            403,
            "Not here for yourself",
            "Another admin can set your password, or use `coachline set-password` on the server.",
        )
    return user


def _password_page(ctx: Page, user: User, error: str | None = None, link=None):
    therapist = ctx.db.get(Therapist, user.therapist_id) if user.therapist_id else None
    return ctx.render(
        "login_password.html",
        422 if error else 200,
        login=user,
        therapist=therapist,
        errors={"password": error} if error else {},
        link=link,
        link_hours=int(password_links.LIFETIME.total_seconds() // 3600),
        password_min=users.PASSWORD_MIN,
    )


@router.get("/users/{user_id}/password")
def password_page(ctx: AdminPageDep, user_id: str):
    return _password_page(ctx, _someone_else(ctx, user_id))


@router.post("/users/{user_id}/password")
def set_password(ctx: AdminPageDep, form: Form, user_id: str):
    user = _someone_else(ctx, user_id)
    password, again = form.get("password"), form.get("password_again")
    password = password[: users.PASSWORD_MAX * 2] if isinstance(password, str) else ""
    again = again[: users.PASSWORD_MAX * 2] if isinstance(again, str) else ""
    if user.disabled_at is not None:
        return _password_page(ctx, user, "They are disabled: enable them on Users first.")
    if not password:
        return _password_page(ctx, user, "Type the new password.")
    if password != again:
        return _password_page(ctx, user, "The two passwords are not the same.")
    try:
        users.set_password(ctx.db, ctx.actor, ctx.now, user.email, password)
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        return _password_page(ctx, user, _said(exc))
    ctx.flash(
        f"Set a new password for {user.email}, and signed them out everywhere. "
        "Pass it on to them by a way you trust."
    )
    return ctx.redirect("/users")


@router.post("/users/{user_id}/password-link")
def make_password_link(ctx: AdminPageDep, _form: Form, user_id: str):
    user = _someone_else(ctx, user_id)
    secret = ctx.line.kept_secret(password_links.SECRET_KEY)
    try:
        token, expires_at = password_links.make_link(ctx.db, ctx.actor, ctx.now, secret, user.id)
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        ctx.flash(_said(exc), "error")
        return ctx.redirect("/users")
    base = ctx.line.settings.public_base_url.rstrip("/")
    link = {"url": f"{base}/password-link/{token}", "expires_at": expires_at}
    return _password_page(ctx, user, link=link)
