"""The 24-hour rule's records: lockouts recorded, lifted, and who is locked out now
(`ivr.rules` decides; SQL only narrows what is loaded)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from app.audit import audit
from app.clients import get_client
from app.domain import (
    FUTURE_SLACK,
    Conflict,
    Invalid,
    as_utc,
    clean_text,
    found,
)
from app.models import Client, Lockout
from ivr.rules import (
    LockoutState,
    NewLockoutEffect,
    lockout_active,
    lockout_ends_at,
    new_lockout_effect,
)
from ivr.rules import client_locked_until as client_locked_until_rule

# What a person reads for the event's time in a refusal (the API's field is occurred_at).
EVENT_TIME = "the time of the event"


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


def active_lockouts_by_client(
    session: Session, clients: Iterable[Client], now: datetime
) -> dict[int, list[Lockout]]:
    """The lockouts in force at `now` for each client they lock out (none for a client whose
    24-hour rule is waived), the one ending last first."""
    by_id = {c.id: c for c in clients if c.lockout_rule_applies}
    if not by_id:
        return {}
    rows = session.scalars(
        select(Lockout)
        .where(Lockout.client_id.in_(by_id), possibly_active(now))
        .order_by(Lockout.ends_at.desc(), Lockout.id.desc())
    )
    result: dict[int, list[Lockout]] = {}
    for lockout in rows:
        if lockout_is_active(lockout, now):
            result.setdefault(lockout.client_id, []).append(lockout)
    return result


def still_locked_by(session: Session, client: Client, now: datetime) -> Lockout | None:
    """The lockout that keeps the client from coaching at `now` the longest, if any."""
    held = active_lockouts_by_client(session, [client], now).get(client.id, [])
    return held[0] if held else None


@dataclass(frozen=True)
class RecordedEffect:
    """What recording `lockout` did (`ivr.rules.new_lockout_effect`), and the client's other
    lockout that held them longest before it, if any."""

    effect: NewLockoutEffect
    other: Lockout | None


def recorded_effect(session: Session, lockout: Lockout, now: datetime) -> RecordedEffect:
    """What a just-recorded lockout did to its client's 24-hour rule, for telling the person
    who recorded it: it locks them out, extends a lockout, changes nothing, or has expired."""
    client = get_client(session, lockout.client_id)
    others = [
        lo
        for lo in active_lockouts_by_client(session, [client], now).get(client.id, [])
        if lo.id != lockout.id
    ]
    effect = new_lockout_effect([lockout_state(lo) for lo in others], lockout_state(lockout), now)
    return RecordedEffect(effect, others[0] if others else None)


def record_lockout(
    session: Session,
    actor: str,
    now: datetime,
    client_id: int,
    *,
    occurred_at: datetime | None = None,
    note: str | None = None,
) -> Lockout:
    """Record a self-harm event at `occurred_at` (default now): no coaching for 24 hours from
    it. A client already locked out stays locked out until the later end (each event is its
    own record; `recorded_effect` says what this one did)."""
    client = get_client(session, client_id)
    if not client.lockout_rule_applies:
        # Recording it would look like a lockout while the line does not enforce one.
        raise Conflict("the 24-hour rule is waived for this client; no lockout recorded")
    starts_at = now if occurred_at is None else as_utc(occurred_at, EVENT_TIME)
    if starts_at > now + FUTURE_SLACK:
        raise Invalid(f"{EVENT_TIME} is in the future")
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


def list_lockouts(
    session: Session,
    now: datetime,
    *,
    client_id: int | None = None,
    in_force: bool = False,
    limit: int = 100,
) -> list[Lockout]:
    """Lockouts, the latest event first: all, one client's, or only those in force at `now`
    (active, and the client's 24-hour rule not waived)."""
    stmt = select(Lockout).join(Client, Client.id == Lockout.client_id)
    if client_id is not None:
        stmt = stmt.where(Lockout.client_id == get_client(session, client_id).id)
    if in_force:
        stmt = stmt.where(possibly_active(now), Client.lockout_rule_applies.is_(True))
    stmt = stmt.order_by(Lockout.starts_at.desc(), Lockout.id.desc())
    if in_force:  # few, and ivr.rules has the last word
        return [lo for lo in session.scalars(stmt) if lockout_is_active(lo, now)]
    return list(session.scalars(stmt.limit(limit)))
