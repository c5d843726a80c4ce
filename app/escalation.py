"""Escalation: a missed call nobody has returned within the call-back window is texted to
the on-call therapist (or the backup, when the one on call is who was told already).

It runs from the notification worker's loop. Each escalation is written with its text in
one transaction (`Call.escalated_at`), so it is sent once, and a restart loses nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from app.line import Line
from app.models import UNRETURNED_MISSED, Call, Client, Message
from app.notify import queue_text
from app.oncall import on_call_now
from ivr import ringing
from ivr.codes import MessageKind
from ivr.scripts import clock_time, first_name

log = logging.getLogger("coachline.escalation")

OLDEST = timedelta(days=7)  # a call older than this is past escalating


def escalate_unreturned(line: Line, limit: int = 50) -> int:
    """Escalate what is due now; returns how many were escalated."""
    now = line.now()
    escalated = 0
    with line.sessions() as session, session.begin():
        # The call-back window as the practice set it on the dashboard, if it did.
        window = timedelta(minutes=line.current_settings(session).callback_window_minutes)
        due = session.scalars(
            select(Call)
            .where(
                UNRETURNED_MISSED,
                Call.escalated_at.is_(None),
                Call.client_id.is_not(None),
                Call.started_at <= now - window,
                Call.started_at > now - OLDEST,
            )
            .order_by(Call.started_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not due:
            return 0
        on_call = on_call_now(session, now, line.settings.tz)
        on_call = [t for t in on_call if ringing.reachable(t, now)]
        for call in due:
            client = session.get(Client, call.client_id)
            told = session.scalar(
                select(Message.therapist_id).where(
                    Message.call_id == call.id, Message.kind == MessageKind.NOTIFICATION
                )
            )
            recipient = next((t for t in on_call if t.id != told), None)
            if recipient is None:
                log.warning(
                    "missed call %s is due for escalation but nobody else is on call", call.id
                )
                continue
            body = (
                f"{first_name(client.name)}'s {clock_time(call.started_at, line.settings.tz)} "
                "coaching call hasn't been returned."
            )
            queue_text(
                session,
                line,
                to_phone=recipient.phone,
                body=body,
                kind=MessageKind.ESCALATION,
                therapist_id=recipient.id,
                client_id=client.id,
                call_id=call.id,
            )
            call.escalated_at = now
            escalated += 1
    return escalated
