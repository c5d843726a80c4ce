"""What every service module shares: the refusals a request can meet (`DomainError` and its
kinds, safe to show to the person who asked) and the checks on the values people type.

The service modules (`app.therapists`, `app.clients`, `app.lockouts`, `app.users`) change the
practice's records one way, for the admin API, the dashboard and the command line alike. Each
change writes its audit entry in the caller's transaction; the caller commits. Nothing reads a
clock: `now` is passed in (the line's clock), so tests can stand at any instant.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Client, Therapist
from app.phones import to_e164

# Clocks differ a little between a phone, a laptop and the server; beyond that, an event
# "in the future" is a typo that would lock a client out of coaching by mistake.
FUTURE_SLACK = timedelta(minutes=5)
NAME_MAX = 200
TEXT_MAX = 2000


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


def clean_name(raw: str, field: str = "name") -> str:
    name = raw.strip()
    if not name:
        raise Invalid(f"{field} must not be empty")
    if len(name) > NAME_MAX:
        raise Invalid(f"{field} is longer than {NAME_MAX} characters")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise Invalid(f"{field} must not contain control characters")
    return name


def clean_text(
    raw: str | None, field: str, *, required: bool = False, limit: int = TEXT_MAX
) -> str | None:
    """Free text (a note, a reason): stripped, bounded, and never a NUL (PostgreSQL refuses it)."""
    text = (raw or "").strip()
    if not text:
        if required:
            raise Invalid(f"{field} is required")
        return None
    if len(text) > limit:
        raise Invalid(f"{field} is longer than {limit} characters")
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


def found(session: Session, model: type[M], row_id: int, what: str) -> M:
    """The row with this id, or NotFound (a 404 in the API) naming what was asked for."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} not found")
    return row


def apply_changes(obj: Any, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set the attributes that change; return {field: {"from", "to"}} for the audit log."""
    changes: dict[str, dict[str, Any]] = {}
    for key, new in values.items():
        old = getattr(obj, key)
        if new is not None and new != old:
            setattr(obj, key, new)
            changes[key] = {"from": old, "to": new}
    return changes


def check_phone_free(
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
