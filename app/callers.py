"""Loading what the flow needs to decide: who is calling, who is on call, which skills exist.

The caller is loaded on every incoming call and text, so `enrolled_by_phone` is one Core
statement, compiled once and run on the driver (`app.db.DriverStatement`): the client, their
therapist and the therapist's hours, the end of an active 24-hour-rule lockout, and whether a
therapist is calling them back right now. A profile of the call webhook showed the ORM's
per-row work (identity map, relationship loading, one query per question) as its largest
cost, and then SQLAlchemy's execution layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from app.context import Line
from app.db import DriverStatement
from app.models import Call, CheckIn, Client, CoachingHours, Lockout, PracticeSkill
from app.models import Therapist as TherapistRow
from app.records import possibly_active
from ivr import voice
from ivr.callbacks import CALLING_BACK, THERAPIST
from ivr.skills import Skill, library

# A therapist's call-back counts as "now" for this long after it started.
CALL_BACK_SPAN = timedelta(hours=1)


@dataclass(frozen=True)
class Enrolled:
    """An enrolled client who called or texted, with what the flow needs about them."""

    caller: voice.Caller
    sms_opted_out: bool
    # A therapist is calling this client back through the line at this moment.
    being_called_back: bool


def as_flow_therapist(row: TherapistRow) -> voice.Therapist:
    return voice.Therapist(
        id=row.id,
        name=row.name,
        phone=row.phone,
        active=row.active,
        away_until=row.away_until,
        hours=tuple(voice.Window(h.weekday, h.start, h.end) for h in row.hours),
    )


def _enrolled_statement(by: str):
    clients, therapists = Client.__table__.c, TherapistRow.__table__.c
    hours, lockouts, calls = CoachingHours.__table__, Lockout.__table__.c, Call.__table__.c
    now = bindparam("now", type_=Lockout.__table__.c.starts_at.type)
    # The end of the latest active lockout: exactly ivr.rules.locked_until, since
    # `possibly_active` is the rule's own test.
    locked_until = (
        select(func.max(lockouts.ends_at))
        .where(lockouts.client_id == clients.id, possibly_active(now, lockouts))
        .scalar_subquery()
    )
    called_back = exists().where(
        calls.route == THERAPIST,
        calls.client_id == clients.id,
        calls.outcome == CALLING_BACK,
        calls.started_at >= bindparam("call_back_since", type_=calls.started_at.type),
    )
    return (
        select(
            clients.id,
            clients.name,
            clients.lockout_rule_applies,
            clients.last_skill,
            clients.sms_opted_out,
            therapists.id.label("therapist_id"),
            therapists.name.label("therapist_name"),
            therapists.phone.label("therapist_phone"),
            therapists.active.label("therapist_active"),
            therapists.away_until,
            hours.c.weekday,
            hours.c.start,
            hours.c.end,
            locked_until.label("locked_until"),
            called_back.label("being_called_back"),
        )
        .select_from(
            Client.__table__.join(
                TherapistRow.__table__, therapists.id == clients.therapist_id
            ).outerjoin(hours, hours.c.therapist_id == therapists.id)
        )
        .where(clients[by] == bindparam(by))
        .order_by(hours.c.weekday, hours.c.start)
    )


_BY_PHONE = _enrolled_statement("phone")
ENROLLED_BY_PHONE = DriverStatement(_BY_PHONE)
ENROLLED_BY_ID = DriverStatement(_enrolled_statement("id"))


def _enrolled(rows: list) -> Enrolled:
    first = rows[0]
    primary = voice.Therapist(
        id=first.therapist_id,
        name=first.therapist_name,
        phone=first.therapist_phone,
        active=first.therapist_active,
        away_until=first.away_until,
        hours=tuple(voice.Window(r.weekday, r.start, r.end) for r in rows if r.weekday is not None),
    )
    caller = voice.Caller(
        client_id=first.id,
        name=first.name,
        primary=primary,
        # A client for whom the 24-hour rule is waived is never locked, whatever was recorded.
        locked_until=first.locked_until if first.lockout_rule_applies else None,
        last_skill=first.last_skill,
    )
    return Enrolled(caller, bool(first.sms_opted_out), bool(first.being_called_back))


def _rows(
    session: Session | Connection,
    statement: DriverStatement,
    key: str,
    value: object,
    now: datetime,
) -> list:
    conn = session.connection() if isinstance(session, Session) else session
    return statement.all(conn, {key: value, "now": now, "call_back_since": now - CALL_BACK_SPAN})


def _load(
    session: Session | Connection,
    statement: DriverStatement,
    key: str,
    value: object,
    now: datetime,
) -> Enrolled | None:
    rows = _rows(session, statement, key, value, now)
    return _enrolled(rows) if rows else None


def enrolled_by_phone(session: Session | Connection, phone: str, now: datetime) -> Enrolled | None:
    """The enrolled client with this number, as the flow needs them, in one query."""
    return _load(session, ENROLLED_BY_PHONE, "phone", phone, now)


def enrolled_by_id(session: Session | Connection, client_id: int, now: datetime) -> Enrolled | None:
    return _load(session, ENROLLED_BY_ID, "id", client_id, now)


@dataclass(frozen=True)
class OpenCheckIn:
    """A client's latest unanswered check-in, expired or not (the text flow decides)."""

    id: int
    expires_at: datetime


@dataclass(frozen=True)
class Texter:
    """An enrolled client who texted: what `Enrolled` says, and their open check-in."""

    enrolled: Enrolled
    check_in: OpenCheckIn | None


def _latest_open_check_in(column):
    clients, check_ins = Client.__table__.c, CheckIn.__table__.c
    return (
        select(column)
        .where(check_ins.client_id == clients.id, check_ins.answered_at.is_(None))
        .order_by(check_ins.asked_at.desc(), check_ins.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# `enrolled_by_phone`'s statement with the client's open check-in beside it: one round trip
# for everything the text flow needs about a client.
TEXTER_BY_PHONE = DriverStatement(
    _BY_PHONE.add_columns(
        _latest_open_check_in(CheckIn.__table__.c.id).label("check_in_id"),
        _latest_open_check_in(CheckIn.__table__.c.expires_at).label("check_in_expires_at"),
    )
)


def texter_by_phone(conn: Session | Connection, phone: str, now: datetime) -> Texter | None:
    """The enrolled client with this number and their open check-in, in one query."""
    rows = _rows(conn, TEXTER_BY_PHONE, "phone", phone, now)
    if not rows:
        return None
    first = rows[0]
    check_in = (
        OpenCheckIn(first.check_in_id, first.check_in_expires_at)
        if first.check_in_id is not None
        else None
    )
    return Texter(_enrolled(rows), check_in)


# The skill offered to a client, so that the next one differs.
SET_LAST_SKILL = DriverStatement(
    update(Client.__table__)
    .where(Client.__table__.c.id == bindparam("client_id"))
    .values(last_skill=bindparam("skill"))
)


def skills_cached(line: Line) -> list[Skill]:
    """The skills, from the line's cache (read again after STATE_CACHE_SECONDS)."""

    def load() -> list[Skill]:
        with line.sessions() as session:
            return all_skills(session)

    return line.cached("skills", load)


def all_skills(session: Session) -> list[Skill]:
    """The built-in library and the practice's own additions."""
    added = session.scalars(select(PracticeSkill).order_by(PracticeSkill.id)).all()
    return library(Skill(s.key, s.module, s.name, s.text) for s in added)
