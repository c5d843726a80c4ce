"""Loading who calls or texts the line, as the flow needs them: each client with their
therapist and hours, the lockouts that may be active, the call-backs in progress, and their
open check-in. SQL only narrows what is loaded; `ivr.rules` decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from app.lockouts import possibly_active
from app.models import Call, CheckIn, Client, CoachingHours, Lockout, PracticeSkill
from app.models import Therapist as TherapistRow
from ivr import ringing, rules
from ivr.codes import Outcome, Route
from ivr.language import Language, parse_language
from ivr.rules import LockoutState
from ivr.skills import Skill, library


@dataclass(frozen=True)
class Enrolled:
    """An enrolled client who called or texted, with what the flow needs about them."""

    caller: ringing.Caller
    sms_opted_out: bool


def as_flow_therapist(row: TherapistRow) -> ringing.Therapist:
    return ringing.Therapist(
        id=row.id,
        name=row.name,
        phone=row.phone,
        active=row.active,
        away_until=row.away_until,
        hours=tuple(ringing.Window(h.weekday, h.start, h.end) for h in row.hours),
        texts_blocked=row.sms_opted_out,
    )


# The lockouts that may be active at `now`, and the call-backs that may be under way since
# `since`: the prefilters of the client's statement below (`ivr.rules` decides).
_NOW = bindparam("now", type_=Lockout.starts_at.type)
_SINCE = bindparam("since", type_=Call.call_back_started_at.type)
_MAY_BE_LOCKED = (Lockout.client_id == Client.id) & possibly_active(_NOW)
_MAY_BE_CALLED_BACK = (
    (Call.client_id == Client.id)
    & (Call.route == Route.THERAPIST)
    & (Call.outcome == Outcome.CALLING_BACK)
    & (Call.call_back_started_at >= _SINCE)
)

# The client, their therapist and all the flow needs about them, in one statement (one round
# trip): a row per coaching window of the therapist, lockout and call-back that may bear on
# `now` (their product; almost always just the windows, since few clients have either).
# Plain Core: the ORM's per-row work was most of a call's time (1.5 ms of 2.3, measured in
# process on SQLite), and nothing here is changed through the ORM.
_ENROLLED = (
    select(
        Client.id,
        Client.name,
        Client.lockout_rule_applies,
        Client.last_skill,
        Client.sms_opted_out,
        Client.language,
        TherapistRow.id.label("therapist_id"),
        TherapistRow.name.label("therapist_name"),
        TherapistRow.phone.label("therapist_phone"),
        TherapistRow.active.label("therapist_active"),
        TherapistRow.away_until,
        TherapistRow.sms_opted_out.label("therapist_texts_blocked"),
        CoachingHours.id.label("window_id"),
        CoachingHours.weekday,
        CoachingHours.start,
        CoachingHours.end,
        Lockout.id.label("lockout_id"),
        Lockout.starts_at.label("lockout_starts_at"),
        Lockout.ends_at.label("lockout_ends_at"),
        Lockout.lifted_at.label("lockout_lifted_at"),
        Call.id.label("call_back_id"),
        Call.call_back_started_at,
        Call.ended_at.label("call_back_ended_at"),
    )
    .join(TherapistRow, TherapistRow.id == Client.therapist_id)
    .outerjoin(CoachingHours, CoachingHours.therapist_id == TherapistRow.id)
    .outerjoin(Lockout, _MAY_BE_LOCKED)
    .outerjoin(Call, _MAY_BE_CALLED_BACK)
    .order_by(CoachingHours.weekday, CoachingHours.start)
)
_BY_PHONE = _ENROLLED.where(Client.phone == bindparam("key"))
_BY_ID = _ENROLLED.where(Client.id == bindparam("key"))


def _enrolled(session: Session, which: Select, key: object, now: datetime) -> Enrolled | None:
    """The client as the flow needs them: the 24-hour rule and any call-back in progress,
    decided by `ivr.rules` from the rows that may bear on `now`."""
    since = now - rules.CALL_BACK_SPAN
    rows = session.execute(which, {"key": key, "now": now, "since": since}).all()
    if not rows:
        return None
    client = rows[0]
    # The joins repeat each window, lockout and call-back: each is kept once, in order.
    windows = {
        r.window_id: ringing.Window(r.weekday, r.start, r.end)
        for r in rows
        if r.window_id is not None
    }
    lockouts = {
        r.lockout_id: LockoutState(r.lockout_starts_at, r.lockout_ends_at, r.lockout_lifted_at)
        for r in rows
        if r.lockout_id is not None
    }
    call_backs = {
        r.call_back_id: rules.CallBackState(r.call_back_started_at, r.call_back_ended_at)
        for r in rows
        if r.call_back_id is not None
    }
    primary = ringing.Therapist(
        id=client.therapist_id,
        name=client.therapist_name,
        phone=client.therapist_phone,
        active=client.therapist_active,
        away_until=client.away_until,
        texts_blocked=client.therapist_texts_blocked,
        hours=tuple(windows.values()),
    )
    caller = ringing.Caller(
        client_id=client.id,
        name=client.name,
        primary=primary,
        locked_until=rules.client_locked_until(lockouts.values(), now, client.lockout_rule_applies),
        last_skill=client.last_skill,
        being_called_back=rules.being_called_back(call_backs.values(), now),
        language=parse_language(client.language),
    )
    return Enrolled(caller, client.sms_opted_out)


def enrolled_by_phone(session: Session, phone: str | None, now: datetime) -> Enrolled | None:
    """The enrolled client with this number, if any."""
    return _enrolled(session, _BY_PHONE, phone, now) if phone else None


def enrolled_by_id(session: Session, client_id: int, now: datetime) -> Enrolled | None:
    return _enrolled(session, _BY_ID, client_id, now)


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


# The practice's own skills, in the order they were added (plain Core: read on every text and
# on calls that offer a skill).
_PRACTICE_SKILLS = select(
    PracticeSkill.key, PracticeSkill.module, PracticeSkill.name, PracticeSkill.text
).order_by(PracticeSkill.id)


def all_skills(session: Session, language: Language = Language.ENGLISH) -> list[Skill]:
    """The skills offered in `language`: the built-in library and the practice's own additions
    (`ivr.skills.library` says which of those a language gets)."""
    return library((Skill(*row) for row in session.execute(_PRACTICE_SKILLS)), language=language)


def set_last_skill(session: Session, client_id: int, skill_key: str | None) -> None:
    """The skill offered to a client, so that the next one differs (one UPDATE, where loading
    the client first took a round trip more)."""
    if skill_key:
        session.execute(update(Client).where(Client.id == client_id).values(last_skill=skill_key))
