"""Attention items: what needs a person, raised with its alert text in the transaction of the
event that caused it, listed for whoever handles it, and acknowledged with an audit entry
(`ivr.attention` says who is told and what the texts say)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.orm import Session

from app.audit import audit
from app.db import insert_once
from app.domain import Conflict, Invalid, NotFound, clean_text
from app.line import Line
from app.models import AttentionItem, Call, Client, Therapist
from app.notify import queue_text
from app.oncall import on_call_now
from ivr.attention import Notice, first_textable, unreachable_body
from ivr.codes import AttentionKind
from ivr.scripts import first_name

ENTITY = "attention_item"


def raise_item(
    session: Session,
    line: Line,
    now: datetime,
    kind: AttentionKind,
    *,
    client_id: int | None,
    responsible_id: int | None,
    notice: Notice | None,
    call_id: int | None = None,
    message_id: int | None = None,
    for_therapist_id: int | None = None,
) -> bool:
    """Open an item and queue its alert, once per call or text and kind (a webhook Twilio
    retries raises nothing twice). The item is for `for_therapist_id` when given, else for
    whoever is texted, else for `responsible_id`. True when it is new."""
    for_id = for_therapist_id or (notice.therapist_id if notice else responsible_id)
    values = {
        "kind": kind,
        "client_id": client_id,
        "therapist_id": for_id,
        "alerted_id": notice.therapist_id if notice else None,
        "call_id": call_id,
        "message_id": message_id,
        "created_at": now,
        "escalations": 0,
    }
    if call_id is not None:
        new = insert_once(session, AttentionItem.__table__, ("kind", "call_id"), values)
    elif message_id is not None:
        new = insert_once(session, AttentionItem.__table__, ("kind", "message_id"), values)
    else:
        session.add(AttentionItem(**values))
        new = True
    if new and notice is not None:
        queue_text(
            session,
            line,
            to_phone=notice.phone,
            body=notice.body,
            therapist_id=notice.therapist_id,
            client_id=client_id,
            call_id=call_id,
        )
    return new


def _open_unreachable(therapist_id: Any):
    return select(AttentionItem.id).where(
        AttentionItem.kind == AttentionKind.THERAPIST_UNREACHABLE,
        AttentionItem.therapist_id == therapist_id,
        AttentionItem.acknowledged_at.is_(None),
    )


def raise_unreachable(session: Session, line: Line, now: datetime, therapist: Therapist) -> bool:
    """A therapist the line cannot text (they replied STOP, or Twilio refused with 21610): an
    item about them, once while it is open, told to the one on call, who now gets their
    alerts (`ivr.ringing.notice_recipient`)."""
    if session.scalar(_open_unreachable(therapist.id)) is not None:
        return False
    on_call = on_call_now(session, now, line.settings.tz)
    to = first_textable(on_call, {therapist.id}, now)
    body = unreachable_body(first_name(therapist.name))
    return raise_item(
        session,
        line,
        now,
        AttentionKind.THERAPIST_UNREACHABLE,
        client_id=None,
        responsible_id=therapist.id,
        notice=Notice(to.id, to.phone, body) if to else None,
        for_therapist_id=therapist.id,
    )


def raise_unreachable_all(session: Session, line: Line, now: datetime) -> int:
    """An item for every active therapist marked unable to get texts who has none open (a
    21610 refusal marks them in the delivery worker, which raises nothing itself)."""
    rows = session.scalars(
        select(Therapist).where(
            Therapist.sms_opted_out.is_(True),
            Therapist.active.is_(True),
            ~exists(_open_unreachable(Therapist.id)),
        )
    ).all()
    return sum(raise_unreachable(session, line, now, therapist) for therapist in rows)


def clear_unreachable(session: Session, actor: str, now: datetime, therapist_id: int) -> None:
    """The therapist texted START: the line can text them again."""
    session.execute(
        update(AttentionItem)
        .where(AttentionItem.id.in_(_open_unreachable(therapist_id)))
        .values(acknowledged_at=now, acknowledged_by=actor, acknowledge_note="texted START"),
        execution_options={"synchronize_session": False},
    )


def visible_to(therapist_id: int | None):
    """A therapist's own items: those for them, those they were texted of (first, or by
    escalation: they were told to act on it, so they must be able to see and acknowledge it),
    and those about their own clients."""
    own_clients = select(Client.id).where(Client.therapist_id == therapist_id)
    return or_(
        AttentionItem.therapist_id == therapist_id,
        AttentionItem.alerted_id == therapist_id,
        AttentionItem.escalated_to_id == therapist_id,
        AttentionItem.client_id.in_(own_clients),
    )


def visible_items(
    *, therapist_id: int | None, everyone: bool, include_acknowledged: bool = False
) -> Select[tuple[AttentionItem]]:
    """The items an actor may see, unordered: everyone's (an admin) or one therapist's own."""
    stmt = select(AttentionItem)
    if not include_acknowledged:
        stmt = stmt.where(AttentionItem.acknowledged_at.is_(None))
    if not everyone:
        stmt = stmt.where(visible_to(therapist_id))
    return stmt


NEWEST_FIRST = (AttentionItem.created_at.desc(), AttentionItem.id.desc())


def list_items(
    session: Session,
    *,
    therapist_id: int | None,
    everyone: bool,
    include_acknowledged: bool = False,
    limit: int = 200,
) -> list[AttentionItem]:
    """Items newest first: everyone's (an admin) or one therapist's own."""
    stmt = visible_items(
        therapist_id=therapist_id, everyone=everyone, include_acknowledged=include_acknowledged
    )
    return list(session.scalars(stmt.order_by(*NEWEST_FIRST).limit(limit)))


def count_open(session: Session, *, therapist_id: int | None, everyone: bool) -> int:
    """How many open items an actor may see (the dashboard's navigation badge)."""
    stmt = visible_items(therapist_id=therapist_id, everyone=everyone)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def get_item(
    session: Session, item_id: int, *, therapist_id: int | None, everyone: bool
) -> AttentionItem:
    """One item the actor may see (another therapist's is not found, not forbidden: its
    existence is not theirs to know)."""
    stmt = select(AttentionItem).where(AttentionItem.id == item_id)
    if not everyone:
        stmt = stmt.where(visible_to(therapist_id))
    item = session.scalar(stmt)
    if item is None:
        raise NotFound(f"attention item {item_id} not found")
    return item


def acknowledge(
    session: Session,
    actor: str,
    now: datetime,
    item: AttentionItem,
    note: str | None,
    therapist_id: int | None = None,
) -> AttentionItem:
    """Mark an item handled by `actor` (the therapist `therapist_id`, when one), with an
    optional note, and audit it. A missed call acknowledged by hand needs the note (how the
    client was reached), and then counts as returned: it leaves the call-back menu too."""
    if item.acknowledged_at is not None:
        raise Conflict("this item was already acknowledged")
    note = clean_text(note, "note")
    if item.kind == AttentionKind.MISSED_CALL:
        if not note:
            raise Invalid("note is required for a missed call: say how the client was reached")
        call = session.get(Call, item.call_id) if item.call_id else None
        if call is not None and call.returned_at is None:
            call.returned_at, call.returned_by = now, therapist_id
    item.acknowledged_at, item.acknowledged_by, item.acknowledge_note = now, actor, note
    audit(
        session,
        actor,
        "acknowledge",
        ENTITY,
        item.id,
        reason=note,
        changes={"kind": item.kind, "client_id": item.client_id},
        at=now,
    )
    return item


def acknowledge_calls(
    session: Session, actor: str, now: datetime, call_ids: Iterable[int], why: str
) -> None:
    """The missed-call items of these calls are handled (the calls were returned)."""
    ids = list(call_ids)
    if not ids:
        return
    session.execute(
        update(AttentionItem)
        .where(
            AttentionItem.kind == AttentionKind.MISSED_CALL,
            AttentionItem.call_id.in_(ids),
            AttentionItem.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=now, acknowledged_by=actor, acknowledge_note=why),
        execution_options={"synchronize_session": False},
    )
