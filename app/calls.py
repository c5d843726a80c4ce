"""Call records: one per CallSid, however often Twilio sends a webhook about the call; and a
client's missed calls, who they alerted, and their return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from app import attention
from app.db import insert_once
from app.models import UNRETURNED_MISSED, AttentionItem, Call, Client, Message
from ivr.codes import AttentionKind, MessageKind


def call_record(session: Session, call_sid: str, **fields: Any) -> Call:
    """The call record for a CallSid, made once even when Twilio retries the webhook (INSERT
    .. ON CONFLICT DO NOTHING); a retry keeps the first."""
    insert_once(session, Call.__table__, "call_sid", {"call_sid": call_sid, **fields})
    call = session.scalar(select(Call).where(Call.call_sid == call_sid))
    assert call is not None
    return call


def note_lifeline(session: Session, call_sid: str, now: datetime) -> None:
    """The caller pressed 1 and was put through to the 988 Lifeline (the first time kept)."""
    session.execute(
        update(Call)
        .where(Call.call_sid == call_sid, Call.lifeline_at.is_(None))
        .values(lifeline_at=now)
    )


def alerted(therapist_id: int) -> ColumnElement[bool]:
    """A missed call (a `Call` joined with its `Client`) alerted this therapist: the
    client's own therapist, the one it rang, anyone texted about it (told, or escalated
    to), and whoever its attention item is for or went to."""
    texted = select(Message.call_id).where(
        Message.therapist_id == therapist_id,
        Message.kind.in_((MessageKind.NOTIFICATION, MessageKind.ESCALATION)),
        Message.call_id.is_not(None),
    )
    item_for = select(AttentionItem.call_id).where(
        AttentionItem.kind == AttentionKind.MISSED_CALL,
        AttentionItem.call_id.is_not(None),
        or_(
            AttentionItem.therapist_id == therapist_id,
            AttentionItem.escalated_to_id == therapist_id,
        ),
    )
    return or_(
        Client.therapist_id == therapist_id,
        Call.therapist_id == therapist_id,
        Call.id.in_(texted),
        Call.id.in_(item_for),
    )


def return_missed_calls(
    session: Session, now: datetime, client_id: int, therapist_id: int | None, why: str
) -> list[int]:
    """A person reached the client (a call-back they answered, or a later call of theirs a
    coach took): every missed call of theirs still waiting is returned now by this
    therapist, and its attention item acknowledged. The ids of the calls returned."""
    ids = list(
        session.scalars(select(Call.id).where(Call.client_id == client_id, UNRETURNED_MISSED))
    )
    if not ids:
        return []
    session.execute(
        update(Call).where(Call.id.in_(ids)).values(returned_at=now, returned_by=therapist_id),
        execution_options={"synchronize_session": False},
    )
    actor = f"voice:therapist:{therapist_id}" if therapist_id else "voice"
    attention.acknowledge_calls(session, actor, now, ids, why)
    return ids
