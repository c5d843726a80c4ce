"""The on-call rotations on the schedule page (admin): add one, edit one. Changes go through
`app.schedule`, audited; the schedule page (`app.web.schedule`) lists them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.datastructures import FormData

from app import schedule
from app.domain import DomainError, Invalid
from app.models import Rotation, Therapist
from app.web.forms import Form, field_text
from app.web.pages import AdminPageDep, Page
from app.web.paging import as_id, row_or_404
from app.web.schedule import parse_clock

router = APIRouter(include_in_schema=False)


def _rotation_values(form: FormData, places: int) -> dict[str, Any]:
    members = []
    for i in range(places):
        member = as_id(field_text(form, f"member-{i}", 12))
        if member is not None:
            members.append(member)
    return {
        "name": field_text(form, "name", 400),
        "starts_on": field_text(form, "starts_on", 20),
        "handoff_time": field_text(form, "handoff_time", 10),
        "turn_days": field_text(form, "turn_days", 6),
        "therapist_ids": members,
        "active": form.get("active") == "on",
    }


def _rotation_form(ctx: Page, rotation: Rotation | None, values: dict[str, Any], error=None):
    active = list(
        ctx.db.scalars(select(Therapist).where(Therapist.active.is_(True)).order_by(Therapist.name))
    )
    places = max(len(active) + 1, len(values["therapist_ids"]) + 1, 3)
    return ctx.render(
        "rotation_form.html",
        422 if error else 200,
        rotation=rotation,
        values=values,
        therapists=active,
        places=places,
        error=error,
    )


def _rotation_args(values: dict[str, Any]) -> dict[str, Any]:
    try:
        starts_on = date.fromisoformat(values["starts_on"])
    except ValueError:
        raise Invalid("first handoff date: enter a date") from None
    try:
        turn_days = int(values["turn_days"])
    except ValueError:
        raise Invalid("turn length: enter a number of days") from None
    return {
        "name": values["name"],
        "starts_on": starts_on,
        "handoff_time": parse_clock(values["handoff_time"], "handoff time"),
        "turn_days": turn_days,
        "therapist_ids": values["therapist_ids"],
        "active": values["active"],
    }


@router.get("/schedule/rotations/new")
def new_rotation_form(ctx: AdminPageDep):
    today = ctx.fmt.local(ctx.now).date()
    monday = today - timedelta(days=today.weekday())
    values = {
        "name": "On-call rotation",
        "starts_on": monday.isoformat(),
        "handoff_time": "09:00",
        "turn_days": "7",
        "therapist_ids": [],
        "active": True,
    }
    return _rotation_form(ctx, None, values)


@router.post("/schedule/rotations/new")
def create_rotation(ctx: AdminPageDep, form: Form):
    values = _rotation_values(form, 60)
    try:
        schedule.create_rotation(ctx.db, ctx.actor, ctx.now, **_rotation_args(values))
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        return _rotation_form(ctx, None, values, exc.message)
    ctx.flash("Rotation added.")
    return ctx.redirect("/schedule#rotations")


def _rotation(ctx: Page, raw: str) -> Rotation:
    return row_or_404(ctx.db, Rotation, raw, "rotation")


@router.get("/schedule/rotations/{rotation_id}")
def edit_rotation_form(ctx: AdminPageDep, rotation_id: str):
    rotation = _rotation(ctx, rotation_id)
    values = {
        "name": rotation.name,
        "starts_on": rotation.starts_on.isoformat(),
        "handoff_time": rotation.handoff_time.strftime("%H:%M"),
        "turn_days": str(rotation.turn_days),
        "therapist_ids": schedule.member_ids(rotation),
        "active": rotation.active,
    }
    return _rotation_form(ctx, rotation, values)


@router.post("/schedule/rotations/{rotation_id}")
def update_rotation(ctx: AdminPageDep, form: Form, rotation_id: str):
    rotation = _rotation(ctx, rotation_id)
    values = _rotation_values(form, 60)
    try:
        schedule.update_rotation(ctx.db, ctx.actor, ctx.now, rotation.id, **_rotation_args(values))
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        return _rotation_form(ctx, _rotation(ctx, rotation_id), values, exc.message)
    ctx.flash("Rotation saved.")
    return ctx.redirect("/schedule#rotations")
