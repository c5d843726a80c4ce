"""Seeding a migrated database fast: invented, deterministic people and a year of calls.

* `empty`: a few clients (+1 314 555 01XX) and therapists (+1 636 555 01XX), no history;
* `full`: one therapist per 25 clients, clients with valid numbers in +1 314 2XX XXXX (the
  555-01XX block has only 100), 2% under an active 24-hour-rule lockout, weekly coaching
  hours (most covering now), an on-call rotation, and `calls` call records over the past
  year with the missed-call texts that went with them.

Rows go in with SQLAlchemy Core executemany in batches on SQLite and psycopg COPY on
PostgreSQL (then ANALYZE, as autovacuum would have long before). Tables come from
`app.models` of the tree under test (see `common.use_app`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any

import phonenumbers
from sqlalchemy import Connection, Table, create_engine, func, insert, select, text

from bench.common import LINE_NUMBER

Row = tuple[Any, ...]
NAMES = ("Avery", "Blair", "Cameron", "Dakota", "Emerson", "Harper", "Jules", "Noor", "Quinn")
SURNAMES = ("Ashgrove", "Calloway", "Dunmore", "Everhart", "Greywood", "Juniper", "Starling")
CALL_COLUMNS = (
    "id", "call_sid", "client_id", "route", "outcome", "therapist_id", "accepted_therapist_id",
    "twilio_status", "started_at", "answered_at", "ended_at", "duration_seconds",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "direction", "kind", "client_id", "therapist_id", "call_id", "from_phone",
    "to_phone", "body", "status", "attempts", "next_attempt_at", "twilio_sid", "created_at",
    "sent_at",
)  # fmt: skip


def table(name: str) -> Table:
    from app.db import Base  # the tree under test's
    from app.models import Client  # noqa: F401  (registers the tables)

    return Base.metadata.tables[name]


def numbers(rng: random.Random, count: int, area: str) -> list[str]:
    """`count` distinct valid US numbers: 555-01XX when few are needed, else in 2XX-XXXX."""
    if count <= 99:
        found = [f"+1{area}5550{k:03d}" for k in range(101, 101 + count)]
    else:
        found = [
            f"+1{area}{200 + k // 10_000}{k % 10_000:04d}" for k in rng.sample(range(10**6), count)
        ]
    for number in {n[:8] + "1234" for n in found} | set(rng.sample(found, min(count, 500))):
        if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
            raise ValueError(f"{number} is not a valid number")
    return found


def write(conn: Connection, name: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
    """COPY on PostgreSQL, Core executemany in batches elsewhere."""
    count = 0
    if conn.dialect.name == "postgresql":
        # COPY knows nothing of the model's Python-side defaults (a secret): fill them here.
        filled = [
            (c.name, c.default.arg)
            for c in table(name).columns
            if c.name not in columns and not c.nullable and c.default is not None
        ]
        if filled:
            columns = [*columns, *(n for n, _ in filled)]
            rows = ((*row, *(f(None) if callable(f) else f for _, f in filled)) for row in rows)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        quoted = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
                count += 1
        return count
    statement, batch = insert(table(name)), []
    for row in rows:
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) == 50_000:
            conn.execute(statement, batch)
            count, batch = count + len(batch), []
    if batch:
        conn.execute(statement, batch)
    return count + len(batch)


def seed(url: str, clients: int, calls: int, now: datetime | None = None) -> list[str]:
    """Seed a migrated, empty database; returns the clients' numbers (client id = index + 1)."""
    rng, now = random.Random(3), now or datetime.now(UTC)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.commit()
            with conn.begin():
                phones, therapist_of = _people(conn, rng, clients, now)
            if calls:
                with conn.begin():
                    _history(conn, rng, calls, phones, therapist_of, now)
            finish(conn)
    finally:
        engine.dispose()
    return phones


def finish(conn: Connection) -> None:
    """PostgreSQL: sequences past the explicit ids, then ANALYZE. SQLite: a checkpoint."""
    if conn.dialect.name == "postgresql":
        with conn.begin():
            for name in ("therapists", "clients", "calls", "messages"):
                top = conn.scalar(select(func.max(table(name).c.id)))
                if top:
                    conn.execute(
                        text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {top})")
                    )
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    else:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.commit()


