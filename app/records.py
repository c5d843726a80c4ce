"""The practice's records, changed one way: the admin API and the command line both call here.

Every change writes its audit entry in the caller's transaction; the caller commits. Nothing here
reads a clock: `now` is passed in (the line's clock), so tests can stand at any instant.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from app.audit import audit
from app.auth import issue_token
from app.models import (
    Client,
    CoachingHours,
    Lockout,
    OnCallShift,
    Therapist,
    User,
)
from app.phones import to_e164
from ivr.rules import LockoutState, lockout_active, lockout_ends_at
from ivr.rules import client_locked_until as client_locked_until_rule

# Clocks differ a little between a phone, a laptop and the server; beyond that, an event
# "in the future" is a typo that would lock a client out of coaching by mistake.
FUTURE_SLACK = timedelta(minutes=5)
NAME_MAX = 200
TEXT_MAX = 2000
ROLES = ("admin", "therapist")
# The email is the actor in lockouts' created_by/lifted_by, which hold 200 characters.
EMAIL_MAX = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DomainError(Exception):
    """A request the records refuse; `message` is safe to show to the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class Invalid(DomainError, ValueError):
    """Bad input. A ValueError too, so pydantic validators can reuse the same checks."""


# ---- values -------------------------------------------------------------------------------


def clean_name(raw: str, field: str = "name") -> str:
    name = raw.strip()
    if not name:
        raise Invalid(f"{field} must not be empty")
    if len(name) > NAME_MAX:
        raise Invalid(f"{field} is longer than {NAME_MAX} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise Invalid(f"{field} must not contain control characters")
    return name


def clean_text(raw: str | None, field: str, *, required: bool = False) -> str | None:
    """Free text (a note, a reason): stripped, bounded, and never a NUL (PostgreSQL refuses it)."""
    text = (raw or "").strip()
    if not text:
        if required:
            raise Invalid(f"{field} is required")
        return None
    if len(text) > TEXT_MAX:
        raise Invalid(f"{field} is longer than {TEXT_MAX} characters")
    if "\x00" in text:
        raise Invalid(f"{field} must not contain NUL characters")
    return text


def normalise_phone(raw: str, field: str = "phone") -> str:
    e164 = to_e164(raw)
    if e164 is None:
        raise Invalid(f"{field} is not a valid phone number")
    return e164


def as_utc(value: datetime, field: str) -> datetime:
    """An instant in UTC; a wall-clock time without an offset is refused, never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(f"{field} needs a UTC offset, e.g. 2026-11-27T21:42:00-06:00")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise Invalid(f"{field} is out of range") from exc


M = TypeVar("M")


# ---- therapists ---------------------------------------------------------------------------


def found(session: Session, model: type[M], row_id: int, what: str) -> M:
    """The row with this id, or NotFound (a 404 in the API) naming what was asked for."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} not found")
    return row


def get_therapist(session: Session, therapist_id: int) -> Therapist:
    return found(session, Therapist, therapist_id, "therapist")


def _assignable_therapist(session: Session, therapist_id: int) -> Therapist:
    """A therapist named in a request body: unknown or inactive is bad input, not a 404."""
    therapist = session.get(Therapist, therapist_id)
    if therapist is None:
        raise Invalid(f"unknown therapist {therapist_id}")
    if not therapist.active:
        raise Invalid(f"therapist {therapist_id} is not active")
    return therapist


def _check_phone_free(
    session: Session, phone: str, *, therapist_id: int | None = None, client_id: int | None = None
) -> None:
    """One number, one person: the line tells callers apart by caller ID."""
    therapist_q = select(Therapist.id).where(Therapist.phone == phone)
    if therapist_id is not None:
        therapist_q = therapist_q.where(Therapist.id != therapist_id)
    client_q = select(Client.id).where(Client.phone == phone)
    if client_id is not None:
        client_q = client_q.where(Client.id != client_id)
    if session.scalar(therapist_q.limit(1)) is not None:
        raise Conflict("that phone number already belongs to a therapist")
    if session.scalar(client_q.limit(1)) is not None:
        raise Conflict("that phone number already belongs to a client")


