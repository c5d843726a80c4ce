"""`coachline`: serve the line, migrate its database, create users, and the everyday admin
actions without the API. Each action goes through `app.records`, like the API's.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app import records, users
from app.context import Line
from app.db import transaction
from app.records import DomainError
from app.settings import Settings

# Rich tracebacks would print local variables: tokens, names and phone numbers among them.
cli = typer.Typer(
    help="The DBT practice's coaching line: serve it, migrate it, and manage its records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

MAX_ID = 2_147_483_647
TIME_FORMAT = "%a %Y-%m-%d %H:%M %Z"


class Role(StrEnum):
    admin = "admin"
    therapist = "therapist"


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


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def _line() -> Line:
    try:
        return build_line()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        _fail(f"bad settings: {problems}")
    except SQLAlchemyError as exc:
        _fail(f"DATABASE_URL is not a database this line can use ({type(exc).__name__})")


@contextmanager
def _unit_of_work() -> Iterator[tuple[Line, Session]]:
    """One committed transaction, with refusals and database trouble told plainly."""
    line = _line()
    try:
        with transaction(line.sessions) as session:
            yield line, session
    except DomainError as exc:
        _fail(exc.message)
    except IntegrityError as exc:
        # The driver's first line names the constraint; the statement and its values are left out.
        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else ""
        _fail(f"that conflicts with an existing record ({detail})")
    except SQLAlchemyError as exc:
        # The exception text can carry the statement's parameters (names, phones): not shown.
        _fail(
            f"the database refused ({type(exc).__name__}); "
            "check DATABASE_URL, and run `coachline migrate`"
        )
    finally:
        line.engine.dispose()


def _local(line: Line, instant: datetime) -> str:
    return instant.astimezone(line.settings.tz).strftime(TIME_FORMAT)


def _parse_instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"--at {value!r} is not an ISO 8601 time, e.g. 2026-11-27T21:42-06:00")
    if parsed.tzinfo is None:
        _fail("--at needs a UTC offset, e.g. 2026-11-27T21:42-06:00")
    return parsed


def alembic_ini() -> Path:
    """alembic.ini at the repository root, beside the `app` package."""
    return Path(__file__).resolve().parent.parent / "alembic.ini"


# ---- running the line ---------------------------------------------------------------------


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", min=1, max=65535)] = 8000,
) -> None:
    """Serve the line (the dashboard at /, API docs at /docs, health at /healthz).

    With no Twilio credentials and an empty database, it first creates a demo practice and
    prints its admin login."""
    import uvicorn

    _demo_practice(host, port)
    uvicorn.run("app.main:app", host=host, port=port)


def _demo_practice(host: str, port: int) -> None:
    from app.demo import seed_demo

    line = _line()
    try:
        login = seed_demo(line)
    except SQLAlchemyError as exc:
        typer.echo(f"No demo practice ({type(exc).__name__}): run `coachline migrate`.", err=True)
        return
    finally:
        line.engine.dispose()
    if login is None:
        return
    email, password = login
    typer.echo(
        "Created a demo practice: no Twilio credentials and an empty database.\n"
        f"  Dashboard: http://{host}:{port}/\n"
        f"  Sign in as {email} with the password {password}\n"
        "  (shown once; `coachline set-password EMAIL` sets a new one)"
    )


@cli.command()
def worker(
    once: Annotated[bool, typer.Option(help="one pass, then exit")] = False,
) -> None:
    """Escalate unreturned missed calls and deliver queued texts, as its own process (run the
    web processes with RUN_WORKER=false when you do)."""
    import logging

    from app.worker import NotificationWorker, run_once

    logging.basicConfig(level=logging.INFO)
    line = _line()
    if once:
        typer.echo(f"delivered: {run_once(line)}")
        return
    try:
        NotificationWorker(line).run()
    except KeyboardInterrupt:
        pass
    finally:
        line.engine.dispose()


@cli.command()
def migrate() -> None:
    """Bring the database named by DATABASE_URL up to the latest schema."""
    from alembic import command
    from alembic.config import Config

    ini = alembic_ini()
    if not ini.is_file():
        _fail(f"alembic.ini not found at {ini}; run from a checkout of coachline")
    line = _line()
    config = Config(str(ini))
    config.attributes["database_url"] = line.settings.database_url
    try:
        command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        _fail(f"migration failed ({type(exc).__name__}); check DATABASE_URL")
    finally:
        line.engine.dispose()
    typer.echo(f"Migrated the {line.engine.dialect.name} database to the latest schema.")


@cli.command("create-user")
def create_user(
    email: str,
    role: Annotated[Role, typer.Option(help="admin: everything; therapist: their own clients")],
    therapist_id: Annotated[
        int | None, typer.Option(min=1, max=MAX_ID, help="the therapist this user is")
    ] = None,
) -> None:
    """Create an API user; prints their token (shown once) as the last line."""
    with _unit_of_work() as (line, session):
        user, token = records.create_user(
            session,
            cli_actor(),
            line.now(),
            email=email,
            role=role.value,
            therapist_id=therapist_id,
        )
    typer.echo(f"Created {user.role} user {user.email} (id {user.id}).")
    typer.echo("API token (shown once; use it as `Authorization: Bearer <token>`):")
    typer.echo(token)


# ---- everyday admin actions ---------------------------------------------------------------


@cli.command("add-therapist")
def add_therapist(name: str, phone: str) -> None:
    """Add a therapist; the phone may be written as people write it."""
    with _unit_of_work() as (line, session):
        therapist = records.create_therapist(
            session, cli_actor(), line.now(), name=name, phone=phone
        )
    typer.echo(f"Added therapist {therapist.id}: {therapist.name}, {therapist.phone}.")


@cli.command("add-client")
def add_client(
    name: str,
    phone: str,
    therapist_id: Annotated[int, typer.Option(min=1, max=MAX_ID, help="primary therapist")],
    lockout_rule: Annotated[
        bool, typer.Option("--lockout-rule/--no-lockout-rule", help="does the 24-hour rule apply")
    ] = True,
) -> None:
    """Enrol a client with their primary therapist."""
    with _unit_of_work() as (line, session):
        client = records.create_client(
            session,
            cli_actor(),
            line.now(),
            name=name,
            phone=phone,
            therapist_id=therapist_id,
            lockout_rule_applies=lockout_rule,
        )
    rule = "applies" if client.lockout_rule_applies else "is waived"
    typer.echo(
        f"Added client {client.id}: {client.name}, {client.phone}, "
        f"therapist {client.therapist_id}; the 24-hour rule {rule}."
    )


@cli.command("record-lockout")
def record_lockout(
    client_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    at: Annotated[
        str | None, typer.Option(help="when it happened, ISO 8601 with offset; default now")
    ] = None,
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a self-harm event: the client cannot reach coaching for 24 hours from it."""
    occurred_at = _parse_instant(at)
    with _unit_of_work() as (line, session):
        lockout = records.record_lockout(
            session, cli_actor(), line.now(), client_id, occurred_at=occurred_at, note=note
        )
    typer.echo(
        f"Recorded lockout {lockout.id} for client {lockout.client_id}: "
        f"from {_local(line, lockout.starts_at)} until {_local(line, lockout.ends_at)}."
    )


