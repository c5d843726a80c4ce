"""What every `coachline` command needs: the line from the environment, one unit of work with
refusals told plainly, the audit log's name for whoever runs it, ids checked, and times read
and shown in the practice's time zone (as the dashboard last set it)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app import users
from app.db import transaction
from app.domain import DomainError, Invalid, NotFound, normalise_phone
from app.line import Line
from app.local_time import TimeNotUnderstood, read_time, shown
from app.models import Therapist
from app.settings import Settings

MAX_ID = 2_147_483_647


def build_line() -> Line:
    """The line from the environment (DATABASE_URL, .env); tests replace this."""
    return Line(Settings())


def cli_actor() -> str:
    """How the audit log names a change made here: the operating-system user."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        who = "unknown"
    return f"cli:{who}"


# What a unique column means to a person, by the words the database names it with (SQLite
# says "clients.phone", PostgreSQL "uq_clients_phone" or "clients_phone_key").
_TAKEN = (
    ("phone", "that phone number is already on the line (a client's or a therapist's)"),
    ("email", "that email already has a login"),
    ("code", "that code is already taken"),
)


def conflict_in_words(exc: IntegrityError) -> str:
    """A refusal by a unique column, in words; the statement and its values are left out
    (they can hold a name or a number)."""
    first_line = str(exc.orig).splitlines()[0] if exc.orig is not None else ""
    for column, words in _TAKEN:
        if column in first_line:
            return words
    return "that conflicts with a record already saved; look again with the list commands"


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def open_line() -> Line:
    try:
        return build_line()
    except ValidationError as exc:
        # Named as they are set: the environment variable (or .env line).
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        fail(f"bad settings: {problems}")
    except SQLAlchemyError as exc:
        fail(f"DATABASE_URL is not a database this line can use ({type(exc).__name__})")


@contextmanager
def unit_of_work() -> Iterator[tuple[Line, Session]]:
    """One committed transaction, with refusals and database trouble told plainly."""
    line = open_line()
    try:
        with transaction(line.sessions) as session:
            yield line, session
    except DomainError as exc:
        fail(exc.message)
    except IntegrityError as exc:
        fail(conflict_in_words(exc))
    except SQLAlchemyError as exc:
        # The exception text can carry the statement's parameters (names, phones): not shown.
        fail(
            f"the database refused ({type(exc).__name__}); "
            "check DATABASE_URL, and run `coachline migrate`"
        )
    finally:
        line.engine.dispose()


def check_id(value: int | None) -> int | None:
    """An id typed on the command line: a whole number from 1 (the database's ids)."""
    if value is not None and not 1 <= value <= MAX_ID:
        raise typer.BadParameter(f"{value} is not an id: ids are whole numbers from 1")
    return value


# The ids the commands take, each saying where to find it.
ClientId = Annotated[
    int,
    typer.Argument(
        metavar="CLIENT_ID",
        callback=check_id,
        help="The client's id (`coachline clients` lists them).",
    ),
]
TherapistId = Annotated[
    int,
    typer.Argument(
        metavar="THERAPIST_ID",
        callback=check_id,
        help="The therapist's id (`coachline therapists` lists them).",
    ),
]
LockoutId = Annotated[
    int,
    typer.Argument(
        metavar="LOCKOUT_ID",
        callback=check_id,
        help="The lockout's id (`coachline locked-out` and `coachline lockouts` show them).",
    ),
]


def practice_tz(line: Line, session: Session) -> ZoneInfo:
    """The practice's time zone as the dashboard last set it (else the environment's)."""
    return line.current_settings(session).tz


def local(tz: ZoneInfo, instant: datetime) -> str:
    """An instant as the practice reads it: "Fri 2026-11-27 21:42 CST"."""
    return shown(instant, tz)


def read_option_time(
    option: str, raw: str, tz: ZoneInfo, now: datetime, *, ahead: bool = False
) -> datetime:
    """A time typed for `option` (--at, --until), read in the practice's time zone; refused in
    words when it cannot be read, or is on the wrong side of now."""
    try:
        return read_time(raw, tz, now, ahead=ahead)
    except TimeNotUnderstood as exc:
        fail(f"{option} {exc}")


def therapist_for(session: Session, who: str) -> Therapist:
    """A therapist named by their phone (as people write it) or their user's email."""
    if "@" in who:
        user = users.by_email(session, who)
        if user is None:
            raise NotFound("no user with that email")
        if user.therapist_id is None:
            raise Invalid("that user is not a therapist")
        therapist = session.get(Therapist, user.therapist_id)
    else:
        therapist = session.scalar(select(Therapist).where(Therapist.phone == normalise_phone(who)))
    if therapist is None:
        raise NotFound("no therapist with that phone")
    return therapist
