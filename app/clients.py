"""Clients: enrolling them and changing their details."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.audit import audit
from app.domain import (
    apply_changes,
    check_phone_free,
    clean_name,
    found,
    normalise_phone,
)
from app.models import Client
from app.therapists import assignable_therapist


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
    assignable_therapist(session, therapist_id)
    check_phone_free(session, phone)
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
            check_phone_free(session, phone, client_id=client.id)
    if therapist_id is not None and therapist_id != client.therapist_id:
        assignable_therapist(session, therapist_id)
    values = {
        "name": clean_name(name) if name is not None else None,
        "phone": phone,
        "therapist_id": therapist_id,
        "lockout_rule_applies": lockout_rule_applies,
        "sms_opted_out": sms_opted_out,
    }
    changes = apply_changes(client, values)
    if changes:
        session.flush()
        audit(session, actor, "update", "client", client.id, changes=changes, at=now)
    return client
