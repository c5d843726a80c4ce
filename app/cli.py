"""`coachline`: serve the line, migrate its database, create users, and the everyday admin
actions without the API. Each action goes through the service modules
(`app.therapists`, `app.clients`, `app.lockouts`, `app.users`), like the API's.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from app import cli_records, pins, users
from app.cli_support import MAX_ID, cli_actor, fail, open_line, therapist_for, unit_of_work

# Rich tracebacks would print local variables: tokens, names and phone numbers among them.
cli = typer.Typer(
    help="The DBT practice's coaching line: serve it, migrate it, and manage its records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


class Role(StrEnum):
    admin = "admin"
    therapist = "therapist"


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
    once: Annotated[bool, typer.Option(help="one pass, then exit")] = False,
) -> None:
    """Escalate unreturned missed calls and deliver queued texts, as its own process (run the
    web processes with RUN_WORKER=false when you do)."""
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
    email: str,
    role: Annotated[Role, typer.Option(help="admin: everything; therapist: their own clients")],
    therapist_id: Annotated[
        int | None, typer.Option(min=1, max=MAX_ID, help="the therapist this user is")
    ] = None,
) -> None:
    """Create an API user; prints their token (shown once) as the last line."""
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
    email: str,
    reason: Annotated[str | None, typer.Option(help="why, for the audit log")] = None,
) -> None:
    """Disable a user: they can no longer sign in, their dashboard sessions end and their API
    tokens are revoked, at once."""
    with unit_of_work() as (line, session):
        user = users.user_by_email(session, email)
        tokens = sum(1 for t in user.tokens if t.revoked_at is None)
        users.disable_user(session, cli_actor(), line.now(), user.id, reason=reason)
        shown = user.email
    typer.echo(f"Disabled {shown}: signed out everywhere, {_tokens(tokens)} revoked.")


@cli.command("enable-user")
def enable_user(email: str) -> None:
    """Let a disabled user sign in again (their revoked API tokens stay revoked: `new-token`)."""
    with unit_of_work() as (line, session):
        user = users.user_by_email(session, email)
        users.enable_user(session, cli_actor(), line.now(), user.id)
        shown = user.email
    typer.echo(f"Enabled {shown}; they can sign in again.")


@cli.command("revoke-token")
def revoke_token(
    token_id_or_email: Annotated[
        str, typer.Argument(help="a token's id (one token), or a user's email (all of theirs)")
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
def new_token(email: str) -> None:
    """A new API token for a user (e.g. after revoking one); prints it (shown once) last."""
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


# ---- everyday admin actions, in app.cli_records -------------------------------------------

cli.command("add-therapist")(cli_records.add_therapist)
cli.command("add-client")(cli_records.add_client)
cli.command("record-lockout")(cli_records.record_lockout)
cli.command("set-away")(cli_records.set_away)
cli.command("set-hours")(cli_records.set_hours)
cli.command("lift-lockout")(cli_records.lift_lockout)
cli.command("locked-out")(cli_records.locked_out)


@cli.command("set-password")
def set_password(
    email: Annotated[str, typer.Argument(help="the user's email (see `create-user`)")],
) -> None:
    """Set a user's dashboard password; asks for it twice, without showing it."""
    password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with unit_of_work() as (line, session):
        user = users.set_password(session, cli_actor(), line.now(), email, password)
        shown = user.email
    typer.echo(f"Set the dashboard password for {shown}.")


@cli.command("reset-two-factor")
def reset_two_factor(email: str) -> None:
    """Turn off a user's two-factor sign-in (a lost phone): their secret and recovery codes go
    and their sessions end; they set it up again at their next sign-in if they must. Audited."""
    from app import two_factor

    with unit_of_work() as (line, session):
        user = users.user_by_email(session, email)
        two_factor.reset(session, cli_actor(), line.now(), user.id)
        shown = user.email
    typer.echo(f"Reset two-factor sign-in for {shown}; they are signed out everywhere.")


@cli.command("set-pin")
def set_pin(
    who: Annotated[str, typer.Argument(help="the therapist's phone, or their user's email")],
    clear: Annotated[
        bool, typer.Option(help="remove the PIN: their phone menu stays closed until one is set")
    ] = False,
) -> None:
    """Set a therapist's PIN (4-8 digits) for their phone menu and care changes by text; asks
    for it twice, without showing it. Only its hash is kept."""
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
    """Delete call records and texts older than RETENTION_DAYS now (audited); the worker also
    does this once a day."""
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


twilio_cli = typer.Typer(help="Set up the line's Twilio number.", no_args_is_help=True)
cli.add_typer(twilio_cli, name="twilio")


@twilio_cli.command("configure")
def twilio_configure(
    dry_run: Annotated[bool, typer.Option(help="print what would change, change nothing")] = False,
) -> None:
    """Point TWILIO_PHONE_NUMBER's Voice URL, Voice Fallback URL, status callback and
    Messaging URL at PUBLIC_BASE_URL, through Twilio's REST API."""
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
