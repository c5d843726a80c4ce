"""Dashboard sessions, kept on the server (`app.web.session` reads and writes them): how long
one lasts, which are still in use, ending a user's, and dropping those nobody can use."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.models import UserSession

# A dashboard session lasts a working day at most, and ends after two idle hours: a screen
# left signed in at the front desk does not stay open all afternoon.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=2)
# A session completed with a TOTP code keeps the code's time step this long (its window).
CODE_MEMORY = timedelta(minutes=2)


def live_session(now: datetime) -> Any:
    """The condition of a session still in use: not ended, not past its lifetime or idle time."""
    return (
        UserSession.ended_at.is_(None)
        & (UserSession.expires_at > now)
        & (UserSession.last_seen_at > now - SESSION_IDLE)
    )


def end_sessions(session: Session, user_id: int, now: datetime) -> int:
    """End every open dashboard session of the user (a saved cookie no longer works)."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


def purge_sessions(session: Session, now: datetime) -> int:
    """Delete the sessions nobody can use any more: ended, expired or idle too long; except
    those completed with a code in the last `CODE_MEMORY` (`app.two_factor` reads the code's
    time step on them, so that it cannot be used again)."""
    result = session.execute(
        delete(UserSession).where(
            or_(
                UserSession.ended_at.is_not(None),
                UserSession.expires_at <= now,
                UserSession.last_seen_at <= now - SESSION_IDLE,
            ),
            or_(
                UserSession.second_factor_at.is_(None),
                UserSession.second_factor_at <= now - CODE_MEMORY,
            ),
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


def live_session_counts(session: Session, now: datetime) -> dict[int, int]:
    """How many dashboard sessions each user has in use, by user id."""
    rows = session.execute(
        select(UserSession.user_id, func.count())
        .where(UserSession.user_id.is_not(None), live_session(now))
        .group_by(UserSession.user_id)
    )
    return {user_id: count for user_id, count in rows}
