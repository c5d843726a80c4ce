"""The 24-hour rule's records: lockouts recorded, lifted, and who is locked out now
(`ivr.rules` decides; SQL only narrows what is loaded)."""

from __future__ import annotations

from collections.abc import Iterable
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
from ivr.rules import LockoutState, lockout_active, lockout_ends_at
from ivr.rules import client_locked_until as client_locked_until_rule


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
