"""The on-call schedule as the service keeps it: rotations, overrides and shifts, loaded from
the database and handed to `ivr.oncall` for the arithmetic.

Changes (rotations, overrides, calendar secrets) are made here and audited in the caller's
transaction, like `app.records`; the caller commits. Nothing here reads a clock of its own:
`now` and `at` are passed in (the line's clock).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.audit import audit
from app.callers import as_flow_therapist
from app.context import Line
from app.domain import Invalid, as_utc, clean_name, clean_text, found
from app.errors import describe
from app.models import (
    OnCallOverride,
    OnCallShift,
    Rotation,
    RotationMember,
    Therapist,
    new_secret,
)
from app.therapists import get_therapist
from ivr import oncall, voice

log = logging.getLogger("coachline.oncall")

# "Until when" and "next" look this far ahead; gaps are asked for at most this far apart.
HORIZON = timedelta(days=92)
MAX_GAP_RANGE = timedelta(days=92)
# Gaps this close are warned about, in the API and at start-up.
WARN_AHEAD = timedelta(days=7)
ROTATION_NAME_MAX = 120  # the column's length
MAX_MEMBERS = 50
MAX_TURN_DAYS = 366
# Dates and instants the schedule accepts: beyond these a request is a typo, and the calendar
# arithmetic would run off the end of Python's dates.
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)

Kind = type[OnCallOverride] | type[OnCallShift]


# ---- reading the schedule -----------------------------------------------------------------


def as_rotation(row: Rotation) -> oncall.Rotation:
    return oncall.Rotation(
        id=row.id,
        starts_on=row.starts_on,
        handoff_time=row.handoff_time,
        turn_days=row.turn_days,
        members=tuple(m.therapist_id for m in row.members),
    )


def as_period(row: OnCallOverride | OnCallShift) -> oncall.Period:
    return oncall.Period(
        id=row.id, therapist_id=row.therapist_id, starts_at=row.starts_at, ends_at=row.ends_at
    )


@dataclass(frozen=True)
class Schedule:
    """Active rotations, and the overrides and shifts overlapping a range."""

    rotations: list[oncall.Rotation]
    overrides: list[oncall.Period]
    shifts: list[oncall.Period]

    def therapist_ids(self) -> set[int]:
        ids = {p.therapist_id for p in (*self.overrides, *self.shifts)}
        for rotation in self.rotations:
            ids.update(rotation.members)
        return ids


def active_rotations(session: Session) -> list[Rotation]:
    return list(
        session.scalars(
            select(Rotation)
            .where(Rotation.active.is_(True))
            .order_by(Rotation.id)
            .options(selectinload(Rotation.members))
        ).all()
    )


def periods_overlapping(
    session: Session, kind: Kind, start: datetime, end: datetime
) -> list[oncall.Period]:
    """Rows of `kind` overlapping [start, end]; an instant (start == end) asks who covers it."""
    if start == end:
        overlap = (kind.starts_at <= start) & (kind.ends_at > start)
    else:
        overlap = (kind.starts_at < end) & (kind.ends_at > start)
    rows = session.scalars(select(kind).where(overlap).order_by(kind.starts_at, kind.id)).all()
    return [as_period(row) for row in rows]


def load_schedule(session: Session, start: datetime, end: datetime) -> Schedule:
    return Schedule(
        rotations=[as_rotation(r) for r in active_rotations(session)],
        overrides=periods_overlapping(session, OnCallOverride, start, end),
        shifts=periods_overlapping(session, OnCallShift, start, end),
    )


def active_therapist_ids(session: Session, among: Collection[int] | None = None) -> set[int]:
    stmt = select(Therapist.id).where(Therapist.active.is_(True))
    if among is not None:
        if not among:
            return set()
        stmt = stmt.where(Therapist.id.in_(sorted(among)))
    return set(session.scalars(stmt).all())


def _flow_therapists(session: Session, ids: Iterable[int]) -> dict[int, voice.Therapist]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.scalars(
        select(Therapist).where(Therapist.id.in_(wanted)).options(selectinload(Therapist.hours))
    ).all()
    return {row.id: as_flow_therapist(row) for row in rows}


def on_call_now(session: Session, now: datetime, tz: tzinfo) -> list[voice.Therapist]:
    """Who is on call at `now`, in ring order, for the call flow.

    Runs on every incoming call: only the active rotations and the overrides and shifts that
    cover `now` are read, and the therapists it names (the flow decides who is reachable).
    """
    schedule = load_schedule(session, now, now)
    covers = oncall.covering(now, schedule.rotations, schedule.overrides, schedule.shifts, tz)
    therapists = _flow_therapists(session, (c.therapist_id for c in covers))
    return [therapists[c.therapist_id] for c in covers if c.therapist_id in therapists]


@dataclass(frozen=True)
class OnCallEntry:
    therapist: voice.Therapist
    source: str  # override | rotation | shift
    until: datetime | None  # None: not within the horizon


@dataclass(frozen=True)
class OnCallReport:
    at: datetime
    on_call: list[OnCallEntry]
    # The next instant who is on call changes (None: not within the horizon), and who then.
    next_at: datetime | None
    next_on_call: list[OnCallEntry]


def _entries(
    calls: Sequence[oncall.OnCall], therapists: dict[int, voice.Therapist]
) -> list[OnCallEntry]:
    return [
        OnCallEntry(therapists[c.therapist_id], c.source, c.until)
        for c in calls
        if c.therapist_id in therapists
    ]


def on_call_report(
    session: Session, at: datetime, tz: tzinfo, *, horizon: timedelta = HORIZON
) -> OnCallReport:
    """Who is on call at `at` and until when, and who is next. Inactive therapists cover
    nothing, so they are never listed."""
    schedule = load_schedule(session, at, at + 2 * horizon)
    active = active_therapist_ids(session, schedule.therapist_ids())
    args = (schedule.rotations, schedule.overrides, schedule.shifts, tz)
    now_calls = oncall.on_call_at(at, *args, active=active, horizon=horizon)
    next_at = oncall.next_change(at, *args, active=active, horizon=horizon)
    next_calls = (
        oncall.on_call_at(next_at, *args, active=active, horizon=horizon) if next_at else []
    )
    therapists = _flow_therapists(session, [c.therapist_id for c in (*now_calls, *next_calls)])
    return OnCallReport(
        at=at,
        on_call=_entries(now_calls, therapists),
        next_at=next_at,
        next_on_call=_entries(next_calls, therapists),
    )


def on_call_at(session: Session, at: datetime, tz: tzinfo) -> list[OnCallEntry]:
    """Who is on call at `at`, in order, with until when."""
    return on_call_report(session, at, tz).on_call


def gaps(session: Session, start: datetime, end: datetime, tz: tzinfo) -> list[oncall.Gap]:
    """The stretches of [start, end) with no active therapist on call."""
    schedule = load_schedule(session, start, end)
    active = active_therapist_ids(session, schedule.therapist_ids())
    return oncall.coverage_gaps(
        start, end, schedule.rotations, schedule.overrides, schedule.shifts, tz, active
    )


def upcoming_gaps(session: Session, now: datetime, tz: tzinfo) -> list[oncall.Gap]:
    return gaps(session, now, now + WARN_AHEAD, tz)


def local_text(instant: datetime, tz: tzinfo) -> str:
    """An instant as the practice reads it, with its offset: 2026-11-28T09:00-06:00."""
    return instant.astimezone(tz).isoformat(timespec="minutes")


def gap_message(gap: oncall.Gap, tz: tzinfo) -> str:
    return f"on-call gap from {local_text(gap.starts_at, tz)} to {local_text(gap.ends_at, tz)}"


def warn_about_gaps(line: Line) -> list[oncall.Gap]:
    """Log a warning for each on-call gap in the coming 7 days (no names, no numbers).

    For start-up: never raises; when the database does not answer, it says so and skips.
    """
    try:
        tz = line.settings.tz
        now = line.now()
        with line.sessions() as session:
            found = upcoming_gaps(session, now, tz)
    except Exception as exc:
        log.warning("could not check on-call coverage: %s", describe(exc))
        return []
    for gap in found:
        log.warning(gap_message(gap, tz))
    return found


# ---- changing the schedule ----------------------------------------------------------------


def check_date(value: date, field: str) -> date:
    if not EARLIEST <= value <= LATEST:
        raise Invalid(f"{field} must be between {EARLIEST} and {LATEST}")
    return value


def check_instant(value: datetime, field: str) -> datetime:
    """An aware instant within the dates the schedule handles, in UTC."""
    value = as_utc(value, field)
    if not EARLIEST <= value.date() <= LATEST:
        raise Invalid(f"{field} must be between {EARLIEST} and {LATEST}")
    return value


def _rotation_name(raw: str) -> str:
    name = clean_name(raw)
    if len(name) > ROTATION_NAME_MAX:
        raise Invalid(f"name is longer than {ROTATION_NAME_MAX} characters")
    return name


def _handoff(value: time) -> time:
    if value.tzinfo is not None:
        raise Invalid("handoff_time is a wall-clock time in the practice's time zone")
    return value.replace(second=0, microsecond=0)


def _turn_days(value: int) -> int:
    if not 1 <= value <= MAX_TURN_DAYS:
        raise Invalid(f"turn_days must be 1 to {MAX_TURN_DAYS}")
    return value


def _member_ids(session: Session, therapist_ids: Sequence[int]) -> list[int]:
    """An ordered, non-empty list of existing, active therapists (a therapist may take more
    than one place in the order)."""
    ids = list(therapist_ids)
    if not ids:
        raise Invalid("a rotation needs at least one therapist")
    if len(ids) > MAX_MEMBERS:
        raise Invalid(f"a rotation has at most {MAX_MEMBERS} places")
    rows = session.scalars(select(Therapist).where(Therapist.id.in_(sorted(set(ids))))).all()
    found = {row.id: row for row in rows}
    for therapist_id in ids:
        if therapist_id not in found:
            raise Invalid(f"unknown therapist {therapist_id}")
        if not found[therapist_id].active:
            raise Invalid(f"therapist {therapist_id} is not active")
    return ids


def member_ids(rotation: Rotation) -> list[int]:
    return [m.therapist_id for m in rotation.members]


def get_rotation(session: Session, rotation_id: int) -> Rotation:
    return found(session, Rotation, rotation_id, "rotation")


def _rotation_fields(rotation: Rotation) -> dict[str, Any]:
    return {
        "name": rotation.name,
        "starts_on": rotation.starts_on,
        "handoff_time": rotation.handoff_time.strftime("%H:%M"),
        "turn_days": rotation.turn_days,
        "active": rotation.active,
        "therapist_ids": member_ids(rotation),
    }


def create_rotation(
    session: Session,
    actor: str,
    now: datetime,
    *,
    name: str,
    starts_on: date,
    handoff_time: time,
    turn_days: int,
    therapist_ids: Sequence[int],
    active: bool = True,
) -> Rotation:
    rotation = Rotation(
        name=_rotation_name(name),
        starts_on=check_date(starts_on, "starts_on"),
        handoff_time=_handoff(handoff_time),
        turn_days=_turn_days(turn_days),
        active=active,
        created_at=now,
        members=[
            RotationMember(therapist_id=tid, position=i)
            for i, tid in enumerate(_member_ids(session, therapist_ids))
        ],
    )
    session.add(rotation)
    session.flush()
    fields = _rotation_fields(rotation)
    audit(session, actor, "create", "rotation", rotation.id, changes=fields, at=now)
    return rotation


def update_rotation(
    session: Session,
    actor: str,
    now: datetime,
    rotation_id: int,
    *,
    name: str | None = None,
    starts_on: date | None = None,
    handoff_time: time | None = None,
    turn_days: int | None = None,
    therapist_ids: Sequence[int] | None = None,
    active: bool | None = None,
) -> Rotation:
    """Change what is given (None leaves a field alone); members are replaced in order."""
    rotation = get_rotation(session, rotation_id)
    before = _rotation_fields(rotation)
    if name is not None:
        rotation.name = _rotation_name(name)
    if starts_on is not None:
        rotation.starts_on = check_date(starts_on, "starts_on")
    if handoff_time is not None:
        rotation.handoff_time = _handoff(handoff_time)
    if turn_days is not None:
        rotation.turn_days = _turn_days(turn_days)
    if active is not None:
        rotation.active = active
    if therapist_ids is not None:
        ids = _member_ids(session, therapist_ids)
        if ids != member_ids(rotation):
            # Old places go first, so the new ones never meet them on (rotation, position).
            rotation.members.clear()
            session.flush()
            rotation.members.extend(
                RotationMember(therapist_id=tid, position=i) for i, tid in enumerate(ids)
            )
    session.flush()
    after = _rotation_fields(rotation)
    changes = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if changes:
        audit(session, actor, "update", "rotation", rotation.id, changes=changes, at=now)
    return rotation


def get_override(session: Session, override_id: int) -> OnCallOverride:
    return found(session, OnCallOverride, override_id, "on-call override")


def add_override(
    session: Session,
    actor: str,
    now: datetime,
    *,
    therapist_id: int,
    starts_at: datetime,
    ends_at: datetime,
    reason: str | None = None,
) -> OnCallOverride:
    """This therapist is on call instead of the rotations for [starts_at, ends_at)."""
    _member_ids(session, [therapist_id])
    starts_at = check_instant(starts_at, "starts_at")
    ends_at = check_instant(ends_at, "ends_at")
    if ends_at <= starts_at:
        raise Invalid("ends_at must be after starts_at")
    override = OnCallOverride(
        therapist_id=therapist_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=clean_text(reason, "reason"),
        created_at=now,
    )
    session.add(override)
    session.flush()
    audit(
        session,
        actor,
        "create",
        "on_call_override",
        override.id,
        reason=override.reason,
        changes={"therapist_id": therapist_id, "starts_at": starts_at, "ends_at": ends_at},
        at=now,
    )
    return override


def delete_override(session: Session, actor: str, now: datetime, override_id: int) -> None:
    override = get_override(session, override_id)
    changes = {
        "therapist_id": override.therapist_id,
        "starts_at": override.starts_at,
        "ends_at": override.ends_at,
    }
    session.delete(override)
    session.flush()
    audit(session, actor, "delete", "on_call_override", override_id, changes=changes, at=now)


def reset_therapist_calendar(
    session: Session, actor: str, now: datetime, therapist_id: int
) -> Therapist:
    """A new secret for the therapist's calendar feed: the old URL stops working."""
    therapist = get_therapist(session, therapist_id)
    therapist.ical_token = new_secret()
    session.flush()
    audit(session, actor, "reset_calendar", "therapist", therapist.id, at=now)
    return therapist


def reset_rotation_calendar(
    session: Session, actor: str, now: datetime, rotation_id: int
) -> Rotation:
    rotation = get_rotation(session, rotation_id)
    rotation.ical_token = new_secret()
    session.flush()
    audit(session, actor, "reset_calendar", "rotation", rotation.id, at=now)
    return rotation
