"""`coachline`'s everyday admin actions on the practice's records (therapists, clients, the
24-hour rule, away and hours), through the service modules as the API's are. `app.cli` names
them."""

from __future__ import annotations

from datetime import time
from typing import Annotated

import typer

from app import clients, lockouts, therapists
from app.cli_support import MAX_ID, cli_actor, fail, local, parse_instant, unit_of_work


def add_therapist(name: str, phone: str) -> None:
    """Add a therapist; the phone may be written as people write it."""
    with unit_of_work() as (line, session):
        therapist = therapists.create_therapist(
            session, cli_actor(), line.now(), name=name, phone=phone
        )
    typer.echo(f"Added therapist {therapist.id}: {therapist.name}, {therapist.phone}.")


def add_client(
    name: str,
    phone: str,
    therapist_id: Annotated[int, typer.Option(min=1, max=MAX_ID, help="primary therapist")],
    lockout_rule: Annotated[
        bool, typer.Option("--lockout-rule/--no-lockout-rule", help="does the 24-hour rule apply")
    ] = True,
) -> None:
    """Enrol a client with their primary therapist."""
    with unit_of_work() as (line, session):
        client = clients.create_client(
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


def record_lockout(
    client_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    at: Annotated[
        str | None, typer.Option(help="when it happened, ISO 8601 with offset; default now")
    ] = None,
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a self-harm event: the client cannot reach coaching for 24 hours from it."""
    occurred_at = parse_instant(at)
    with unit_of_work() as (line, session):
        lockout = lockouts.record_lockout(
            session, cli_actor(), line.now(), client_id, occurred_at=occurred_at, note=note
        )
    typer.echo(
        f"Recorded lockout {lockout.id} for client {lockout.client_id}: "
        f"from {local(line, lockout.starts_at)} until {local(line, lockout.ends_at)}."
    )


def set_away(
    therapist_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    until: Annotated[
        str | None, typer.Option(help="back at this instant, ISO 8601 with offset")
    ] = None,
    back: Annotated[bool, typer.Option("--back", help="available again now")] = False,
) -> None:
    """Set a therapist away (vacation, time in session) until an instant, or back now."""
    if back == (until is not None):
        fail("give either --until or --back")
    with unit_of_work() as (line, session):
        if back:
            therapist = therapists.clear_away(session, cli_actor(), line.now(), therapist_id)
        else:
            instant = parse_instant(until)
            assert instant is not None
            therapist = therapists.set_away(session, cli_actor(), line.now(), therapist_id, instant)
    if therapist.away_until is None:
        typer.echo(f"Therapist {therapist.id} is available for coaching calls.")
    else:
        typer.echo(f"Therapist {therapist.id} is away until {local(line, therapist.away_until)}.")


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
                therapists.HoursWindow(int(day), time.fromisoformat(start), time.fromisoformat(end))
            )
        except ValueError:
            fail(f'not a window: {raw!r} (write "0 09:00-17:00")')
    with unit_of_work() as (line, session):
        hours = therapists.set_hours(session, cli_actor(), line.now(), therapist_id, parsed)
        shown = [f"{h.weekday} {h.start:%H:%M}-{h.end:%H:%M}" for h in hours]
    typer.echo(f"Therapist {therapist_id}'s coaching hours: {', '.join(shown) or 'any time'}.")


def lift_lockout(
    lockout_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    reason: Annotated[str, typer.Option(help="why it is lifted (required)")],
) -> None:
    """Lift a lockout early; the reason goes in the audit log."""
    with unit_of_work() as (line, session):
        lockout = lockouts.lift_lockout(session, cli_actor(), line.now(), lockout_id, reason)
    typer.echo(f"Lifted lockout {lockout.id} (client {lockout.client_id}).")


def locked_out() -> None:
    """Who cannot reach coaching now under the 24-hour rule, and until when."""
    with unit_of_work() as (line, session):
        rows = lockouts.locked_out_now(session, line.now())
        lines = [
            f"  client {client.id}  {client.name}  until {local(line, until)}"
            for client, until in rows
        ]
    if not lines:
        typer.echo("Nobody is locked out now.")
        return
    typer.echo(f"Locked out now (times in {line.settings.practice_timezone}):")
    for text in lines:
        typer.echo(text)
