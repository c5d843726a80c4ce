"""`coachline clients`, `therapists` and `lockouts`: the records with their ids, so that a
practice admin can pick the right one for the commands that take an id. Only what tells people
apart is shown: names, therapists, states; the last four digits of a phone only where two
people share a name."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select

from app import clients as client_records
from app import lockouts
from app.cli_support import check_id, practice_tz, unit_of_work
from app.models import Client, Lockout, Therapist, User
from app.therapists import get_therapist
from ivr.language import LANGUAGE_NAMES, parse_language
from ivr.rules import lockout_active

_THERAPIST_NAMES = select(Therapist.id, Therapist.name)
_CLIENT_COUNTS = select(Client.therapist_id, func.count()).group_by(Client.therapist_id)
# In a table the zone is named once, in its title.
_IN_TABLE = "%a %Y-%m-%d %H:%M"


def _when(tz: ZoneInfo, instant: datetime) -> str:
    return instant.astimezone(tz).strftime(_IN_TABLE)


def _table(title: str, headers: Sequence[str], rows: list[list[str]]) -> None:
    """A plain table; cells are Text, so a name like "[red]" is printed as typed."""
    table = Table(title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    Console(highlight=False).print(table)


def _named(name: str, phone: str, names: Counter[str]) -> str:
    return f"{name} (…{phone[-4:]})" if names[name] > 1 else name


def clients(
    therapist_id: Annotated[
        int | None,
        typer.Option(
            metavar="ID",
            callback=check_id,
            help="Only this therapist's clients (`coachline therapists` lists them).",
        ),
    ] = None,
) -> None:
    """The practice's clients with their ids, therapists, languages, and whether the 24-hour
    rule keeps them from coaching now."""
    with unit_of_work() as (line, session):
        tz, now = practice_tz(line, session), line.now()
        stmt = select(Client).order_by(Client.name, Client.id)
        if therapist_id is not None:
            stmt = stmt.where(Client.therapist_id == get_therapist(session, therapist_id).id)
        rows = session.scalars(stmt).all()
        therapist_names = {t_id: name for t_id, name in session.execute(_THERAPIST_NAMES)}
        locked = lockouts.locked_until_by_client(session, rows, now)
        names = Counter(c.name for c in rows)
        practice = line.practice(session)
        unspoken = {c.id: client_records.language_not_offered(practice, c) for c in rows}
        table = [
            [
                str(c.id),
                _named(c.name, c.phone, names),
                f"{therapist_names.get(c.therapist_id, '?')} ({c.therapist_id})",
                LANGUAGE_NAMES[parse_language(c.language)] + ("*" if unspoken[c.id] else ""),
                "applies" if c.lockout_rule_applies else "waived",
                _when(tz, locked[c.id]) if c.id in locked else "",
            ]
            for c in rows
        ]
    if not table:
        typer.echo("No clients yet." if therapist_id is None else "No clients of that therapist.")
        return
    headers = ("Id", "Name", "Therapist (id)", "Language", "24-hour rule", "Locked out until")
    _table(f"Clients (times in {tz.key}):", headers, table)
    for missing in sorted({name for name in unspoken.values() if name}):
        Console(highlight=False).print(
            Text(
                f"* {missing} is not offered on this line yet: the line speaks English to them "
                "until Offer Spanish is turned on in the dashboard's Settings."
            )
        )


def therapists() -> None:
    """The practice's therapists with their ids: active or not, away, their logins and how
    many clients they have."""
    with unit_of_work() as (line, session):
        tz, now = practice_tz(line, session), line.now()
        rows = session.scalars(select(Therapist).order_by(Therapist.name, Therapist.id)).all()
        counts = {t_id: count for t_id, count in session.execute(_CLIENT_COUNTS)}
        logins: dict[int, list[str]] = {}
        for user in session.scalars(select(User).where(User.therapist_id.is_not(None))):
            shown = user.email if user.disabled_at is None else f"{user.email} (disabled)"
            logins.setdefault(user.therapist_id or 0, []).append(shown)
        names = Counter(t.name for t in rows)
        table = [
            [
                str(t.id),
                _named(t.name, t.phone, names),
                _therapist_state(t, tz, now),
                ", ".join(logins.get(t.id, [])) or "none",
                str(counts.get(t.id, 0)),
            ]
            for t in rows
        ]
    if not table:
        typer.echo("No therapists yet: `coachline add-therapist NAME PHONE` adds one.")
        return
    headers = ("Id", "Name", "State", "Login", "Clients")
    _table(f"Therapists (times in {tz.key}):", headers, table)


def _therapist_state(therapist: Therapist, tz: ZoneInfo, now: datetime) -> str:
    if not therapist.active:
        return "inactive"
    if therapist.away_until is not None and therapist.away_until > now:
        return f"away until {_when(tz, therapist.away_until)}"
    return "active"


def _at_least_one(value: int) -> int:
    if value < 1:
        raise typer.BadParameter(f"{value} is fewer than one")
    return value


def lockouts_list(
    active: Annotated[
        bool, typer.Option("--active", help="Only the lockouts in force now.")
    ] = False,
    client_id: Annotated[
        int | None,
        typer.Option(
            metavar="ID",
            callback=check_id,
            help="Only this client's lockouts (`coachline clients` lists them).",
        ),
    ] = None,
    last: Annotated[
        int,
        typer.Option(
            metavar="N",
            callback=_at_least_one,
            show_default=False,
            help="How many to show at most, the latest events first (50 unless given).",
        ),
    ] = 50,
) -> None:
    """Lockouts under the 24-hour rule, the latest event first, with their ids: the client,
    when the event was, until when it runs, and whether it is in force, ended or lifted."""
    with unit_of_work() as (line, session):
        tz, now = practice_tz(line, session), line.now()
        rows = lockouts.list_lockouts(
            session, now, client_id=client_id, in_force=active, limit=last + 1
        )
        more, rows = len(rows) > last, rows[:last]
        client_ids = {lo.client_id for lo in rows}
        people = {c.id: c for c in session.scalars(select(Client).where(Client.id.in_(client_ids)))}
        table = [
            [
                str(lo.id),
                f"{people[lo.client_id].name} ({lo.client_id})",
                _when(tz, lo.starts_at),
                _when(tz, lo.ends_at),
                _lockout_state(lo, people[lo.client_id], tz, now),
            ]
            for lo in rows
        ]
    if not table:
        typer.echo("No lockouts in force now." if active else "No lockouts recorded.")
        return
    headers = ("Id", "Client (id)", "Event", "Until", "State")
    _table(f"Lockouts (times in {tz.key}):", headers, table)
    if more:
        typer.echo(
            f"Only the latest {last} are shown: --last N shows more, and --client-id ID one "
            "client's."
        )


def _lockout_state(lockout: Lockout, client: Client, tz: ZoneInfo, now: datetime) -> str:
    if lockout.lifted_at is not None and lockout.lifted_at <= now:
        return "lifted"
    if lockout.starts_at > now:
        return "not begun yet"
    if not lockout_active(lockouts.lockout_state(lockout), now):
        return "ended"
    return "in force" if client.lockout_rule_applies else "rule waived for them"
