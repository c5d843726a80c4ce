"""Loading what the flow needs to decide: who is calling, who is on call, which skills exist.

The caller is loaded on every incoming call and text, so the callers of one moment are one
Core statement (`callers_by_phone`, `texters_by_phone`), compiled once and run on the driver
(`app.db.DriverStatement`): each client, their therapist and the therapist's hours, the end
of an active 24-hour-rule lockout, and whether a therapist is calling them back right now. A
profile of the call webhook showed the ORM's per-row work (identity map, relationship
loading, one query per question) as its largest cost, and then SQLAlchemy's execution layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Select,
    bindparam,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

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


class CoachingWindows(TypeDecorator[tuple[voice.Window, ...]]):
    """A therapist's coaching hours as one JSON value (`json_rows`): the windows, in order."""

    impl = JSON
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> tuple[voice.Window, ...]:
        # Times come as SQLite's stored text ("09:00:00.000000") or PostgreSQL's ("09:00:00").
        windows = (
            voice.Window(weekday, time.fromisoformat(start), time.fromisoformat(end))
            for weekday, start, end in value
        )
        return tuple(sorted(windows, key=lambda w: (w.weekday, w.start)))


class json_rows(FunctionElement):  # noqa: N801  (a SQL function, named as SQL names them)
    """Its rows' values aggregated into one JSON array of arrays: a joined table's few rows
    as one column, so that the query keeps one row per client. Its one use is the coaching
    hours, and it is typed as them."""

    type = CoachingWindows()
    inherit_cache = True


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    # json_agg of no rows is NULL, where SQLite's json_group_array is [].
    rows = f"json_agg(json_build_array({compiler.process(element.clauses, **kw)}))"
    return f"coalesce({rows}, '[]'::json)"


def _enrolled_statement(which: ColumnElement[bool]) -> Select:
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
    # One JSON column, not a joined row per window: with one row per client, SQLite runs the
    # correlated subqueries below once, not once per window (full database: 83 -> 49 us).
    coaching_hours = (
        select(json_rows(hours.c.weekday, hours.c.start, hours.c.end))
        .where(hours.c.therapist_id == therapists.id)
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
            clients.phone,
            clients.name,
            clients.lockout_rule_applies,
            clients.last_skill,
            clients.sms_opted_out,
            therapists.id.label("therapist_id"),
            therapists.name.label("therapist_name"),
            therapists.phone.label("therapist_phone"),
            therapists.active.label("therapist_active"),
            therapists.away_until,
            coaching_hours.label("hours"),
            locked_until.label("locked_until"),
            called_back.label("being_called_back"),
        )
        .select_from(
            Client.__table__.join(TherapistRow.__table__, therapists.id == clients.therapist_id)
        )
        .where(which)
    )


_clients = Client.__table__.c
ENROLLED_BY_ID = DriverStatement(_enrolled_statement(_clients.id == bindparam("id")))


def _enrolled(row: Any) -> Enrolled:
    primary = voice.Therapist(
        id=row.therapist_id,
        name=row.therapist_name,
        phone=row.therapist_phone,
        active=row.therapist_active,
        away_until=row.away_until,
        hours=row.hours,
    )
    caller = voice.Caller(
        client_id=row.id,
        name=row.name,
        primary=primary,
        # A client for whom the 24-hour rule is waived is never locked, whatever was recorded.
        locked_until=row.locked_until if row.lockout_rule_applies else None,
        last_skill=row.last_skill,
    )
    return Enrolled(caller, bool(row.sms_opted_out), bool(row.being_called_back))


def enrolled_by_id(session: Session | Connection, client_id: int, now: datetime) -> Enrolled | None:
    """The enrolled client with this id, as the flow needs them, in one query."""
    conn = session.connection() if isinstance(session, Session) else session
    row = ENROLLED_BY_ID.first(conn, {"id": client_id, **_instants(now)})
    return _enrolled(row) if row is not None else None


def _instants(now: datetime) -> dict[str, datetime]:
    return {"now": now, "call_back_since": now - CALL_BACK_SPAN}


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


@cache
def callers_statement(count: int, texters: bool = False) -> DriverStatement:
    """The callers with `count` numbers (phone_0, phone_1, ...) in one statement; for texters,
    with their open check-in beside it: everything the flow needs about a client, in one
    round trip for every call or text of a moment."""
    numbers = [bindparam(f"phone_{i}", type_=_clients.phone.type) for i in range(count)]
    statement = _enrolled_statement(_clients.phone.in_(numbers))
    if texters:
        statement = statement.add_columns(
            _latest_open_check_in(CheckIn.__table__.c.id).label("check_in_id"),
            _latest_open_check_in(CheckIn.__table__.c.expires_at).label("check_in_expires_at"),
        )
    return DriverStatement(statement)


def _rows_by_phone(
    conn: Connection, phones: list[str], now: datetime, texters: bool = False
) -> dict[str, Any]:
    """The row of each enrolled client among these numbers (one row per client)."""
    params: dict[str, object] = _instants(now)
    params.update((f"phone_{i}", phone) for i, phone in enumerate(phones))
    return {row.phone: row for row in callers_statement(len(phones), texters).all(conn, params)}


def callers_by_phone(conn: Connection, phones: list[str], now: datetime) -> dict[str, Enrolled]:
    """The enrolled clients among these numbers, in one statement."""
    return {phone: _enrolled(row) for phone, row in _rows_by_phone(conn, phones, now).items()}


def texters_by_phone(conn: Connection, phones: list[str], now: datetime) -> dict[str, Texter]:
    """The enrolled clients among these numbers, each with their open check-in, in one
    statement."""
    texters = {}
    for phone, row in _rows_by_phone(conn, phones, now, texters=True).items():
        check_in = (
            OpenCheckIn(row.check_in_id, row.check_in_expires_at)
            if row.check_in_id is not None
            else None
        )
        texters[phone] = Texter(_enrolled(row), check_in)
    return texters


@dataclass(frozen=True)
class TherapistByPhone:
    id: int
    active: bool


@cache
def _therapists_statement(count: int) -> DriverStatement:
    therapists = TherapistRow.__table__.c
    numbers = [bindparam(f"phone_{i}", type_=therapists.phone.type) for i in range(count)]
    return DriverStatement(
        select(therapists.id, therapists.phone, therapists.active).where(
            therapists.phone.in_(numbers)
        )
    )


def therapists_by_phone(conn: Connection, phones: list[str]) -> dict[str, TherapistByPhone]:
    """The therapists among these numbers (calling or texting the line), in one statement."""
    params = {f"phone_{i}": phone for i, phone in enumerate(phones)}
    rows = _therapists_statement(len(phones)).all(conn, params)
    return {row.phone: TherapistByPhone(row.id, bool(row.active)) for row in rows}


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
