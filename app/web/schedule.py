"""The schedule: who is on call (the rotation, overrides, explicit shifts), gaps in coverage,
who is away, and the weekly coaching hours as a week view.

Every signed-in user sees it. A therapist sets their own away and hours; the admin sets
anyone's, and changes rotations and overrides. Changes go through `app.therapists` and
`app.schedule`, audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from fastapi import APIRouter
from sqlalchemy import select
from starlette.datastructures import FormData

from app import oncall, schedule, therapists
from app.domain import DomainError, Invalid
from app.models import OnCallOverride, OnCallShift, Rotation, Therapist
from app.web.errors import WebError
from app.web.forms import Form, field_text, parse_local
from app.web.pages import AdminPageDep, Page, PageDep
from app.web.paging import as_id, row_or_404
from ivr import oncall as ivr_oncall

router = APIRouter(include_in_schema=False)

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
AHEAD = timedelta(days=14)
MAX_SEGMENTS = 80
MIN_SLOTS = 2  # time windows offered per day on the hours form


@dataclass(frozen=True)
class Stretch:
    starts_at: datetime
    ends_at: datetime
    names: list[tuple[str, str]]  # (name, source) in ring order; empty: a gap


@dataclass(frozen=True)
class OverrideRow:
    """An override as the schedule shows it: the reason only to an admin and to the therapist
    it is about (another's reason can be as private as "surgery")."""

    id: int
    therapist_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str | None

    @classmethod
    def shown_to(cls, ctx: Page, override: OnCallOverride) -> OverrideRow:
        own = ctx.can_manage_therapist(override.therapist_id)
        return cls(
            override.id,
            override.therapist_id,
            override.starts_at,
            override.ends_at,
            override.reason if own else None,
        )


def _therapist(ctx: Page, raw: str) -> Therapist:
    return row_or_404(ctx.db, Therapist, raw, "therapist")


def _may_manage(ctx: Page, therapist: Therapist) -> None:
    if not ctx.can_manage_therapist(therapist.id):
        raise WebError(
            403,
            "Not yours to change",
            "A therapist sets their own away and hours; the admin sets anyone's.",
        )


def stretches(ctx: Page, names: dict[int, str]) -> list[Stretch]:
    """Who is on call from now for two weeks, cut where it changes."""
    start, end = ctx.now, ctx.now + AHEAD
    loaded = oncall.load_schedule(ctx.db, start, end)
    active = oncall.active_therapist_ids(ctx.db, loaded.therapist_ids())
    result = []
    for segment in ivr_oncall.timeline(
        start, end, loaded.rotations, loaded.overrides, loaded.shifts, ctx.tz, active
    ):
        result.append(
            Stretch(
                segment.starts_at,
                segment.ends_at,
                [(names.get(c.therapist_id, "?"), c.source) for c in segment.on_call],
            )
        )
        if len(result) >= MAX_SEGMENTS:
            break
    return result


def hours_label(start: time, end: time) -> str:
    def short(t: time) -> str:
        return t.strftime("%I:%M %p").lstrip("0").replace(":00 ", " ")

    label = f"{short(start)} – {short(end)}"
    return label + " (next day)" if end <= start else label


@router.get("/schedule")
def schedule_page(ctx: PageDep):
    everyone = list(ctx.db.scalars(select(Therapist).order_by(Therapist.name, Therapist.id)))
    names = {t.id: t.name for t in everyone}
    active = [t for t in everyone if t.active]
    week: dict[int, list[list[str]]] = {}
    for therapist in active:
        days: list[list[str]] = [[] for _ in DAYS]
        for window in sorted(therapist.hours, key=lambda h: (h.weekday, h.start)):
            days[window.weekday].append(hours_label(window.start, window.end))
        week[therapist.id] = days
    rotations = list(ctx.db.scalars(select(Rotation).order_by(Rotation.active.desc(), Rotation.id)))
    overrides = [
        OverrideRow.shown_to(ctx, o)
        for o in ctx.db.scalars(
            select(OnCallOverride)
            .where(OnCallOverride.ends_at > ctx.now)
            .order_by(OnCallOverride.starts_at, OnCallOverride.id)
            .limit(100)
        )
    ]
    shifts = list(
        ctx.db.scalars(
            select(OnCallShift)
            .where(OnCallShift.ends_at > ctx.now)
            .order_by(OnCallShift.starts_at, OnCallShift.id)
            .limit(100)
        )
    )
    return ctx.render(
        "schedule.html",
        report=oncall.on_call_report(ctx.db, ctx.now, ctx.tz),
        gaps=oncall.upcoming_gaps(ctx.db, ctx.now, ctx.tz),
        stretches=stretches(ctx, names),
        horizon_end=ctx.now + AHEAD,
        therapists=active,
        names=names,
        week=week,
        days=DAYS,
        rotations=rotations,
        overrides=overrides,
        shifts=shifts,
        default_start=ctx.fmt.input_value(ctx.now),
        default_end=ctx.fmt.input_value(ctx.now + timedelta(hours=12)),
        default_away=ctx.fmt.input_value(ctx.now + timedelta(hours=2)),
    )


# ---- away -------------------------------------------------------------------------------------


@router.post("/schedule/away/{therapist_id}")
def set_away(ctx: PageDep, form: Form, therapist_id: str):
    therapist = _therapist(ctx, therapist_id)
    _may_manage(ctx, therapist)
    try:
        until = parse_local(field_text(form, "until", 40), ctx.tz, "Away until")
        therapists.set_away(ctx.db, ctx.actor, ctx.now, therapist.id, until)
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        ctx.flash(f"Not saved: {exc.message}.", "error")
        return ctx.redirect("/schedule#away")
    ctx.flash(f"{therapist.name} is away until {ctx.fmt.when(until)}.")
    return ctx.redirect("/schedule#away")


@router.post("/schedule/away/{therapist_id}/clear")
def clear_away(ctx: PageDep, _form: Form, therapist_id: str):
    therapist = _therapist(ctx, therapist_id)
    _may_manage(ctx, therapist)
    therapists.clear_away(ctx.db, ctx.actor, ctx.now, therapist.id)
    ctx.db.commit()
    ctx.flash(f"{therapist.name} is back.")
    return ctx.redirect("/schedule#away")


# ---- weekly coaching hours --------------------------------------------------------------------


def _hours_slots(therapist: Therapist) -> list[list[tuple[str, str]]]:
    slots: list[list[tuple[str, str]]] = [[] for _ in DAYS]
    for window in sorted(therapist.hours, key=lambda h: (h.weekday, h.start)):
        slots[window.weekday].append((window.start.strftime("%H:%M"), window.end.strftime("%H:%M")))
    for day in slots:
        while len(day) < MIN_SLOTS:
            day.append(("", ""))
    return slots


def _posted_slots(form: FormData) -> list[list[tuple[str, str]]]:
    slots: list[list[tuple[str, str]]] = []
    for day in range(len(DAYS)):
        pairs = []
        for i in range(10):
            start = field_text(form, f"start-{day}-{i}", 10)
            end = field_text(form, f"end-{day}-{i}", 10)
            if f"start-{day}-{i}" not in form and f"end-{day}-{i}" not in form:
                break
            pairs.append((start, end))
        while len(pairs) < MIN_SLOTS:
            pairs.append(("", ""))
        slots.append(pairs)
    return slots


def parse_clock(raw: str, what: str) -> time:
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{what}: enter a time such as 09:00") from None


def _windows(slots: list[list[tuple[str, str]]]) -> list[therapists.HoursWindow]:
    windows = []
    for day, pairs in enumerate(slots):
        for start, end in pairs:
            if not start and not end:
                continue
            if not start or not end:
                raise Invalid(f"{DAYS[day]}: give both a start and an end")
            windows.append(
                therapists.HoursWindow(
                    day,
                    parse_clock(start, DAYS[day]).replace(second=0, microsecond=0),
                    parse_clock(end, DAYS[day]).replace(second=0, microsecond=0),
                )
            )
    return windows


@router.get("/schedule/hours/{therapist_id}")
def hours_form(ctx: PageDep, therapist_id: str):
    therapist = _therapist(ctx, therapist_id)
    _may_manage(ctx, therapist)
    return ctx.render(
        "hours_form.html", therapist=therapist, slots=_hours_slots(therapist), days=DAYS
    )


@router.post("/schedule/hours/{therapist_id}")
def save_hours(ctx: PageDep, form: Form, therapist_id: str):
    therapist = _therapist(ctx, therapist_id)
    _may_manage(ctx, therapist)
    slots = _posted_slots(form)
    try:
        therapists.set_hours(ctx.db, ctx.actor, ctx.now, therapist.id, _windows(slots))
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        return ctx.render(
            "hours_form.html", 422, therapist=therapist, slots=slots, days=DAYS, error=exc.message
        )
    ctx.flash(f"Saved {therapist.name}'s coaching hours.")
    return ctx.redirect("/schedule#hours")


# ---- overrides (admin) ------------------------------------------------------------------------


@router.post("/schedule/overrides")
def add_override(ctx: AdminPageDep, form: Form):
    try:
        therapist_id = as_id(field_text(form, "therapist_id", 12))
        if therapist_id is None:
            raise Invalid("choose who is on call instead")
        override = schedule.add_override(
            ctx.db,
            ctx.actor,
            ctx.now,
            therapist_id=therapist_id,
            starts_at=parse_local(field_text(form, "starts_at", 40), ctx.tz, "From"),
            ends_at=parse_local(field_text(form, "ends_at", 40), ctx.tz, "Until"),
            reason=field_text(form, "reason", 2500) or None,
        )
        ctx.db.commit()
    except DomainError as exc:
        ctx.db.rollback()
        ctx.flash(f"Override not added: {exc.message}.", "error")
        return ctx.redirect("/schedule#overrides")
    ctx.flash(
        f"Override added: {ctx.fmt.when(override.starts_at)} to {ctx.fmt.when(override.ends_at)}."
    )
    return ctx.redirect("/schedule#overrides")


@router.post("/schedule/overrides/{override_id}/delete")
def delete_override(ctx: AdminPageDep, _form: Form, override_id: str):
    override = row_or_404(ctx.db, OnCallOverride, override_id, "override")
    schedule.delete_override(ctx.db, ctx.actor, ctx.now, override.id)
    ctx.db.commit()
    ctx.flash("Override removed.")
    return ctx.redirect("/schedule#overrides")
