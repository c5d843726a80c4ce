"""Clients: enrolling them and changing their details.

A client's language (`en` or `es`) is a fact about the client, kept whatever the line offers:
the line speaks and texts it to them only while the practice offers it (OFFER_SPANISH), and
English until then (`ivr.scripts.speaking`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.audit import audit
from app.domain import (
    Invalid,
    apply_changes,
    check_phone_free,
    clean_name,
    found,
    normalise_phone,
)
from app.models import Client
from app.therapists import assignable_therapist
from ivr.language import LANGUAGE_NAMES, Language
from ivr.scripts import Practice, speaking

LANGUAGE_REFUSED = 'the language must be "en" (English) or "es" (Spanish)'


def check_language(value: str) -> str:
    """`en` or `es`, exactly as written: a client's language is never guessed (unlike
    `ivr.language.parse_language`, which reads a stored one leniently)."""
    try:
        return Language(value).value
    except ValueError:
        raise Invalid(LANGUAGE_REFUSED) from None


def spoken_language(practice: Practice, client: Client) -> Language:
    """The language the line speaks and texts to the client now: theirs when the practice
    offers it, else English."""
    return speaking(practice, Language(client.language)).language


def language_not_offered(practice: Practice, client: Client) -> str | None:
    """The client's language in words when the line does not offer it (so they hear English),
    else None."""
    if spoken_language(practice, client) == client.language:
        return None
    return LANGUAGE_NAMES[Language(client.language)]


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
    language: str = Language.ENGLISH.value,
) -> Client:
    name = clean_name(name)
    language = check_language(language)
    phone = normalise_phone(phone)
    assignable_therapist(session, therapist_id)
    check_phone_free(session, phone)
    client = Client(
        name=name,
        phone=phone,
        therapist_id=therapist_id,
        lockout_rule_applies=lockout_rule_applies,
        sms_opted_out=sms_opted_out,
        language=language,
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
            "language": language,
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
    language: str | None = None,
) -> Client:
    """Change what is given (None leaves a field alone)."""
    client = get_client(session, client_id)
    if language is not None:
        language = check_language(language)
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
        "language": language,
    }
    changes = apply_changes(client, values)
    if changes:
        session.flush()
        audit(session, actor, "update", "client", client.id, changes=changes, at=now)
    return client
