"""Who is signed in: the user the request's server-side session names, once sign-in is complete,
while they are not disabled and still have a password."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from app.models import User
from app.web.session import load


def signed_in_user(request: Request, session: Session) -> User | None:
    """Reads the session through `session` if this request has not yet (as the error page's)."""
    state = load(request, session, request.app.state.line.now())
    user_id = state.signed_in_user_id
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None or not user.password_hash:
        return None
    return user