def _apply(obj: Any, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set the attributes that change; return {field: {"from", "to"}} for the audit log."""
    changes: dict[str, dict[str, Any]] = {}
    for key, new in values.items():
        old = getattr(obj, key)
        if new is not None and new != old:
            setattr(obj, key, new)
            changes[key] = {"from": old, "to": new}
    return changes


def create_therapist(
    session: Session, actor: str, now: datetime, *, name: str, phone: str, active: bool = True
) -> Therapist:
    name = clean_name(name)
    phone = normalise_phone(phone)
    _check_phone_free(session, phone)
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
            _check_phone_free(session, phone, therapist_id=therapist.id)
    values = {
        "name": clean_name(name) if name is not None else None,
        "phone": phone,
        "active": active,
    }
    changes = _apply(therapist, values)
    if changes:
        session.flush()
        audit(session, actor, "update", "therapist", therapist.id, changes=changes, at=now)
    return therapist


def set_away(
    session: Session, actor: str, now: datetime, therapist_id: int, until: datetime
) -> Therapist:
    therapist = get_therapist(session, therapist_id)
    until = as_utc(until, "until")
    if until <= now:
        raise Invalid("until must be in the future")
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
            raise Invalid("weekday must be 0 (Monday) to 6 (Sunday)")
        if window.start.tzinfo is not None or window.end.tzinfo is not None:
            raise Invalid("hours are wall-clock times in the practice's time zone")
        if window.start == window.end:
            raise Invalid("a window's start and end must differ")
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
    _assignable_therapist(session, therapist_id)
    starts_at = as_utc(starts_at, "starts_at")
    ends_at = as_utc(ends_at, "ends_at")
    if ends_at <= starts_at:
        raise Invalid("ends_at must be after starts_at")
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


# ---- clients ------------------------------------------------------------------------------


def get_client(session: Session, client_id: int) -> Client:
    return found(session, Client, client_id, "client")


def create_client(
    session: Session,
    actor: str,
    now: datetime,
    *,
    name: str,
    phone: str,
    therapist_id: int,
    lockout_rule_applies: bool = True,
    sms_opted_out: bool = False,
) -> Client:
    name = clean_name(name)
    phone = normalise_phone(phone)
    _assignable_therapist(session, therapist_id)
    _check_phone_free(session, phone)
    client = Client(
        name=name,
        phone=phone,
        therapist_id=therapist_id,
        lockout_rule_applies=lockout_rule_applies,
        sms_opted_out=sms_opted_out,
        created_at=now,
    )
    session.add(client)
    session.flush()
    audit(
        session,
        actor,
        "create",
        "client",
        client.id,
        changes={
            "name": name,
            "phone": phone,
            "therapist_id": therapist_id,
            "lockout_rule_applies": lockout_rule_applies,
            "sms_opted_out": sms_opted_out,
        },
        at=now,
    )
    return client


def update_client(
    session: Session,
    actor: str,
    now: datetime,
    client_id: int,
    *,
    name: str | None = None,
    phone: str | None = None,
    therapist_id: int | None = None,
    lockout_rule_applies: bool | None = None,
    sms_opted_out: bool | None = None,
) -> Client:
    """Change what is given (None leaves a field alone)."""
    client = get_client(session, client_id)
    if phone is not None:
        phone = normalise_phone(phone)
        if phone != client.phone:
            _check_phone_free(session, phone, client_id=client.id)
    if therapist_id is not None and therapist_id != client.therapist_id:
        _assignable_therapist(session, therapist_id)
    values = {
        "name": clean_name(name) if name is not None else None,
        "phone": phone,
        "therapist_id": therapist_id,
        "lockout_rule_applies": lockout_rule_applies,
        "sms_opted_out": sms_opted_out,
    }
    changes = _apply(client, values)
    if changes:
        session.flush()
        audit(session, actor, "update", "client", client.id, changes=changes, at=now)
    return client


# ---- lockouts (the 24-hour rule) ----------------------------------------------------------


def lockout_state(lockout: Lockout) -> LockoutState:
    return LockoutState(
        starts_at=lockout.starts_at, ends_at=lockout.ends_at, lifted_at=lockout.lifted_at
    )


def lockout_is_active(lockout: Lockout, now: datetime) -> bool:
    return lockout_active(lockout_state(lockout), now)


def possibly_active(now: Any, lockouts: Any = Lockout) -> ColumnElement[bool]:
    """SQL prefilter for lockouts that may be active at `now` (an instant or a bound
    parameter); ivr.rules has the last word. `lockouts`: the entity, or its table's columns."""
    return (
        (lockouts.starts_at <= now)
        & (lockouts.ends_at > now)
        & or_(lockouts.lifted_at.is_(None), lockouts.lifted_at > now)
    )


def locked_until_by_client(
    session: Session, clients: Iterable[Client], now: datetime
) -> dict[int, datetime]:
    """When each locked-out client can reach coaching again; clients not locked are absent
    (`ivr.rules.client_locked_until` decides, the waiver included)."""
    by_id = {c.id: c for c in clients}
    if not by_id:
        return {}
    rows = session.scalars(
        select(Lockout).where(Lockout.client_id.in_(by_id), possibly_active(now))
    )
    by_client: dict[int, list[LockoutState]] = {}
    for lockout in rows:
        by_client.setdefault(lockout.client_id, []).append(lockout_state(lockout))
    result = {}
    for client_id, states in by_client.items():
        until = client_locked_until_rule(states, now, by_id[client_id].lockout_rule_applies)
        if until is not None:
            result[client_id] = until
    return result


def client_locked_until(session: Session, client: Client, now: datetime) -> datetime | None:
    return locked_until_by_client(session, [client], now).get(client.id)


def record_lockout(
    session: Session,
    actor: str,
    now: datetime,
    client_id: int,
    *,
    occurred_at: datetime | None = None,
    note: str | None = None,
) -> Lockout:
    """Record a self-harm event at `occurred_at` (default now): no coaching for 24 hours."""
    client = get_client(session, client_id)
    if not client.lockout_rule_applies:
        # Recording it would look like a lockout while the line does not enforce one.
        raise Conflict("the 24-hour rule is waived for this client; no lockout recorded")
    starts_at = now if occurred_at is None else as_utc(occurred_at, "occurred_at")
    if starts_at > now + FUTURE_SLACK:
        raise Invalid("occurred_at is in the future")
    lockout = Lockout(
        client_id=client.id,
        starts_at=starts_at,
        ends_at=lockout_ends_at(starts_at),
        note=clean_text(note, "note"),
        created_by=actor,
        created_at=now,
    )
    session.add(lockout)
    session.flush()
    audit(
        session,
        actor,
        "create",
        "lockout",
        lockout.id,
        changes={
            "client_id": client.id,
            "starts_at": lockout.starts_at,
            "ends_at": lockout.ends_at,
        },
        at=now,
    )
    return lockout


def get_lockout(session: Session, lockout_id: int) -> Lockout:
    return found(session, Lockout, lockout_id, "lockout")


def lift_lockout(
    session: Session, actor: str, now: datetime, lockout_id: int, reason: str
) -> Lockout:
    reason_text = clean_text(reason, "reason", required=True)
    lockout = get_lockout(session, lockout_id)
    if lockout.lifted_at is not None:
        raise Conflict(f"lockout {lockout_id} was already lifted")
    lockout.lifted_at = now
    lockout.lifted_by = actor
    lockout.lift_reason = reason_text
    session.flush()
    audit(
        session,
        actor,
        "lift",
        "lockout",
        lockout.id,
        reason=reason_text,
        changes={"client_id": lockout.client_id, "lifted_at": now},
        at=now,
    )
    return lockout


def locked_out_now(session: Session, now: datetime) -> list[tuple[Client, datetime]]:
    """Who cannot reach coaching at `now`, and until when; soonest to end first."""
    clients = session.scalars(
        select(Client)
        .where(Client.id.in_(select(Lockout.client_id).where(possibly_active(now))))
        .order_by(Client.id)
    ).all()
    until = locked_until_by_client(session, clients, now)
    locked = [(c, until[c.id]) for c in clients if c.id in until]
    return sorted(locked, key=lambda pair: (pair[1], pair[0].id))


# ---- users --------------------------------------------------------------------------------


def create_user(
    session: Session,
    actor: str,
    now: datetime,
    *,
    email: str,
    role: str,
    therapist_id: int | None = None,
) -> tuple[User, str]:
    """A new user and their first API token (the token is returned once, stored hashed)."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise Invalid("not a valid email address")
    if len(email) > EMAIL_MAX:
        raise Invalid(f"email is longer than {EMAIL_MAX} characters")
    if role not in ROLES:
        raise Invalid(f"role must be one of: {', '.join(ROLES)}")
    if role == "therapist" and therapist_id is None:
        raise Invalid("a therapist user needs --therapist-id")
    if therapist_id is not None and session.get(Therapist, therapist_id) is None:
        raise Invalid(f"unknown therapist {therapist_id}")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("a user with that email already exists")
    user = User(email=email, role=role, therapist_id=therapist_id, created_at=now)
    session.add(user)
    token = issue_token(session, user)
    session.flush()
    audit(
        session,
        actor,
        "create",
        "user",
        user.id,
        changes={"email": email, "role": role, "therapist_id": therapist_id},
        at=now,
    )
    return user, token
