"""Today: what needs attention (missed calls among it: `app.web.attention`), who is on call now
and next, active lockouts, and new success reports. A therapist sees their own clients' (and
the items they were texted about as the one on call)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from sqlalchemy import select

from app import attention, lockouts, oncall
from app.models import Client, Success
from app.web import attention as attention_list
from app.web.pages import PageDep

router = APIRouter(include_in_schema=False)
router.include_router(attention_list.router)

NEW_SUCCESS_DAYS = 7
MAX_ROWS = 100


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
        attention=attention_list.attention_rows(ctx, settings.callback_window_minutes),
        attention_open=attention.count_open(
            ctx.db, therapist_id=ctx.therapist_id, everyone=ctx.is_admin
        ),
        window_minutes=settings.callback_window_minutes,
        lockouts=active_lockouts(ctx),
        successes=new_successes(ctx),
        success_days=NEW_SUCCESS_DAYS,
    )
