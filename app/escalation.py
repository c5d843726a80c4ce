"""Escalation: an attention item nobody acknowledged within the practice's call-back window
is texted to the one on call (someone not told yet), and a window later to the practice's
admin phone (`ivr.attention` decides when and to whom).

It runs from the notification worker's loop. Each escalation is written with its text in one
transaction (`AttentionItem.escalations`), so it is sent once, and a restart loses nothing.
The same pass raises an item for each therapist a 21610 refusal marked unable to get texts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import attention
from app.line import Line
from app.models import AttentionItem, Call, Client, Therapist
from app.notify import queue_text
from app.oncall import on_call_now
from ivr import attention as rules
from ivr.codes import AttentionKind, MessageKind
from ivr.scripts import Practice, first_name

log = logging.getLogger("coachline.escalation")

OLDEST = timedelta(days=7)  # an item older than this is past escalating (it stays listed)


def escalate_due(line: Line, limit: int = 50) -> int:
    """Escalate what is due now; returns how many items went further."""
    now = line.now()
    with line.sessions() as session, session.begin():
        settings = line.current_settings(session)
        attention.raise_unreachable_all(session, line, now)
        window = timedelta(minutes=settings.callback_window_minutes)
        blocked = select(Therapist.id).where(Therapist.sms_opted_out.is_(True))
        candidates = session.scalars(
            select(AttentionItem)
            .where(
                AttentionItem.acknowledged_at.is_(None),
                AttentionItem.escalations < rules.Stage.ADMIN,
                AttentionItem.created_at > now - OLDEST,
                # Due by time, or at once when the one told can no longer be texted.
                (AttentionItem.created_at <= now - window) | AttentionItem.alerted_id.in_(blocked),
            )
            .order_by(AttentionItem.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        blocked_ids = set(session.scalars(blocked))
        due = [
            item
            for item in candidates
            if (item.alerted_id in blocked_ids and item.escalations == rules.Stage.ALERTED)
            or rules.escalation_due(
                item.escalations, item.created_at, item.escalated_at, now, window
            )
        ]
        if not due:
            return 0
        on_call = on_call_now(session, now, settings.tz)
        escalated = 0
        for item in due:
            told = {i for i in (item.therapist_id, item.alerted_id, item.escalated_to_id) if i}
            step = rules.next_escalation(item.escalations, on_call, told, settings.admin_phone, now)
            if step is None:
                log.warning("attention item %s is due but nobody else can be told", item.id)
                continue
            _escalate(session, line, settings.practice, item, step, now)
            escalated += 1
    return escalated


def _escalate(
    session: Session,
    line: Line,
    practice: Practice,
    item: AttentionItem,
    step: rules.Escalation,
    now: datetime,
) -> None:
    if item.kind in (AttentionKind.THERAPIST_UNREACHABLE, AttentionKind.PIN_LOCKED):
        about = session.get(Therapist, item.therapist_id) if item.therapist_id else None
        name = first_name(about.name) if about else ""
    else:
        client = session.get(Client, item.client_id) if item.client_id else None
        name = first_name(client.name) if client else ""
    body = rules.escalation_body(AttentionKind(item.kind), name, item.created_at, practice)
    to_phone = step.therapist.phone if step.therapist else step.phone
    assert to_phone
    queue_text(
        session,
        line,
        to_phone=to_phone,
        body=body,
        kind=MessageKind.ESCALATION,
        therapist_id=step.therapist.id if step.therapist else None,
        client_id=item.client_id,
        call_id=item.call_id,
    )
    item.escalations, item.escalated_at = step.stage, now
    if step.therapist is not None:
        item.escalated_to_id = step.therapist.id
    if item.call_id is not None:
        call = session.get(Call, item.call_id)
        if call is not None and call.escalated_at is None:
            call.escalated_at = now
