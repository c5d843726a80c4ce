"""Loading what the flow needs to decide: who is calling, who is on call, which skills exist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.models import Client, PracticeSkill
from app.models import Therapist as TherapistRow
from app.records import client_locked_until
from ivr import voice
from ivr.skills import Skill, library


def as_flow_therapist(row: TherapistRow) -> voice.Therapist:
    return voice.Therapist(
        id=row.id,
        name=row.name,
        phone=row.phone,
        active=row.active,
        away_until=row.away_until,
        hours=tuple(voice.Window(h.weekday, h.start, h.end) for h in row.hours),
    )


def client_by_phone(session: Session, phone: str) -> Client | None:
    """The client, their therapist and the therapist's hours, in one query."""
    return (
        session.scalars(
            select(Client)
            .where(Client.phone == phone)
            .options(joinedload(Client.therapist).joinedload(TherapistRow.hours))
        )
        .unique()
        .first()
    )


def as_caller(session: Session, client: Client, now: datetime) -> voice.Caller:
    return voice.Caller(
        client_id=client.id,
        name=client.name,
        primary=as_flow_therapist(client.therapist),
        locked_until=client_locked_until(session, client, now),
        last_skill=client.last_skill,
    )


def all_skills(session: Session) -> list[Skill]:
    """The built-in library and the practice's own additions."""
    added = session.scalars(select(PracticeSkill).order_by(PracticeSkill.id)).all()
    return library(Skill(s.key, s.module, s.name, s.text) for s in added)