def _people(
    conn: Connection, rng: random.Random, clients: int, now: datetime
) -> tuple[list[str], list[int]]:
    n_t = max(4, clients // 25)
    long_ago = now - timedelta(days=700)
    name = lambda: f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}"  # noqa: E731
    therapists = [
        (i, name(), phone, True, now + timedelta(days=3) if i % 20 == 7 else None, long_ago)
        for i, phone in enumerate(numbers(rng, n_t, "636"), start=1)
    ]
    write(
        conn,
        "therapists",
        ("id", "name", "phone", "active", "away_until", "created_at"),
        therapists,
    )
    hours = []
    for t in range(1, n_t + 1):
        if t % 10 == 3:
            continue  # no hours set: takes calls any time
        for day in range(7):  # most cover now; a fifth of them only office hours
            hours.append(
                (t, day, clock(0, 0), clock(23, 59)) if t % 5 else (t, day, clock(9), clock(17))
            )
    write(conn, "coaching_hours", ("therapist_id", "weekday", "start", "end"), hours)
    phones = numbers(rng, clients, "314")
    therapist_of = [rng.randint(1, n_t) for _ in phones]
    rows = [
        (i, name(), phone, therapist_of[i - 1], rng.random() < 0.9, rng.random() < 0.02, long_ago)
        for i, phone in enumerate(phones, start=1)
    ]
    columns = ("id", "name", "phone", "therapist_id", "lockout_rule_applies", "sms_opted_out")
    write(conn, "clients", (*columns, "created_at"), rows)
    lockouts = []
    for client_id in rng.sample(range(1, clients + 1), max(1, clients // 50)):
        starts = now - timedelta(hours=rng.uniform(1, 20))
        lockouts.append((client_id, starts, starts + timedelta(hours=24), "bench", starts))
    write(
        conn,
        "lockouts",
        ("client_id", "starts_at", "ends_at", "created_by", "created_at"),
        lockouts,
    )
    monday = (now - timedelta(days=now.weekday() + 364)).date()
    columns = ("id", "name", "starts_on", "handoff_time", "turn_days", "active", "created_at")
    write(conn, "rotations", columns, [(1, "Adult team", monday, clock(9), 7, True, long_ago)])
    team = rng.sample(range(1, n_t + 1), min(4, n_t))
    members = [(1, t, k) for k, t in enumerate(team)]
    write(conn, "rotation_members", ("rotation_id", "therapist_id", "position"), members)
    return phones, therapist_of


def _history(
    conn: Connection,
    rng: random.Random,
    count: int,
    phones: list[str],
    therapist_of: list[int],
    now: datetime,
) -> None:
    """`count` calls over the past year (bridged, wait script, hung up, lockout script, unknown
    callers) and the missed-call texts to the therapists that went with them."""
    therapist_phone = dict(
        conn.execute(select(table("therapists").c.id, table("therapists").c.phone)).all()
    )
    messages: list[Row] = []

    def calls() -> Iterator[Row]:
        step = 365 * 86400 / count
        for call_id in range(1, count + 1):
            started = now - timedelta(days=365) + timedelta(seconds=(call_id + rng.random()) * step)
            draw, client, therapist, accepted, answered = rng.random(), None, None, None, None
            duration = rng.randint(20, 150)
            if draw < 0.03:
                route, outcome = "unknown_caller", "crisis_resources"
            else:
                client = rng.randint(1, len(phones))
                therapist = therapist_of[client - 1]
                if draw < 0.06:
                    route, outcome = "locked_out", "lockout_script"
                elif draw < 0.62:
                    route, outcome, accepted = "coaching", "bridged", therapist
                    answered, duration = started + timedelta(seconds=15), rng.randint(120, 1200)
                else:
                    route, outcome = "coaching", "wait_script" if draw < 0.9 else "caller_hung_up"
                    if outcome == "wait_script":
                        at = started + timedelta(seconds=duration)
                        body = f"Missed coaching call from client {client} at {at:%H:%M}."
                        messages.append(
                            (len(messages) + 1, "outbound", "notification", client, therapist,
                             call_id, LINE_NUMBER, therapist_phone[therapist], body, "sent", 1,
                             None, f"SM{call_id:032x}", at, at)
                        )  # fmt: skip
            ended = started + timedelta(seconds=duration)
            yield (call_id, f"CA{call_id:032x}", client, route, outcome, therapist, accepted,
                   "completed", started, answered, ended, duration)  # fmt: skip

    write(conn, "calls", CALL_COLUMNS, calls())
    write(conn, "messages", MESSAGE_COLUMNS, messages)


def queue_texts(url: str, count: int, due_at: datetime) -> None:
    """`count` missed calls a minute ago, each with its text to the client's therapist, queued
    and due at `due_at` (in the future to hold them back until `release_texts`)."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        with engine.connect() as conn:
            clients = conn.execute(
                select(table("clients").c.id, table("clients").c.therapist_id)
            ).all()
            therapist_phone = dict(
                conn.execute(select(table("therapists").c.id, table("therapists").c.phone)).all()
            )
            first = int(conn.scalar(select(func.max(table("calls").c.id))) or 0) + 1
            conn.rollback()
            calls, texts = [], []
            for k in range(count):
                client, therapist = clients[k % len(clients)]
                started = now - timedelta(seconds=60)
                calls.append((first + k, f"CA{first + k:032x}", client, "coaching", "wait_script",
                              therapist, None, "completed", started, None, now, 45))  # fmt: skip
                texts.append((first + k, "outbound", "notification", client, therapist, first + k,
                              LINE_NUMBER, therapist_phone[therapist],
                              f"Missed coaching call from client {client} (#{k}).", "queued", 0,
                              due_at, None, now, None))  # fmt: skip
            with conn.begin():
                write(conn, "calls", CALL_COLUMNS, calls)
                write(conn, "messages", MESSAGE_COLUMNS, texts)
            finish(conn)
    finally:
        engine.dispose()


def release_texts(url: str) -> datetime:
    """Make every queued text due now, as if all were queued at this instant."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            at = datetime.now(UTC)
            messages = table("messages")
            conn.execute(
                messages.update()
                .where(messages.c.status == "queued")
                .values(next_attempt_at=at, created_at=at)
            )
    finally:
        engine.dispose()
    return at


def count_by_status(url: str) -> dict[str, int]:
    """The notification texts by status."""
    engine, messages = create_engine(url), table("messages")
    query = select(messages.c.status, func.count()).where(messages.c.kind == "notification")
    try:
        with engine.connect() as conn:
            return {status: n for status, n in conn.execute(query.group_by(messages.c.status))}
    finally:
        engine.dispose()
