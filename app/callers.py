"""Loading who calls or texts the line, as the flow needs them: each client with their
therapist and hours, the lockouts that may be active, the call-backs in progress, and their
open check-in. SQL only narrows what is loaded; `ivr.rules` decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.lockouts import lockout_state, possibly_active
from app.models import Call, CheckIn, Client, Lockout, PracticeSkill
from app.models import Therapist as TherapistRow
from ivr import rules, voice
from ivr.codes import Outcome, Route
from ivr.skills import Skill, library


@dataclass(frozen=True)
class Enrolled:
    """An enrolled client who called or texted, with what the flow needs about them."""

    caller: voice.Caller
    sms_opted_out: bool


def as_flow_therapist(row: TherapistRow) -> voice.Therapist:
    return voice.Therapist(
        id=row.id,
        name=row.name,
        phone=row.phone,
        active=row.active,
        away_until=row.away_until,
        hours=tuple(voice.Window(h.weekday, h.start, h.end) for h in row.hours),
    )


def _client_query():
    """The client with their therapist and the therapist's hours, in one statement."""
    return select(Client).options(joinedload(Client.therapist).joinedload(TherapistRow.hours))


def enrolled(session: Session, client: Client, now: datetime) -> Enrolled:
    """The client as the flow needs them: the 24-hour rule and any call-back in progress,
    decided by `ivr.rules` from the rows that may bear on `now`."""
    lockouts = session.scalars(
        select(Lockout).where(Lockout.client_id == client.id, possibly_active(now))
    ).all()
    call_backs = session.scalars(
        select(Call.started_at).where(
            Call.client_id == client.id,
            Call.route == Route.THERAPIST,
            Call.outcome == Outcome.CALLING_BACK,
            Call.started_at >= now - rules.CALL_BACK_SPAN,
        )
    ).all()
    caller = voice.Caller(
        client_id=client.id,
        name=client.name,
        primary=as_flow_therapist(client.therapist),
        locked_until=rules.client_locked_until(
            (lockout_state(lo) for lo in lockouts), now, client.lockout_rule_applies
        ),
        last_skill=client.last_skill,
        being_called_back=rules.being_called_back(call_backs, now),
    )
    return Enrolled(caller, client.sms_opted_out)


def enrolled_by_phone(session: Session, phone: str | None, now: datetime) -> Enrolled | None:
    """The enrolled client with this number, if any."""
    if not phone:
        return None
    client = session.scalars(_client_query().where(Client.phone == phone)).unique().first()
    return enrolled(session, client, now) if client is not None else None


def enrolled_by_id(session: Session, client_id: int, now: datetime) -> Enrolled | None:
    client = session.scalars(_client_query().where(Client.id == client_id)).unique().first()
    return enrolled(session, client, now) if client is not None else None


def therapist_by_phone(session: Session, phone: str | None) -> TherapistRow | None:
    """The therapist registered with this number (active or not), if any."""
    if not phone:
        return None
    return session.scalar(select(TherapistRow).where(TherapistRow.phone == phone))


def open_check_in(session: Session, client_id: int) -> CheckIn | None:
    """A client's latest unanswered check-in, expired or not (the text flow decides)."""
    return session.scalar(
        select(CheckIn)
        .where(CheckIn.client_id == client_id, CheckIn.answered_at.is_(None))
        .order_by(CheckIn.asked_at.desc(), CheckIn.id.desc())
        .limit(1)
    )


def all_skills(session: Session) -> list[Skill]:
    """The built-in library and the practice's own additions."""
    added = session.scalars(select(PracticeSkill).order_by(PracticeSkill.id)).all()
    return library(Skill(s.key, s.module, s.name, s.text) for s in added)


def set_last_skill(session: Session, client_id: int, skill_key: str | None) -> None:
    """The skill offered to a client, so that the next one differs."""
    if skill_key:
        client = session.get(Client, client_id)
        if client is not None:
            client.last_skill = skill_key
