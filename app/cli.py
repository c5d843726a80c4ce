"""`coachline`: serve the line, migrate its database, create users, and the everyday admin
actions without the API. Each action goes through the service modules
(`app.therapists`, `app.clients`, `app.lockouts`, `app.users`), like the API's.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from app import cli_lists, cli_records, pins, users
from app.cli_help import PlainTyper
from app.cli_support import (
    MAX_ID,
    check_id,
    cli_actor,
    fail,
    open_line,
    therapist_for,
    unit_of_work,
)

cli = PlainTyper(
    help="The DBT practice's coaching line: serve it, migrate it, and manage its records.",
    no_args_is_help=True,
)

Email = Annotated[str, typer.Argument(metavar="EMAIL", help="The user's email.")]


class Role(StrEnum):
    admin = "admin"
    therapist = "therapist"


def alembic_ini() -> Path:
    """alembic.ini at the repository root, beside the `app` package."""
    return Path(__file__).resolve().parent.parent / "alembic.ini"


# ---- running the line ---------------------------------------------------------------------


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise typer.BadParameter(f"{value} is not a port: ports are 1 to 65535")
    return value


@cli.command()
def serve(
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            envvar="PORT",
            metavar="PORT",
            show_default=False,
            callback=_port,
            help="The port to listen on: 8000, or PORT from the environment.",
        ),
    ] = 8000,
) -> None:
    """Serve the line (the dashboard at /, API docs at /docs, health at /healthz).

    With no Twilio credentials and an empty database, it first creates a demo practice and
    prints its admin login."""
    import uvicorn

    # The app reads its port from the environment: with `--port` alone, the simulator would
    # still post to 8000 (PUBLIC_BASE_URL defaults to this machine at PORT).
    os.environ["PORT"] = str(port)
    _demo_practice(host, port)
    uvicorn.run("app.main:app", host=host, port=port)


def _demo_practice(host: str, port: int) -> None:
    from app.demo import seed_demo

    line = open_line()
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
        "  (shown once; `coachline set-password EMAIL` sets a new one)\n"
        "  An admin signs in with a code too: at the first sign-in, scan the QR code with any\n"
        "  authenticator app (or type the key it shows)."
    )


@cli.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="One pass, then exit (e.g. from cron).")
    ] = False,
) -> None:
    """Escalate unreturned missed calls and deliver queued texts, as a process of its own.

    Run the web processes with RUN_WORKER=false when you do."""
    import logging

    from app.worker import NotificationWorker, run_once

    logging.basicConfig(level=logging.INFO)
    line = open_line()
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
        fail(f"alembic.ini not found at {ini}; run from a checkout of coachline")
    line = open_line()
    config = Config(str(ini))
    config.attributes["database_url"] = line.settings.database_url
    try:
        command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        fail(f"migration failed ({type(exc).__name__}); check DATABASE_URL")
    finally:
        line.engine.dispose()
    typer.echo(f"Migrated the {line.engine.dialect.name} database to the latest schema.")


@cli.command("create-user")
def create_user(
    email: Email,
    role: Annotated[
        Role,
        typer.Option(
            metavar="ROLE",
            help="admin (everything) or therapist (their own clients).",
        ),
    ],
    therapist_id: Annotated[
        int | None,
        typer.Option(
            metavar="ID",
            callback=check_id,
            help="For a therapist: which therapist they are (`coachline therapists` lists them).",
        ),
    ] = None,
) -> None:
    """Create a user; prints their API token (shown once) as the last line."""
    if role is Role.therapist and therapist_id is None:
        fail("a therapist user needs --therapist-id: which therapist they are")
    with unit_of_work() as (line, session):
        user, token = users.create_user(
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


# ---- ending someone's access ----------------------------------------------------------------


@cli.command("disable-user")
def disable_user(
    email: Email,
    reason: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Why, for the audit log.")
    ] = None,
) -> None:
    """Disable a user: they can no longer sign in; their dashboard sessions end and their API
    tokens are revoked, at once."""
    with unit_of_work() as (line, session):
        user = users.user_by_email(session, email)
        tokens = sum(1 for t in user.tokens if t.revoked_at is None)
        users.disable_user(session, cli_actor(), line.now(), user.id, reason=reason)
        shown = user.email
    typer.echo(f"Disabled {shown}: signed out everywhere, {_tokens(tokens)} revoked.")


@cli.command("enable-user")
def enable_user(email: Email) -> None:
    """Let a disabled user sign in again (their revoked API tokens stay revoked: `new-token`)."""
    with unit_of_work() as (line, session):
        user = users.user_by_email(session, email)
        users.enable_user(session, cli_actor(), line.now(), user.id)
        shown = user.email
    typer.echo(f"Enabled {shown}; they can sign in again.")


@cli.command("revoke-token")
def revoke_token(
    token_id_or_email: Annotated[
        str,
        typer.Argument(
            metavar="TOKEN_ID_OR_EMAIL",
            help="A token's id (that token), or a user's email (all of theirs).",
        ),
    ],
) -> None:
    """Revoke an API token by its id (the Users page shows them), or every token of a user."""
    with unit_of_work() as (line, session):
        if "@" in token_id_or_email:
            user = users.user_by_email(session, token_id_or_email)
            revoked = users.revoke_tokens(session, cli_actor(), line.now(), user.id)
            said = f"Revoked {_tokens(len(revoked))} of {user.email}."
        else:
            token_id = _token_id(token_id_or_email)
            token = users.revoke_token(session, cli_actor(), line.now(), token_id)
            said = f"Revoked API token {token.id} of {token.user.email}."
    typer.echo(said)


@cli.command("new-token")
def new_token(email: Email) -> None:
    """Give a user a new API token (e.g. after revoking one); prints it (shown once) last."""
    with unit_of_work() as (line, session):
        user = users.user_by_email(session, email)
        token = users.new_token(session, cli_actor(), line.now(), user.id)
        shown = user.email
    typer.echo(f"A new API token for {shown} (shown once; `Authorization: Bearer <token>`):")
    typer.echo(token)


def _token_id(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        fail("give a token's id (a number) or a user's email")
    return int(raw)


def _tokens(count: int) -> str:
    return f"{count} API token" + ("" if count == 1 else "s")


# ---- the practice's records, listed (app.cli_lists) and changed (app.cli_records) ---------

cli.command("clients")(cli_lists.clients)
cli.command("therapists")(cli_lists.therapists)
cli.command("lockouts")(cli_lists.lockouts_list)
cli.command("add-therapist")(cli_records.add_therapist)
cli.command("add-client")(cli_records.add_client)
cli.command("set-language")(cli_records.set_language)
cli.command("record-lockout")(cli_records.record_lockout)
cli.command("set-away")(cli_records.set_away)
cli.command("set-hours")(cli_records.set_hours)
cli.command("lift-lockout")(cli_records.lift_lockout)
cli.command("locked-out")(cli_records.locked_out)


@cli.command("set-password")
def set_password(
    email: Annotated[
        str, typer.Argument(metavar="EMAIL", help="The user's email (see `create-user`).")
    ],
) -> None:
    """Set a user's dashboard password; asks for it twice, without showing it."""
    password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with unit_of_work() as (line, session):
        user = users.set_password(session, cli_actor(), line.now(), email, password)
        shown = user.email
    typer.echo(f"Set the dashboard password for {shown}.")


