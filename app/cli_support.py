"""What every `coachline` command needs: the line from the environment, one unit of work with
refusals told plainly, the audit log's name for whoever runs it, and times read and shown."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app import users
from app.db import transaction
from app.domain import DomainError, Invalid, NotFound, normalise_phone
from app.line import Line
from app.models import Therapist
from app.settings import Settings

MAX_ID = 2_147_483_647
TIME_FORMAT = "%a %Y-%m-%d %H:%M %Z"


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


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def open_line() -> Line:
    try:
        return build_line()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
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
        # The driver's first line names the constraint; the statement and its values are left out.
        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else ""
        fail(f"that conflicts with an existing record ({detail})")
    except SQLAlchemyError as exc:
        # The exception text can carry the statement's parameters (names, phones): not shown.
        fail(
            f"the database refused ({type(exc).__name__}); "
            "check DATABASE_URL, and run `coachline migrate`"
        )
    finally:
        line.engine.dispose()


def local(line: Line, instant: datetime) -> str:
    return instant.astimezone(line.settings.tz).strftime(TIME_FORMAT)


def parse_instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--at {value!r} is not an ISO 8601 time, e.g. 2026-11-27T21:42-06:00")
    if parsed.tzinfo is None:
        fail("--at needs a UTC offset, e.g. 2026-11-27T21:42-06:00")
    return parsed


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
