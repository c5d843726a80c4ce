"""Today: who is on call now and next, missed calls waiting for a call-back, active lockouts,
and new success reports. A therapist sees their own clients (and any missed call they were
texted about as the one on call)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter
from sqlalchemy import or_, select

from app import lockouts, oncall
from app.models import UNRETURNED_MISSED, Call, Client, Message, Success, Therapist
from app.web.pages import PageDep

router = APIRouter(include_in_schema=False)

WAITING_DAYS = 7  # as the therapists' phone menu: older missed calls are no longer listed
NEW_SUCCESS_DAYS = 7
MAX_ROWS = 100


@dataclass(frozen=True)
class Waiting:
    call: Call
    client: Client
    therapist_name: str | None
    overdue: bool
    visible: bool


def own_clients(therapist_id: int | None):
    return select(Client.id).where(Client.therapist_id == therapist_id)


def missed_calls(ctx, window_minutes: int) -> list[Waiting]:
    """Missed calls nobody has returned, longest waiting first."""
    stmt = (
        select(Call, Client)
        .join(Client, Client.id == Call.client_id)
        .where(
            UNRETURNED_MISSED,
            Call.started_at >= ctx.now - timedelta(days=WAITING_DAYS),
        )
        .order_by(Call.started_at, Call.id)
        .limit(MAX_ROWS)
    )
    if not ctx.is_admin:
        told = select(Message.call_id).where(
            Message.therapist_id == ctx.therapist_id,
            Message.kind.in_(("notification", "escalation")),
            Message.call_id.is_not(None),
        )
        stmt = stmt.where(or_(Client.therapist_id == ctx.therapist_id, Call.id.in_(told)))
    rows = ctx.db.execute(stmt).all()
    names = dict(ctx.db.execute(select(Therapist.id, Therapist.name)).all())
    window = timedelta(minutes=window_minutes)
    return [
        Waiting(
            call=call,
            client=client,
            therapist_name=names.get(client.therapist_id),
            overdue=ctx.now - call.started_at >= window,
            visible=ctx.is_admin or client.therapist_id == ctx.therapist_id,
        )
        for call, client in rows
    ]


def active_lockouts(ctx) -> list[tuple[Client, datetime]]:
    locked = lockouts.locked_out_now(ctx.db, ctx.now)
    if ctx.is_admin:
        return locked
    return [(c, until) for c, until in locked if c.therapist_id == ctx.therapist_id]


def new_successes(ctx) -> list[tuple[Success, Client]]:
    stmt = (
        select(Success, Client)
        .join(Client, Client.id == Success.client_id)
        .where(Success.received_at >= ctx.now - timedelta(days=NEW_SUCCESS_DAYS))
        .order_by(Success.received_at.desc(), Success.id.desc())
        .limit(MAX_ROWS)
    )
    if not ctx.is_admin:
        stmt = stmt.where(Client.therapist_id == ctx.therapist_id)
    return [(s, c) for s, c in ctx.db.execute(stmt).all()]


@router.get("/")
def today(ctx: PageDep):
    settings = ctx.line.current_settings(ctx.db)
    report = oncall.on_call_report(ctx.db, ctx.now, ctx.tz)
    gaps = oncall.upcoming_gaps(ctx.db, ctx.now, ctx.tz)
    return ctx.render(
        "today.html",
        report=report,
        gaps=gaps,
        waiting=missed_calls(ctx, settings.callback_window_minutes),
        window_minutes=settings.callback_window_minutes,
        lockouts=active_lockouts(ctx),
        successes=new_successes(ctx),
        success_days=NEW_SUCCESS_DAYS,
        waiting_days=WAITING_DAYS,
    )
