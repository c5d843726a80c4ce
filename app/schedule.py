"""Changing the on-call schedule: rotations, overrides and the calendars' secret links.

Each change is audited in the caller's transaction; the caller commits. `app.oncall` reads
the schedule; `ivr.oncall` does its arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import audit
from app.domain import Invalid, as_utc, clean_name, clean_text, found
from app.models import OnCallOverride, Rotation, RotationMember, Therapist, new_secret
from app.oncall import EARLIEST, LATEST
from app.therapists import get_therapist

ROTATION_NAME_MAX = 120  # the column's length
MAX_MEMBERS = 50
MAX_TURN_DAYS = 366


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
    name = clean_name(raw, "the rotation's name")
    if len(name) > ROTATION_NAME_MAX:
        raise Invalid(f"the rotation's name is longer than {ROTATION_NAME_MAX} characters")
    return name


def _handoff(value: time) -> time:
    if value.tzinfo is not None:
        raise Invalid("the handoff time is a wall-clock time in the practice's time zone")
    return value.replace(second=0, microsecond=0)


def _turn_days(value: int) -> int:
    if not 1 <= value <= MAX_TURN_DAYS:
        raise Invalid(f"each turn must last 1 to {MAX_TURN_DAYS} days")
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
        starts_on=check_date(starts_on, "the rotation's first day"),
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
        rotation.starts_on = check_date(starts_on, "the rotation's first day")
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
    starts_at = check_instant(starts_at, "the start of the override")
    ends_at = check_instant(ends_at, "the end of the override")
    if ends_at <= starts_at:
        raise Invalid("the override must end after it starts")
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
