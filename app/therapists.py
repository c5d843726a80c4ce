"""Therapists: who they are, when they are away, their coaching hours and on-call shifts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy.orm import Session

from app import users
from app.audit import audit
from app.domain import (
    Invalid,
    apply_changes,
    as_utc,
    check_phone_free,
    clean_name,
    found,
    normalise_phone,
)
from app.models import CoachingHours, OnCallShift, Therapist


def get_therapist(session: Session, therapist_id: int) -> Therapist:
    return found(session, Therapist, therapist_id, "therapist")


def assignable_therapist(session: Session, therapist_id: int) -> Therapist:
    """A therapist named in a request body: unknown or inactive is bad input, not a 404."""
    therapist = session.get(Therapist, therapist_id)
    if therapist is None:
        raise Invalid(f"unknown therapist {therapist_id}")
    if not therapist.active:
        raise Invalid(f"therapist {therapist_id} is not active")
    return therapist


def create_therapist(
    session: Session, actor: str, now: datetime, *, name: str, phone: str, active: bool = True
) -> Therapist:
    name = clean_name(name)
    phone = normalise_phone(phone)
    check_phone_free(session, phone)
    therapist = Therapist(name=name, phone=phone, active=active, created_at=now)
    session.add(therapist)
    session.flush()
    audit(
        session,
        actor,
        "create",
        "therapist",
        therapist.id,
        changes={"name": name, "phone": phone, "active": active},
        at=now,
    )
    return therapist


def update_therapist(
    session: Session,
    actor: str,
    now: datetime,
    therapist_id: int,
    *,
    name: str | None = None,
    phone: str | None = None,
    active: bool | None = None,
) -> Therapist:
    """Change what is given (None leaves a field alone)."""
    therapist = get_therapist(session, therapist_id)
    if phone is not None:
        phone = normalise_phone(phone)
        if phone != therapist.phone:
            check_phone_free(session, phone, therapist_id=therapist.id)
    values = {
        "name": clean_name(name) if name is not None else None,
        "phone": phone,
        "active": active,
    }
    changes = apply_changes(therapist, values)
    if changes:
        session.flush()
        audit(session, actor, "update", "therapist", therapist.id, changes=changes, at=now)
    if "active" in changes and not therapist.active:
        # Access ends with the person: their sessions and API tokens, in this transaction.
        users.disable_therapist_users(session, actor, now, therapist.id)
    return therapist


def set_away(
    session: Session, actor: str, now: datetime, therapist_id: int, until: datetime
) -> Therapist:
    therapist = get_therapist(session, therapist_id)
    until = as_utc(until, "the time they are back")
    if until <= now:
        raise Invalid("the time they are back must be in the future")
    old = therapist.away_until
    therapist.away_until = until
    session.flush()
    audit(
        session,
        actor,
        "set_away",
        "therapist",
        therapist.id,
        changes={"away_until": {"from": old, "to": until}},
        at=now,
    )
    return therapist


def clear_away(session: Session, actor: str, now: datetime, therapist_id: int) -> Therapist:
    therapist = get_therapist(session, therapist_id)
    if therapist.away_until is not None:
        old = therapist.away_until
        therapist.away_until = None
        session.flush()
        audit(
            session,
            actor,
            "clear_away",
            "therapist",
            therapist.id,
            changes={"away_until": {"from": old, "to": None}},
            at=now,
        )
    return therapist


@dataclass(frozen=True)
class HoursWindow:
    """A weekly window in the practice's time zone; `end` before `start` runs past midnight."""

    weekday: int  # Monday = 0
    start: time
    end: time


def get_hours(session: Session, therapist_id: int) -> list[CoachingHours]:
    therapist = get_therapist(session, therapist_id)
    return sorted(therapist.hours, key=lambda h: (h.weekday, h.start))


def set_hours(
    session: Session,
    actor: str,
    now: datetime,
    therapist_id: int,
    windows: Sequence[HoursWindow],
) -> list[CoachingHours]:
    """Replace the therapist's weekly coaching hours with `windows`."""
    therapist = get_therapist(session, therapist_id)
    for window in windows:
        if not 0 <= window.weekday <= 6:
            raise Invalid("the day of the week must be 0 (Monday) to 6 (Sunday)")
        if window.start.tzinfo is not None or window.end.tzinfo is not None:
            raise Invalid("hours are wall-clock times in the practice's time zone")
        if window.start == window.end:
            raise Invalid("a window of hours must end at another time than it starts")
    unique = sorted({(w.weekday, w.start, w.end) for w in windows})
    old = [_hours_dict(h) for h in get_hours(session, therapist_id)]
    therapist.hours = [
        CoachingHours(weekday=weekday, start=start, end=end) for weekday, start, end in unique
    ]
    session.flush()
    new = [_hours_dict(h) for h in get_hours(session, therapist_id)]
    audit(
        session,
        actor,
        "set_hours",
        "therapist",
        therapist.id,
        changes={"hours": {"from": old, "to": new}},
        at=now,
    )
    return get_hours(session, therapist_id)


def _hours_dict(hours: CoachingHours) -> dict[str, Any]:
    return {
        "weekday": hours.weekday,
        "start": hours.start.strftime("%H:%M"),
        "end": hours.end.strftime("%H:%M"),
    }


def add_on_call_shift(
    session: Session,
    actor: str,
    now: datetime,
    *,
    therapist_id: int,
    starts_at: datetime,
    ends_at: datetime,
) -> OnCallShift:
    assignable_therapist(session, therapist_id)
    starts_at = as_utc(starts_at, "the start of the shift")
    ends_at = as_utc(ends_at, "the end of the shift")
    if ends_at <= starts_at:
        raise Invalid("the shift must end after it starts")
    shift = OnCallShift(
        therapist_id=therapist_id, starts_at=starts_at, ends_at=ends_at, created_at=now
    )
    session.add(shift)
    session.flush()
    audit(
        session,
        actor,
        "create",
        "on_call_shift",
        shift.id,
        changes={"therapist_id": therapist_id, "starts_at": starts_at, "ends_at": ends_at},
        at=now,
    )
    return shift
