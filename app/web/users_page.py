"""Users (admin): everyone who signs in to the dashboard or uses the API, with their role, whether
they are disabled, their dashboard sessions in use and their API tokens; and the buttons to
disable or enable a user, end their sessions, revoke their tokens, and reset their two-factor
sign-in (a lost phone).

Each action goes through `app.users` (audited there) and answers with a flash. An admin cannot
disable themself here (the command line can disable any user but the last enabled admin).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from app import two_factor, user_sessions, users
from app.domain import Conflict, DomainError
from app.models import ApiToken, Therapist, User
from app.web.forms import Form
from app.web.pages import AdminPageDep, Page
from app.web.paging import row_or_404

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class UserRow:
    user: User
    therapist: str | None  # the therapist's name, for a therapist user
    therapist_active: bool
    sessions: int
    tokens: list[ApiToken]  # live ones, oldest first
    last_token_at: datetime | None

    @property
    def disabled(self) -> bool:
        return self.user.disabled_at is not None


def user_rows(ctx: Page) -> list[UserRow]:
    everyone = list(ctx.db.scalars(select(User).order_by(User.role, User.email)))
    therapists = {t.id: t for t in ctx.db.scalars(select(Therapist))}
    sessions = user_sessions.live_session_counts(ctx.db, ctx.now)
    live: dict[int, list[ApiToken]] = {}
    for token in ctx.db.scalars(
        select(ApiToken).where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
    ):
        live.setdefault(token.user_id, []).append(token)
    rows = []
    for user in everyone:
        therapist = therapists.get(user.therapist_id) if user.therapist_id else None
        tokens = live.get(user.id, [])
        rows.append(
            UserRow(
                user=user,
                therapist=therapist.name if therapist else None,
                therapist_active=therapist.active if therapist else True,
                sessions=sessions.get(user.id, 0),
                tokens=tokens,
                last_token_at=tokens[-1].created_at if tokens else None,
            )
        )
    return rows


@router.get("/users")
def users_list(ctx: AdminPageDep):
    return ctx.render("users.html", rows=user_rows(ctx))


def _act(ctx: Page, user_id: str, act: Callable[[User], str]) -> RedirectResponse:
    """Run an action on a user, commit it, and say what happened (or why not)."""
    user = row_or_404(ctx.db, User, user_id, "user")
    try:
        message = act(user)
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        ctx.flash(exc.message[:1].upper() + exc.message[1:] + ".", "error")
    else:
        ctx.flash(message)
    return ctx.redirect("/users")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@router.post("/users/{user_id}/disable")
def disable(ctx: AdminPageDep, user_id: str, _form: Form):
    def act(user: User) -> str:
        if user.id == ctx.user.id:
            raise Conflict("you cannot disable yourself; another admin can")
        users.disable_user(ctx.db, ctx.actor, ctx.now, user.id, reason="disabled on the dashboard")
        return f"{user.email} is disabled: signed out everywhere, and their API tokens revoked."

    return _act(ctx, user_id, act)


@router.post("/users/{user_id}/enable")
def enable(ctx: AdminPageDep, user_id: str, _form: Form):
    def act(user: User) -> str:
        users.enable_user(ctx.db, ctx.actor, ctx.now, user.id)
        return f"{user.email} can sign in again. Their old API tokens stay revoked."

    return _act(ctx, user_id, act)


@router.post("/users/{user_id}/end-sessions")
def end_sessions(ctx: AdminPageDep, user_id: str, _form: Form):
    def act(user: User) -> str:
        ended = users.end_user_sessions(ctx.db, ctx.actor, ctx.now, user.id)
        return f"Ended {_plural(ended, 'dashboard session')} of {user.email}."

    return _act(ctx, user_id, act)


@router.post("/users/{user_id}/reset-two-factor")
def reset_two_factor(ctx: AdminPageDep, user_id: str, _form: Form):
    def act(user: User) -> str:
        if user.id == ctx.user.id:
            raise Conflict("you cannot reset your own two-factor here; another admin can")
        two_factor.reset(ctx.db, ctx.actor, ctx.now, user.id)
        return (
            f"Two-factor sign-in of {user.email} is reset, and they are signed out. "
            "They set it up again at their next sign-in if they must."
        )

    return _act(ctx, user_id, act)


@router.post("/users/{user_id}/revoke-tokens")
def revoke_tokens(ctx: AdminPageDep, user_id: str, _form: Form):
    def act(user: User) -> str:
        revoked = users.revoke_tokens(ctx.db, ctx.actor, ctx.now, user.id)
        return f"Revoked {_plural(len(revoked), 'API token')} of {user.email}."

    return _act(ctx, user_id, act)