@cli.command("reset-two-factor")
def reset_two_factor(email: Email) -> None:
    """Turn off a user's two-factor sign-in, e.g. after a lost phone (audited).

    Their secret and recovery codes go and their sessions end; they set it up again at their
    next sign-in if they must."""
    from app import two_factor

    with unit_of_work() as (line, session):
        user = users.user_by_email(session, email)
        two_factor.reset(session, cli_actor(), line.now(), user.id)
        shown = user.email
    typer.echo(f"Reset two-factor sign-in for {shown}; they are signed out everywhere.")


@cli.command("set-pin")
def set_pin(
    who: Annotated[
        str,
        typer.Argument(
            metavar="PHONE_OR_EMAIL", help="The therapist's phone, or their user's email."
        ),
    ],
    clear: Annotated[
        bool,
        typer.Option(
            "--clear", help="Remove the PIN: their phone menu stays closed until one is set."
        ),
    ] = False,
) -> None:
    """Set a therapist's PIN (4-8 digits) for their phone menu and care changes by text.

    It asks for the PIN twice, without showing it. Only its hash is kept."""
    pin = "" if clear else typer.prompt("New PIN", hide_input=True, confirmation_prompt=True)
    with unit_of_work() as (line, session):
        therapist = therapist_for(session, who)
        if clear:
            pins.clear_pin(session, cli_actor(), line.now(), therapist.id)
        else:
            pins.set_pin(session, cli_actor(), line.now(), therapist.id, pin.strip())
        shown = therapist.id
    typer.echo(f"{'Cleared' if clear else 'Set'} the PIN of therapist {shown}.")


# ---- retention and Twilio setup -----------------------------------------------------------


@cli.command()
def purge() -> None:
    """Delete call records and texts older than RETENTION_DAYS now (audited).

    The worker also does this once a day."""
    from app.retention import purge as purge_records

    line = open_line()
    try:
        done = purge_records(line)
    except SQLAlchemyError as exc:
        fail(f"the database refused ({type(exc).__name__}); run `coachline migrate`")
    finally:
        line.engine.dispose()
    if not done:
        typer.echo(f"Nothing older than {line.settings.retention_days} days.")
        return
    typer.echo(
        f"Purged {done['calls']} calls and {done['messages']} texts from before {done['before']}."
    )


twilio_cli = PlainTyper(help="Set up the line's Twilio number.", no_args_is_help=True)
cli.add_typer(twilio_cli, name="twilio")


@twilio_cli.command("configure")
def twilio_configure(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would change; change nothing.")
    ] = False,
) -> None:
    """Point the Twilio number's Voice, Voice Fallback, status callback and Messaging URLs at
    PUBLIC_BASE_URL, through Twilio's REST API."""
    from app.twilio.configure import ConfigureError, configure

    line = open_line()
    try:
        result = configure(line, dry_run=dry_run)
    except ConfigureError as exc:
        fail(str(exc))
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
