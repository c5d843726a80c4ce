"""`coachline`'s everyday admin actions on the practice's records (therapists, clients, the
24-hour rule, away and hours), through the service modules as the API's are. `app.cli` names
them."""

from __future__ import annotations

from datetime import time
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from app import clients, lockouts, therapists
from app.cli_support import (
    ClientId,
    LockoutId,
    TherapistId,
    check_id,
    cli_actor,
    fail,
    local,
    practice_tz,
    read_option_time,
    unit_of_work,
)
from app.line import Line
from app.models import Client, Lockout
from ivr.language import LANGUAGE_NAMES, Language
from ivr.rules import NewLockout


def _language(raw: str) -> Language:
    """en or es, in any case; anything else refused naming both."""
    try:
        return Language(raw.strip().lower())
    except ValueError:
        raise typer.BadParameter(
            f"{raw!r} is not a language of the line: en (English) or es (Spanish)"
        ) from None


def _complete_language(incomplete: str) -> list[str]:
    return [language.value for language in Language if language.startswith(incomplete.lower())]


_LANGUAGE_HELP = (
    "The language the line speaks and texts to them: en (English) or es (Spanish, heard only "
    "while the practice offers it: Offer Spanish, in the dashboard's Settings)."
)


def _language_words(line: Line, session: Session, client: Client) -> str:
    """The client's language, and a note when the line does not speak it yet."""
    said = f"language {LANGUAGE_NAMES[Language(client.language)]}"
    missing = clients.language_not_offered(line.practice(session), client)
    if missing:
        said += (
            f".\n{missing} is not offered on this line yet: the line speaks English to them "
            "until Offer Spanish is turned on in the dashboard's Settings"
        )
    return said


def add_therapist(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Their name, as clients know it.")],
    phone: Annotated[
        str,
        typer.Argument(
            metavar="PHONE",
            help="The phone the line rings for them, written as people write it: (314) 555-0160.",
        ),
    ],
) -> None:
    """Add a therapist; the line rings their own phone, never giving out its number."""
    with unit_of_work() as (line, session):
        therapist = therapists.create_therapist(
            session, cli_actor(), line.now(), name=name, phone=phone
        )
    typer.echo(f"Added therapist {therapist.id}: {therapist.name}, {therapist.phone}.")


def add_client(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The client's name.")],
    phone: Annotated[
        str,
        typer.Argument(
            metavar="PHONE",
            help="The phone they call and text from (the line knows them by it), written as "
            "people write it: (314) 555-0142.",
        ),
    ],
    therapist_id: Annotated[
        int,
        typer.Option(
            metavar="ID",
            callback=check_id,
            help="Their primary therapist's id (`coachline therapists` lists them).",
        ),
    ],
    lockout_rule: Annotated[
        bool,
        typer.Option(
            "--lockout-rule/--no-lockout-rule",
            show_default=False,
            help="Whether the 24-hour rule applies to them: it does, unless --no-lockout-rule "
            "(some adolescent programs waive it).",
        ),
    ] = True,
    language: Annotated[
        Language,
        typer.Option(
            metavar="en|es",
            parser=_language,
            autocompletion=_complete_language,
            show_default=False,
            help=_LANGUAGE_HELP + " English unless said otherwise.",
        ),
    ] = Language.ENGLISH,
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
            language=language.value,
        )
        rule = "applies" if client.lockout_rule_applies else "is waived"
        said = (
            f"Added client {client.id}: {client.name}, {client.phone}, "
            f"therapist {client.therapist_id}; the 24-hour rule {rule}; "
            f"{_language_words(line, session, client)}."
        )
    typer.echo(said)


def set_language(
    client_id: ClientId,
    language: Annotated[
        Language,
        typer.Argument(
            metavar="LANGUAGE",
            parser=_language,
            autocompletion=_complete_language,
            show_default=False,
            help=_LANGUAGE_HELP,
        ),
    ],
) -> None:
    """Set the language the line speaks and texts to a client: en or es."""
    with unit_of_work() as (line, session):
        client = clients.update_client(
            session, cli_actor(), line.now(), client_id, language=language.value
        )
        said = f"{client.name} (client {client.id}): {_language_words(line, session, client)}."
    typer.echo(said)


def record_lockout(
    client_id: ClientId,
    at: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="When it happened, in the practice's time zone: 2026-12-06 09:00, or a time "
            "of day alone (9:30pm or 21:30: the most recent one); a time with an offset "
            "(2026-12-06T09:00-06:00) is the instant it names. Leave it out for now.",
        ),
    ] = None,
    note: Annotated[
        str | None, typer.Option(metavar="TEXT", help="A note kept with the record.")
    ] = None,
) -> None:
    """Record a self-harm event: the client cannot reach coaching for 24 hours from it.

    A client already locked out stays locked out until the later end of the two. An event
    whose 24 hours are already over is recorded and said to have expired."""
    with unit_of_work() as (line, session):
        tz, now = practice_tz(line, session), line.now()
        occurred_at = None if at is None else read_option_time("--at", at, tz, now)
        lockout = lockouts.record_lockout(
            session, cli_actor(), now, client_id, occurred_at=occurred_at, note=note
        )
        told = lockouts.recorded_effect(session, lockout, now)
        said = _recorded(lockout, clients.get_client(session, lockout.client_id), told, tz)
    typer.echo(said)


