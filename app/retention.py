"""Retention: call records and texts older than RETENTION_DAYS are deleted, and the purge is
audited. The worker runs it at most once a day (`purge_if_due`); `coachline purge` runs it now.

Audit entries and lockouts are kept: they are the practice's record of who did what.

Voice messages live at Twilio: an old call's recording is deleted there first (a DELETE of
the Recording resource; a 404 counts as gone), outside any transaction, and only then is
its row deleted with the rest. When Twilio can't be reached (or refuses, or the line has no
credentials) the calls whose recordings are still there are kept, SID and all, past the
retention period: the row is the only way to find the recording again, and the next purge
tries again (within the hour when that purge deleted nothing else, else the next day). The
first failure ends that purge's deletes at Twilio, so a Twilio that is down costs one
timeout, not one per recording; at most BATCH recordings are deleted per purge.

Attention items: an acknowledged one is deleted once its acknowledgement is older than the
retention period; an open one is never deleted (it still needs a person), and loses its
link to a purged call or text (as a text does).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from app import user_sessions
from app.audit import audit
from app.db import transaction
from app.errors import describe
from app.line import Line
from app.models import AttentionItem, AuditEntry, Call, Message
from app.voice_messages import delete_at_twilio

log = logging.getLogger("coachline.retention")

ACTOR = "system:retention"
ACTION = "purge"
ENTITY = "records"
RECHECK = timedelta(hours=1)
EVERY = timedelta(hours=24)
# Serialises purges across instances on PostgreSQL (an arbitrary, fixed key).
_LOCK_KEY = 7_336_501
# Recordings deleted at Twilio per purge; the rest wait for the next.
BATCH = 200


def _lock(session: Session) -> None:
    """On PostgreSQL, one purge at a time across every instance (released at commit)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _before(line: Line, now: datetime) -> datetime:
    return now - timedelta(days=line.settings.retention_days)


def delete_recordings(line: Line, before: datetime) -> list[str]:
    """Delete at Twilio the recordings of calls from before `before`, outside any
    transaction (each is a request with a timeout). Returns the SIDs that are gone."""
    with line.sessions() as session:
        sids = list(
            session.scalars(
                select(Call.recording_sid)
                .where(Call.started_at < before, Call.recording_sid.is_not(None))
                .order_by(Call.started_at, Call.id)
                .limit(BATCH)
            )
        )
    if sids and not line.settings.twilio_configured:
        log.warning("%d old voice messages kept: no Twilio credentials to delete them", len(sids))
        return []
    gone: list[str] = []
    for sid in sids:
        try:
            delete_at_twilio(line, sid)
        except Exception as exc:
            left = len(sids) - len(gone)
            log.warning("%d old voice messages kept for the next purge: %s", left, describe(exc))
            break
        gone.append(sid)
    return gone


def _run(session: Session, stmt) -> int:
    return session.execute(stmt, execution_options={"synchronize_session": False}).rowcount


def _purge(
    session: Session, line: Line, now: datetime, recordings_gone: list[str]
) -> dict[str, int | str]:
    before = _before(line, now)
    if recordings_gone:
        _run(
            session,
            update(Call)
            .where(Call.recording_sid.in_(recordings_gone))
            .values(recording_sid=None, recording_url=None),
        )
    # An old call whose recording is still at Twilio stays, SID and all (see above).
    purged_call = (Call.started_at < before) & Call.recording_sid.is_(None)
    old_calls = select(Call.id).where(purged_call).scalar_subquery()
    old_messages = select(Message.id).where(Message.created_at < before).scalar_subquery()
    attention_items = _run(
        session, delete(AttentionItem).where(AttentionItem.acknowledged_at < before)
    )
    # The foreign keys say SET NULL; done here too, so the purge never depends on it.
    _run(session, update(Message).where(Message.call_id.in_(old_calls)).values(call_id=None))
    _run(
        session,
        update(Message).where(Message.reply_to_id.in_(old_messages)).values(reply_to_id=None),
    )
    _run(
        session,
        update(AttentionItem).where(AttentionItem.call_id.in_(old_calls)).values(call_id=None),
    )
    _run(
        session,
        update(AttentionItem)
        .where(AttentionItem.message_id.in_(old_messages))
        .values(message_id=None),
    )
    messages = _run(session, delete(Message).where(Message.created_at < before))
    calls = _run(session, delete(Call).where(purged_call))
    # Dashboard sessions nobody can use any more (sign-in also clears them): not audited.
    user_sessions.purge_sessions(session, now)
    if not (calls or messages or attention_items or recordings_gone):
        return {}
    changes: dict[str, int | str] = {
        "calls": calls,
        "messages": messages,
        "before": before.isoformat(),
    }
    # Only when there are some, so that the usual entry reads as it always has.
    if recordings_gone:
        changes["recordings"] = len(recordings_gone)
    if attention_items:
        changes["attention_items"] = attention_items
    kept = session.scalar(select(func.count()).select_from(Call).where(Call.started_at < before))
    if kept:
        changes["calls_kept_for_recordings"] = kept
    audit(session, ACTOR, ACTION, ENTITY, None, changes=changes, at=now)
    return changes


def purge(line: Line) -> dict[str, int | str]:
    """Delete calls and texts older than RETENTION_DAYS (their recordings at Twilio first),
    with one audit entry, in one transaction. Returns the audit entry's changes, or {} when
    nothing was old enough."""
    now = line.now()
    gone = delete_recordings(line, _before(line, now))
    with transaction(line.sessions) as session:
        _lock(session)
        return _purge(session, line, now, gone)


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
    with line.sessions() as session:
        if not _due(session, now):
            return None
    gone = delete_recordings(line, _before(line, now))
    with transaction(line.sessions) as session:
        _lock(session)
        if not _due(session, now):  # another instance purged meanwhile
            return None
        result = _purge(session, line, now, gone)
    line._retention_checked_at = now  # type: ignore[attr-defined]
    return result


def _due(session: Session, now: datetime) -> bool:
    last = last_purge(session)
    return last is None or now - last >= EVERY
