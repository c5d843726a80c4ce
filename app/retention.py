"""Retention: call records and texts older than RETENTION_DAYS are deleted, and the purge is
audited. The worker runs it at most once a day (`purge_if_due`); `coachline purge` runs it now.

Audit entries and lockouts are kept: they are the practice's record of who did what.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from app.audit import audit
from app.db import transaction
from app.line import Line
from app.models import AuditEntry, Call, Message

ACTOR = "system:retention"
ACTION = "purge"
ENTITY = "records"
RECHECK = timedelta(hours=1)
EVERY = timedelta(hours=24)
# Serialises purges across instances on PostgreSQL (an arbitrary, fixed key).
_LOCK_KEY = 7_336_501


def _lock(session: Session) -> None:
    """On PostgreSQL, one purge at a time across every instance (released at commit)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _purge(session: Session, line: Line, now: datetime) -> dict[str, int | str]:
    before = now - timedelta(days=line.settings.retention_days)
    old_calls = select(Call.id).where(Call.started_at < before).scalar_subquery()
    old_messages = select(Message.id).where(Message.created_at < before).scalar_subquery()
    # The foreign keys say SET NULL; done here too, so the purge never depends on it.
    session.execute(
        update(Message).where(Message.call_id.in_(old_calls)).values(call_id=None),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Message).where(Message.reply_to_id.in_(old_messages)).values(reply_to_id=None),
        execution_options={"synchronize_session": False},
    )
    messages = session.execute(
        delete(Message).where(Message.created_at < before),
        execution_options={"synchronize_session": False},
    ).rowcount
    calls = session.execute(
        delete(Call).where(Call.started_at < before),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not calls and not messages:
        return {}
    changes: dict[str, int | str] = {
        "calls": calls,
        "messages": messages,
        "before": before.isoformat(),
    }
    audit(session, ACTOR, ACTION, ENTITY, None, changes=changes, at=now)
    return changes


def purge(line: Line) -> dict[str, int | str]:
    """Delete calls and texts older than RETENTION_DAYS, with one audit entry, in one
    transaction. Returns the audit entry's changes, or {} when nothing was old enough."""
    with transaction(line.sessions) as session:
        _lock(session)
        return _purge(session, line, line.now())


def last_purge(session: Session) -> datetime | None:
    return session.scalar(
        select(AuditEntry.at)
        .where(AuditEntry.actor == ACTOR, AuditEntry.action == ACTION)
        .order_by(AuditEntry.at.desc())
        .limit(1)
    )


def purge_if_due(line: Line) -> dict[str, int | str] | None:
    """Purge unless the audit log shows a purge in the last 24 hours (so it holds across
    restarts and instances). Returns None when not due, else what `purge` returns."""
    now = line.now()
    # A purge that found nothing leaves no audit entry; this process then waits an hour
    # before looking again rather than scanning on every worker pass.
    checked = getattr(line, "_retention_checked_at", None)
    if checked is not None and now - checked < RECHECK:
        return None
    with transaction(line.sessions) as session:
        _lock(session)
        last = last_purge(session)
        if last is not None and now - last < EVERY:
            return None
        result = _purge(session, line, now)
    line._retention_checked_at = now  # type: ignore[attr-defined]
    return result