@cli.command("set-away")
def set_away(
    therapist_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    until: Annotated[
        str | None, typer.Option(help="back at this instant, ISO 8601 with offset")
    ] = None,
    back: Annotated[bool, typer.Option("--back", help="available again now")] = False,
) -> None:
    """Set a therapist away (vacation, time in session) until an instant, or back now."""
    if back == (until is not None):
        _fail("give either --until or --back")
    with _unit_of_work() as (line, session):
        if back:
            therapist = records.clear_away(session, cli_actor(), line.now(), therapist_id)
        else:
            instant = _parse_instant(until)
            assert instant is not None
            therapist = records.set_away(session, cli_actor(), line.now(), therapist_id, instant)
    if therapist.away_until is None:
        typer.echo(f"Therapist {therapist.id} is available for coaching calls.")
    else:
        typer.echo(f"Therapist {therapist.id} is away until {_local(line, therapist.away_until)}.")


@cli.command("set-hours")
def set_hours(
    therapist_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    windows: Annotated[
        list[str] | None,
        typer.Argument(
            help='weekly windows "DAY HH:MM-HH:MM" (DAY 0 = Monday), e.g. "0 09:00-17:00"'
        ),
    ] = None,
) -> None:
    """Replace a therapist's weekly coaching hours (in the practice's time zone); no windows
    means no restriction."""
    parsed = []
    for raw in windows or []:
        try:
            day, span = raw.split()
            start, end = span.split("-")
            parsed.append(
                records.HoursWindow(int(day), time.fromisoformat(start), time.fromisoformat(end))
            )
        except ValueError:
            _fail(f'not a window: {raw!r} (write "0 09:00-17:00")')
    with _unit_of_work() as (line, session):
        hours = records.set_hours(session, cli_actor(), line.now(), therapist_id, parsed)
        shown = [f"{h.weekday} {h.start:%H:%M}-{h.end:%H:%M}" for h in hours]
    typer.echo(f"Therapist {therapist_id}'s coaching hours: {', '.join(shown) or 'any time'}.")


