"""The on-call schedule as the service keeps it: rotations, overrides and shifts, loaded from
the database and handed to `ivr.oncall` for the arithmetic.

Changes to it are `app.schedule`'s. Nothing here reads a clock of its own: `now` and `at` are
passed in (the line's clock).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import Select, bindparam, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from app.callers import as_flow_therapist
from app.errors import describe
from app.line import Line
from app.models import (
    CoachingHours,
    OnCallOverride,
    OnCallShift,
    Rotation,
    RotationMember,
    Therapist,
)
from ivr import oncall, ringing

log = logging.getLogger("coachline.oncall")

# "Until when" and "next" look this far ahead; gaps are asked for at most this far apart.
HORIZON = timedelta(days=92)
MAX_GAP_RANGE = timedelta(days=92)
# Gaps this close are warned about, in the API and at start-up.
WARN_AHEAD = timedelta(days=7)
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


def _flow_therapists(session: Session, ids: Iterable[int]) -> dict[int, ringing.Therapist]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.scalars(
        select(Therapist).where(Therapist.id.in_(wanted)).options(selectinload(Therapist.hours))
    ).all()
    return {row.id: as_flow_therapist(row) for row in rows}


# Who is on call now, for the call flow, in three plain Core statements (it runs on calls
# that ring the on-call therapist, and the ORM's loads with their selectinloads took six, at
# 1.1-2.2 ms on the seeded bench database).
_AT = bindparam("at", type_=OnCallShift.starts_at.type)
_ACTIVE_ROTATIONS = (
    select(
        Rotation.id,
        Rotation.starts_on,
        Rotation.handoff_time,
        Rotation.turn_days,
        RotationMember.therapist_id,
    )
    .outerjoin(RotationMember, RotationMember.rotation_id == Rotation.id)
    .where(Rotation.active.is_(True))
    .order_by(Rotation.id, RotationMember.position)
)


def _periods_covering_at(kind: Kind) -> Select:
    return select(
        literal(kind.__tablename__).label("kind"),
        kind.id,
        kind.therapist_id,
        kind.starts_at,
        kind.ends_at,
    ).where(kind.starts_at <= _AT, kind.ends_at > _AT)


_PERIODS_COVERING = union_all(
    _periods_covering_at(OnCallOverride), _periods_covering_at(OnCallShift)
)
_THERAPISTS_WITH_HOURS = (
    select(
        Therapist.id,
        Therapist.name,
        Therapist.phone,
        Therapist.active,
        Therapist.away_until,
        Therapist.sms_opted_out,
        CoachingHours.weekday,
        CoachingHours.start,
        CoachingHours.end,
    )
    .outerjoin(CoachingHours, CoachingHours.therapist_id == Therapist.id)
    .where(Therapist.id.in_(bindparam("ids", expanding=True)))
    .order_by(Therapist.id, CoachingHours.weekday, CoachingHours.start)
)


def _rotations_now(session: Session) -> list[oncall.Rotation]:
    """The active rotations with their members in turn order (one row per member)."""
    rows = session.execute(_ACTIVE_ROTATIONS).all()
    members: dict[int, list[int]] = {}
    for row in rows:
        ids = members.setdefault(row.id, [])
        if row.therapist_id is not None:
            ids.append(row.therapist_id)
    firsts = {row.id: row for row in reversed(rows)}  # each rotation's first row
    return [
        oncall.Rotation(r.starts_on, r.handoff_time, r.turn_days, tuple(members[r.id]), r.id)
        for r in sorted(firsts.values(), key=lambda r: r.id)
    ]


def _flow_therapists_by_id(session: Session, ids: set[int]) -> dict[int, ringing.Therapist]:
    """The therapists named, with their coaching hours (one row per window)."""
    if not ids:
        return {}
    rows = session.execute(_THERAPISTS_WITH_HOURS, {"ids": sorted(ids)}).all()
    hours: dict[int, list[ringing.Window]] = {}
    for row in rows:
        windows = hours.setdefault(row.id, [])
        if row.weekday is not None:
            windows.append(ringing.Window(row.weekday, row.start, row.end))
    return {
        row.id: ringing.Therapist(
            id=row.id,
            name=row.name,
            phone=row.phone,
            active=row.active,
            away_until=row.away_until,
            hours=tuple(hours[row.id]),
            texts_blocked=row.sms_opted_out,
        )
        for row in rows
    }


def on_call_now(session: Session, now: datetime, tz: tzinfo) -> list[ringing.Therapist]:
    """Who is on call at `now`, in ring order, for the call flow.

    Only the active rotations and the overrides and shifts that cover `now` are read, and the
    therapists they name (`ivr.oncall` decides who covers; the flow, who is reachable).
    """
    periods = session.execute(_PERIODS_COVERING, {"at": now}).all()
    covers = oncall.covering(
        now,
        _rotations_now(session),
        [_period(row) for row in periods if row.kind == OnCallOverride.__tablename__],
        [_period(row) for row in periods if row.kind == OnCallShift.__tablename__],
        tz,
    )
    therapists = _flow_therapists_by_id(session, {c.therapist_id for c in covers})
    return [therapists[c.therapist_id] for c in covers if c.therapist_id in therapists]


def _period(row) -> oncall.Period:
    return oncall.Period(row.therapist_id, row.starts_at, row.ends_at, row.id)


@dataclass(frozen=True)
class OnCallEntry:
    therapist: ringing.Therapist
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
    calls: Sequence[oncall.OnCall], therapists: dict[int, ringing.Therapist]
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