def _recorded(lockout: Lockout, client: Client, told: lockouts.RecordedEffect, tz: ZoneInfo) -> str:
    """What recording a lockout did, in words (`ivr.rules.new_lockout_effect` decided)."""
    who = f"{client.name} (client {client.id})"
    span = f"from {local(tz, lockout.starts_at)} until {local(tz, lockout.ends_at)}"
    kind, was = told.effect.kind, told.effect.was_locked_until
    other = f"lockout {told.other.id}" if told.other is not None else "another lockout"
    if kind is NewLockout.LOCKS:
        return f"Recorded lockout {lockout.id} for {who}: no coaching {span}."
    head = f"Recorded lockout {lockout.id} for {who}, {span}."
    if kind is NewLockout.EXPIRED:
        still = (
            f"They are still locked out until {local(tz, was)} by {other}."
            if was is not None
            else "They can reach coaching."
        )
        return f"{head}\nIts 24 hours were already over: it has expired. {still}"
    assert was is not None
    if kind is NewLockout.EXTENDS:
        return (
            f"{head}\nThey were already locked out until {local(tz, was)} by {other}; the "
            f"later end wins: they are now locked out until {local(tz, lockout.ends_at)}."
        )
    return (
        f"{head}\nThey were already locked out until {local(tz, was)} by {other}, which is "
        "later: that is still when they can reach coaching again."
    )


def set_away(
    therapist_id: TherapistId,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="When they are back, in the practice's time zone: 2026-12-06 09:00, or a "
            "time of day alone (9am: the next one); a time with an offset "
            "(2026-12-06T09:00-06:00) is the instant it names.",
        ),
    ] = None,
    back: Annotated[bool, typer.Option("--back", help="They are available again now.")] = False,
) -> None:
    """Set a therapist away (vacation, time in session) until a time, or back now."""
    if back == (until is not None):
        fail("give either --until TIME or --back")
    with unit_of_work() as (line, session):
        tz, now = practice_tz(line, session), line.now()
        if until is None:
            therapist = therapists.clear_away(session, cli_actor(), now, therapist_id)
        else:
            instant = read_option_time("--until", until, tz, now, ahead=True)
            therapist = therapists.set_away(session, cli_actor(), now, therapist_id, instant)
        said = (
            f"Therapist {therapist.id} ({therapist.name}) is available for coaching calls."
            if therapist.away_until is None
            else f"Therapist {therapist.id} ({therapist.name}) is away until "
            f"{local(tz, therapist.away_until)}."
        )
    typer.echo(said)


def set_hours(
    therapist_id: TherapistId,
    windows: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="WINDOW",
            help='Weekly windows, each "DAY HH:MM-HH:MM" in quotes (DAY 0 is Monday, 6 '
            'Sunday), e.g. "0 09:00-17:00"; an end before the start runs past midnight.',
        ),
    ] = None,
) -> None:
    """Replace a therapist's weekly coaching hours, in the practice's time zone.

    With no windows, calls may ring them at any time."""
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
    lockout_id: LockoutId,
    reason: Annotated[
        str,
        typer.Option(metavar="TEXT", help="Why it is lifted, for the audit log."),
    ],
) -> None:
    """Lift a lockout early, and say whether the client is still locked out by another."""
    with unit_of_work() as (line, session):
        tz, now = practice_tz(line, session), line.now()
        lockout = lockouts.lift_lockout(session, cli_actor(), now, lockout_id, reason)
        client = clients.get_client(session, lockout.client_id)
        still = lockouts.still_locked_by(session, client, now)
        said = f"Lifted lockout {lockout.id} for {client.name} (client {client.id})."
        if lockout.ends_at <= now:
            said += f" It had already ended, {local(tz, lockout.ends_at)}."
        if still is None:
            said += f"\n{client.name} can reach coaching."
        else:
            said += (
                f"\n{client.name} is still locked out until {local(tz, still.ends_at)} by "
                f"lockout {still.id} (`coachline lift-lockout {still.id} --reason ...` lifts "
                "it too)."
            )
    typer.echo(said)


def locked_out() -> None:
    """Who cannot reach coaching now under the 24-hour rule, until when, and by which
    lockout."""
    with unit_of_work() as (line, session):
        settings, now = line.current_settings(session), line.now()
        rows = lockouts.locked_out_now(session, now)
        held = lockouts.active_lockouts_by_client(session, [c for c, _ in rows], now)
        lines = [
            f"  client {client.id}  {client.name}  until {local(settings.tz, until)}  "
            f"({_lockout_ids(held.get(client.id, []))})"
            for client, until in rows
        ]
    if not lines:
        typer.echo("Nobody is locked out now.")
        return
    typer.echo(f"Locked out now (times in {settings.practice_timezone}):")
    for text in lines:
        typer.echo(text)


def _lockout_ids(held: list[Lockout]) -> str:
    ids = [str(lo.id) for lo in held]
    return f"lockout{'s' if len(ids) > 1 else ''} {', '.join(ids)}"