@cli.command("lift-lockout")
def lift_lockout(
    lockout_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    reason: Annotated[str, typer.Option(help="why it is lifted (required)")],
) -> None:
    """Lift a lockout early; the reason goes in the audit log."""
    with _unit_of_work() as (line, session):
        lockout = records.lift_lockout(session, cli_actor(), line.now(), lockout_id, reason)
    typer.echo(f"Lifted lockout {lockout.id} (client {lockout.client_id}).")


@cli.command("locked-out")
def locked_out() -> None:
    """Who cannot reach coaching now under the 24-hour rule, and until when."""
    with _unit_of_work() as (line, session):
        rows = records.locked_out_now(session, line.now())
        lines = [
            f"  client {client.id}  {client.name}  until {_local(line, until)}"
            for client, until in rows
        ]
    if not lines:
        typer.echo("Nobody is locked out now.")
        return
    typer.echo(f"Locked out now (times in {line.settings.practice_timezone}):")
    for text in lines:
        typer.echo(text)


@cli.command("set-password")
def set_password(
    email: Annotated[str, typer.Argument(help="the user's email (see `create-user`)")],
) -> None:
    """Set a user's dashboard password; asks for it twice, without showing it."""
    password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with _unit_of_work() as (line, session):
        user = users.set_password(session, cli_actor(), line.now(), email, password)
        shown = user.email
    typer.echo(f"Set the dashboard password for {shown}.")


# ---- retention and Twilio setup -----------------------------------------------------------


@cli.command()
def purge() -> None:
    """Delete call records and texts older than RETENTION_DAYS now (audited); the worker also
    does this once a day."""
    from app.retention import purge as purge_records

    line = _line()
    try:
        done = purge_records(line)
    except SQLAlchemyError as exc:
        _fail(f"the database refused ({type(exc).__name__}); run `coachline migrate`")
    finally:
        line.engine.dispose()
    if not done:
        typer.echo(f"Nothing older than {line.settings.retention_days} days.")
        return
    typer.echo(
        f"Purged {done['calls']} calls and {done['messages']} texts from before {done['before']}."
    )


twilio_cli = typer.Typer(help="Set up the line's Twilio number.", no_args_is_help=True)
cli.add_typer(twilio_cli, name="twilio")


@twilio_cli.command("configure")
def twilio_configure(
    dry_run: Annotated[bool, typer.Option(help="print what would change, change nothing")] = False,
) -> None:
    """Point TWILIO_PHONE_NUMBER's Voice URL, Voice Fallback URL, status callback and
    Messaging URL at PUBLIC_BASE_URL, through Twilio's REST API."""
    from app.twilio.configure import ConfigureError, configure

    line = _line()
    try:
        result = configure(line, dry_run=dry_run)
    except ConfigureError as exc:
        _fail(str(exc))
    finally:
        line.engine.dispose()
    typer.echo(f"{result.phone_number} ({result.number_sid}):")
    for field in result.fields:
        typer.echo(f"  {field.describe()}")
    if not result.changes:
        typer.echo("Everything is already set.")
    elif result.updated:
        typer.echo(f"Updated {len(result.changes)} fields.")
    else:
        typer.echo(f"Dry run: {len(result.changes)} fields would change.")


def main() -> None:
    cli(prog_name="coachline")
