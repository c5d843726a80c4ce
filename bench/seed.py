"""A fresh database for a benchmark: created, migrated with Alembic, seeded fast, dropped.

The data is invented and deterministic (one seeded `random.Random`):

* therapists (one per 25 clients, at least 4) with weekly coaching hours, a few away;
* clients with valid US numbers in exchanges +1 314 2XX (the +1 314 555 01XX range stays for
  the hand-made people of the test fixtures), about 2% under an active 24-hour-rule lockout;
* on-call shifts, a few of them covering now;
* on a full database, a year of history: past lockouts, past on-call shifts, call records
  spread over the past year, and the missed-call notification texts that went with them.

Rows go in with SQLAlchemy Core `insert()` executemany in large batches on SQLite, and with
psycopg's `COPY` on PostgreSQL, one transaction per table (history: one for calls and texts).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from app.db import Base, make_engine
from app.models import (
    Call,
    CheckIn,
    Client,
    CoachingHours,
    Lockout,
    Message,
    OnCallOverride,
    OnCallShift,
    PracticeSkill,
    Rotation,
    RotationMember,
    Success,
    Therapist,
)
from app.phones import to_e164
from ivr.rules import LOCKOUT_LENGTH

REPO = Path(__file__).resolve().parent.parent
POSTGRES_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LINE_NUMBER = "+13145550100"
ACCOUNT_SID = "AC" + "0" * 32
PRACTICE_TZ = "America/Chicago"
BATCH = 50_000

Row = tuple[Any, ...]

FIRST_NAMES = [
    "Avery",
    "Blair",
    "Cameron",
    "Dakota",
    "Emerson",
    "Finley",
    "Harper",
    "Indigo",
    "Jules",
    "Kendall",
    "Lennox",
    "Marlowe",
    "Noor",
    "Oakley",
    "Parker",
    "Quinn",
    "Reese",
    "Sawyer",
    "Tatum",
    "Umber",
    "Vesper",
    "Wren",
    "Xen",
    "Yael",
    "Zion",
    "Alden",
    "Briar",
    "Corin",
    "Delphine",
    "Ezra",
    "Fable",
    "Greer",
    "Hollis",
    "Ione",
    "Jory",
    "Keaton",
    "Larkin",
    "Merritt",
]
LAST_NAMES = [
    "Ashgrove",
    "Brightwater",
    "Calloway",
    "Dunmore",
    "Everhart",
    "Fallowfield",
    "Greywood",
    "Hollister",
    "Ivesdale",
    "Juniper",
    "Kestrel",
    "Larkspur",
    "Mossbank",
    "Northcott",
    "Oakhaven",
    "Pembrook",
    "Quillfeather",
    "Rookwood",
    "Starling",
    "Thistledown",
    "Underhill",
    "Vantreight",
    "Willowmere",
    "Yarrowby",
    "Zeller",
    "Ambercroft",
]

PRACTICE_SKILLS = (
    ("bench_cold_hands", "distress_tolerance", "Cold Hands", "Hold something cold for a minute."),
    ("bench_five_things", "mindfulness", "Five Things", "Name five things you can see now."),
)


@dataclass(frozen=True)
class Scale:
    """How much to seed. `history` adds the past year (calls, texts, past lockouts, shifts)."""

    clients: int
    calls: int
    history: bool = True
    lockout_share: float = 0.02

    @property
    def therapists(self) -> int:
        return max(4, self.clients // 25)


# The empty database: only the few people the requests need, and no history at all.
EMPTY = Scale(clients=100, calls=0, history=False)


@dataclass
class Seeded:
    url: str
    # Every seeded client's number: the requests call from these.
    client_phones: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# --- the database itself -------------------------------------------------------------------


class BenchDatabase:
    """A database of the run's own: a SQLite file in `workdir`, or `coachline_bench_<pid>` on
    the local PostgreSQL (created from the `test` database, dropped on exit)."""

    def __init__(self, kind: str, workdir: Path, server_url: str = POSTGRES_SERVER_URL) -> None:
        if kind not in ("sqlite", "postgresql"):
            raise ValueError(f"unknown database kind {kind!r}")
        self.kind = kind
        self.workdir = workdir
        self.server_url = server_url
        self.name = f"coachline_bench_{os.getpid()}"
        self.url = ""
        self._server: Engine | None = None

    def __enter__(self) -> BenchDatabase:
        if self.kind == "sqlite":
            path = self.workdir / f"{self.name}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            self.url = f"sqlite:///{path}"
        else:
            self._server = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
            with self._server.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
                conn.execute(text(f"CREATE DATABASE {self.name}"))
            self.url = (
                make_url(self.server_url)
                .set(database=self.name)
                .render_as_string(hide_password=False)
            )
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server is not None:
            with self._server.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
            self._server.dispose()
            self._server = None
        elif self.url:
            path = self.url.removeprefix("sqlite:///")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


def migrate(url: str) -> None:
    config = Config(str(REPO / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


# --- numbers -----------------------------------------------------------------------------


def phone_numbers(rng: random.Random, count: int, npa: str, first_exchange: int) -> list[str]:
    """`count` distinct valid US numbers in the 100 exchanges from `first_exchange` of `npa`."""
    if count > 1_000_000:
        raise ValueError("at most 1,000,000 numbers per area code range")
    picks = rng.sample(range(1_000_000), count)
    numbers = [f"+1{npa}{first_exchange + k // 10_000}{k % 10_000:04d}" for k in picks]
    # Validity is decided by the area code and exchange: check every exchange used, and a
    # sample of the numbers themselves, against the parser the line uses.
    exchanges = {n[:8] for n in numbers}
    for prefix in sorted(exchanges):
        if to_e164(prefix + "1234") != prefix + "1234":
            raise ValueError(f"exchange {prefix[:2]} {prefix[2:5]} {prefix[5:]} is not valid")
    for number in rng.sample(numbers, min(len(numbers), 1000)):
        if to_e164(number) != number:
            raise ValueError("generated an invalid phone number")
    return numbers


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


# --- writing -----------------------------------------------------------------------------


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _defaults(table: Table, columns: Sequence[str]) -> tuple[list[str], list[Callable[[], Any]]]:
    """The NOT NULL columns `columns` leaves out that the model fills in Python (a secret, a
    timestamp): COPY knows nothing of those defaults, so they are filled here."""
    names, makers = [], []
    for column in table.columns:
        default = column.default
        if column.name in columns or column.nullable or column.server_default is not None:
            continue
        if default is None:
            continue  # the insert fails and names the column: the seed needs a value for it
        if getattr(default, "is_scalar", False):
            makers.append(lambda value=default.arg: value)  # type: ignore[attr-defined]
        elif getattr(default, "is_callable", False):
            makers.append(lambda fill=default.arg: fill(None))  # type: ignore[attr-defined]
        else:
            continue
        names.append(column.name)
    return names, makers


def write_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Row]) -> int:
    """Insert `rows` (tuples in `columns` order) into `table` in the connection's transaction:
    psycopg COPY on PostgreSQL, Core executemany in batches elsewhere."""
    extra, makers = _defaults(table, columns)
    if extra:
        columns = [*columns, *extra]
        rows = ((*row, *(make() for make in makers)) for row in rows)
    count = 0
    if conn.dialect.name == "postgresql":
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        quote = conn.dialect.identifier_preparer.quote
        sql = f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
        with dbapi.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    statement = insert(table)
    for batch in _batches(rows, BATCH):
        conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in batch])
        count += len(batch)
    return count


# --- the data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _People:
    therapist_phones: list[str]
    client_phones: list[str]
    client_therapist: list[int]  # by client index (id - 1)
    client_first: list[str]


def _hours_for(rng: random.Random, therapist_id: int, now: datetime) -> Iterator[Row]:
    """Weekly hours: most therapists are within hours now, some are not, a few set none."""
    local = now.astimezone(ZoneInfo(PRACTICE_TZ))
    draw = rng.random()
    if draw < 0.10:
        return  # no hours set: takes calls any time
    for weekday in range(5):
        yield (therapist_id, weekday, clock(9, 0), clock(17, 0))
    if draw < 0.75:  # a window that covers now
        hour = local.hour
        if 3 <= hour <= 20:
            yield (therapist_id, local.weekday(), clock(hour - 2, 0), clock(min(hour + 3, 23), 0))
        else:  # the small hours: an evening window running past midnight
            day = local.weekday() if hour >= 21 else (local.weekday() - 1) % 7
            yield (therapist_id, day, clock(20, 0), clock(3, 0))


def _seed_people(conn: Connection, rng: random.Random, scale: Scale, now: datetime) -> _People:
    n_t, n_c = scale.therapists, scale.clients
    therapist_phones = phone_numbers(rng, n_t, "636", 200)
    client_phones = phone_numbers(rng, n_c, "314", 200)
    long_ago = now - timedelta(days=730)

    def created() -> datetime:
        return long_ago + timedelta(seconds=rng.random() * 700 * 86400)

    therapists = []
    for i in range(n_t):
        away = now + timedelta(days=rng.randint(1, 14)) if rng.random() < 0.05 else None
        therapists.append((i + 1, _name(rng), therapist_phones[i], True, away, created()))
    write_rows(
        conn,
        _table(Therapist),
        ("id", "name", "phone", "active", "away_until", "created_at"),
        therapists,
    )
    hours = [row for t in range(1, n_t + 1) for row in _hours_for(rng, t, now)]
    write_rows(
        conn,
        _table(CoachingHours),
        ("therapist_id", "weekday", "start", "end"),
        hours,
    )

    distress = ["tipp_cold_water", "paced_breathing", "self_soothe", "distract", "stop_skill"]
    client_therapist, client_first, clients = [], [], []
    for i in range(n_c):
        name = _name(rng)
        therapist = rng.randint(1, n_t)
        client_therapist.append(therapist)
        client_first.append(name.split()[0])
        clients.append(
            (
                i + 1,
                name,
                client_phones[i],
                therapist,
                rng.random() < 0.9,  # adolescent programs waive the 24-hour rule
                rng.random() < 0.02,
                rng.choice(distress) if rng.random() < 0.5 else None,
                created(),
            )
        )
    write_rows(
        conn,
        _table(Client),
        (
            "id",
            "name",
            "phone",
            "therapist_id",
            "lockout_rule_applies",
            "sms_opted_out",
            "last_skill",
            "created_at",
        ),
        clients,
    )
    write_rows(
        conn,
        _table(PracticeSkill),
        ("key", "module", "name", "text", "created_at"),
        [(*skill, long_ago) for skill in PRACTICE_SKILLS],
    )
    return _People(therapist_phones, client_phones, client_therapist, client_first)


def _lockouts(rng: random.Random, scale: Scale, now: datetime) -> Iterator[Row]:
    active = rng.sample(
        range(1, scale.clients + 1), max(1, round(scale.clients * scale.lockout_share))
    )
    for client_id in active:
        starts = now - timedelta(hours=rng.uniform(0.5, 20))
        yield (client_id, starts, starts + LOCKOUT_LENGTH, None, "bench", starts, None, None, None)
    if not scale.history:
        return
    for client_id in rng.sample(range(1, scale.clients + 1), scale.clients // 10):
        for _ in range(rng.randint(1, 3)):
            starts = now - timedelta(days=rng.uniform(2, 365))
            lifted = rng.random() < 0.1
            yield (
                client_id,
                starts,
                starts + LOCKOUT_LENGTH,
                None,
                "bench",
                starts,
                starts + timedelta(hours=6) if lifted else None,
                "bench" if lifted else None,
                "entered in error" if lifted else None,
            )


LOCKOUT_COLUMNS = (
    "client_id",
    "starts_at",
    "ends_at",
    "note",
    "created_by",
    "created_at",
    "lifted_at",
    "lifted_by",
    "lift_reason",
)


def _shifts(rng: random.Random, scale: Scale, now: datetime) -> Iterator[Row]:
    """Three shifts covering now; with history, two 12-hour shifts a day for the past year
    and the next two weeks."""
    n_t = scale.therapists
    for k in range(3):
        starts = now - timedelta(hours=2 + 3 * k)
        yield ((k % n_t) + 1, starts, starts + timedelta(hours=12), starts)
    if not scale.history:
        return
    first = (now - timedelta(days=365)).replace(hour=0, minute=0, second=0, microsecond=0)
    for half_day in range(2 * (365 + 14)):
        starts = first + timedelta(hours=12 * half_day)
        yield (rng.randint(1, n_t), starts, starts + timedelta(hours=12), starts)


def _seed_rotations(conn: Connection, rng: random.Random, scale: Scale, now: datetime) -> None:
    """On-call rotations (weekly turns, handing off at 9 AM local), and with history, a year
    of one-off overrides; none covers now, so the rotations' members are on call."""
    local_today = now.astimezone(ZoneInfo(PRACTICE_TZ)).date()
    first = local_today - timedelta(days=364 + local_today.weekday())  # a Monday a year ago
    teams = [("Adult team", 8), ("Adolescent team", 6)] if scale.history else [("Team", 2)]
    if scale.history:
        teams.append(("Weekend backup", 4))
    members, position_rows = (
        rng.sample(range(1, scale.therapists + 1), sum(n for _, n in teams)),
        [],
    )
    rotations = []
    for index, (name, size) in enumerate(teams, start=1):
        rotations.append((index, name, first, clock(9, 0), 7, True, now - timedelta(days=365)))
        for position in range(size):
            position_rows.append((index, members.pop(), position))
    if scale.history:  # an old rotation, retired
        rotations.append((len(teams) + 1, "Old team", first, clock(8, 0), 7, False, now))
    write_rows(
        conn,
        _table(Rotation),
        ("id", "name", "starts_on", "handoff_time", "turn_days", "active", "created_at"),
        rotations,
    )
    write_rows(
        conn, _table(RotationMember), ("rotation_id", "therapist_id", "position"), position_rows
    )
    if not scale.history:
        return
    overrides = []
    for _ in range(60):
        starts = now - timedelta(days=rng.uniform(2, 365))
        overrides.append(
            (rng.randint(1, scale.therapists), starts, starts + timedelta(hours=24), None, starts)
        )
    write_rows(
        conn,
        _table(OnCallOverride),
        ("therapist_id", "starts_at", "ends_at", "reason", "created_at"),
        overrides,
    )


CALL_COLUMNS = (
    "id",
    "call_sid",
    "client_id",
    "route",
    "outcome",
    "therapist_id",
    "accepted_therapist_id",
    "twilio_status",
    "recording_url",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_seconds",
)
MESSAGE_COLUMNS = (
    "id",
    "direction",
    "kind",
    "client_id",
    "therapist_id",
    "call_id",
    "from_phone",
    "to_phone",
    "body",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "twilio_sid",
    "created_at",
    "sent_at",
)


def _history(
    rng: random.Random, scale: Scale, people: _People, now: datetime, messages: list[Row]
) -> Iterator[Row]:
    """A year of calls, oldest first; the missed-call notification texts go to `messages`."""
    n = scale.calls
    start = now - timedelta(days=365)
    step = 365 * 86400 / max(n, 1)
    for i in range(n):
        call_id = i + 1
        started = start + timedelta(seconds=(i + rng.random()) * step)
        draw = rng.random()
        client_id = therapist_id = accepted = answered = recording = None
        if draw < 0.03:
            route, outcome, duration = "unknown_caller", "crisis_resources", rng.randint(10, 30)
        else:
            client_id = rng.randint(1, scale.clients)
            therapist_id = people.client_therapist[client_id - 1]
            if draw < 0.06:
                route, outcome, duration = "locked_out", "lockout_script", rng.randint(20, 40)
            elif draw < 0.62:
                route, outcome = "coaching", "bridged"
                accepted = therapist_id
                answered = started + timedelta(seconds=rng.randint(8, 40))
                duration = rng.randint(120, 1200)
            else:
                route = "coaching"
                outcome = "wait_script" if draw < 0.9 else "caller_hung_up"
                duration = rng.randint(25, 150)
                if outcome == "wait_script" and rng.random() < 0.3:
                    recording = (
                        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
                        f"/Recordings/RE{rng.getrandbits(128):032x}"
                    )
                local = started - timedelta(hours=6)
                body = (
                    f"Missed coaching call from {people.client_first[client_id - 1]} at "
                    f"{(local.hour - 1) % 12 + 1}:{local.minute:02d} "
                    f"{'AM' if local.hour < 12 else 'PM'}."
                )
                sent = started + timedelta(seconds=duration + 2)
                messages.append(
                    (
                        len(messages) + 1,
                        "outbound",
                        "notification",
                        client_id,
                        therapist_id,
                        call_id,
                        LINE_NUMBER,
                        people.therapist_phones[therapist_id - 1],
                        body,
                        "sent",
                        1,
                        None,
                        None,
                        f"SM{call_id:032x}",
                        sent,
                        sent,
                    )
                )
        yield (
            call_id,
            f"CA{call_id:032x}",
            client_id,
            route,
            outcome,
            therapist_id,
            accepted,
            "completed",
            recording,
            started,
            answered,
            started + timedelta(seconds=duration),
            duration,
        )


def _fix_sequences(conn: Connection, tables: Sequence[Table]) -> None:
    """After explicit ids, PostgreSQL's sequences must continue past them."""
    for table in tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        top = conn.scalar(select(func.max(table.c.id)))
        if top:
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v)"),
                {"t": table.name, "v": top},
            )


def seed(
    url: str,
    scale: Scale,
    *,
    seed_value: int = 3,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> Seeded:
    """Seed a migrated, empty database. Returns the callers' numbers and the row counts."""
    rng = random.Random(seed_value)
    now = now or datetime.now(UTC)
    engine = make_engine(url)
    t0 = time.perf_counter()
    try:
        if engine.dialect.name == "sqlite":
            # Only while seeding: the service itself runs with synchronous=NORMAL.
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-262144")
                conn.commit()
                people = _seed_all(conn, rng, scale, now, progress)
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.commit()
        else:
            with engine.connect() as conn:
                people = _seed_all(conn, rng, scale, now, progress)
                with conn.begin():
                    _fix_sequences(conn, Base.metadata.sorted_tables)
                # What autovacuum would have done long before a year of traffic was in.
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        with engine.connect() as conn:
            counts = {
                table.name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()
    return Seeded(url, people.client_phones, counts, time.perf_counter() - t0)


def _seed_all(
    conn: Connection,
    rng: random.Random,
    scale: Scale,
    now: datetime,
    progress: Callable[[str], None],
) -> _People:
    with conn.begin():
        people = _seed_people(conn, rng, scale, now)
    progress(f"{scale.therapists:,} therapists and {scale.clients:,} clients")
    with conn.begin():
        write_rows(conn, _table(Lockout), LOCKOUT_COLUMNS, _lockouts(rng, scale, now))
    with conn.begin():
        _seed_rotations(conn, rng, scale, now)
    with conn.begin():
        write_rows(
            conn,
            _table(OnCallShift),
            ("therapist_id", "starts_at", "ends_at", "created_at"),
            _shifts(rng, scale, now),
        )
    if scale.calls:
        messages: list[Row] = []
        with conn.begin():
            write_rows(
                conn, _table(Call), CALL_COLUMNS, _history(rng, scale, people, now, messages)
            )
            progress(f"{scale.calls:,} calls")
            write_rows(conn, _table(Message), MESSAGE_COLUMNS, messages)
        progress(f"{len(messages):,} missed-call texts")
    return people


# --- a year of texts (the SMS benchmark's full database) -------------------------------------

TEXT_HISTORY_REPLIES = {
    "check_in": "A skill to try now, Paced Breathing: breathe out longer than you breathe in. "
    "How strong are your urges right now, 0-5? Reply with a number.",
    "rating": "Thanks for checking in. Noticing how you are is a skill too.",
    "win": "Thank you for sharing your win! Using skills when it is hard takes real effort. "
    "Your therapist will see it.",
    "help": "Coaching line: text CHECK-IN for a skill, WIN and what went well to share a "
    "success, or STOP to opt out.",
}
TEXT_HISTORY_BODIES = {
    "check_in": ("check-in", "Check in", "checkin", "hi, check in please"),
    "win": (
        "win: used opposite action and went to group",
        "Win - called my sister instead of isolating",
        "small win: did TIPP before the meeting",
    ),
    "help": ("help", "info"),
    "other": ("ok thanks", "running late to group tonight", "thank you!"),
}
TEXT_COLUMNS = (*MESSAGE_COLUMNS, "reply_to_id")


def seed_text_history(
    url: str,
    texts: int,
    *,
    seed_value: int = 3,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, int]:
    """Add a year of texting to a seeded database: `texts` inbound texts from random clients
    (check-ins, most answered with a rating, wins, help, other text), each with the line's
    reply, and the check-ins, successes and daily success digests that went with them. Ends a
    day before `now`, so nothing is open or sent today. Returns the rows added by table."""
    rng = random.Random(f"{seed_value}-texts")
    now = now or datetime.now(UTC)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            clients = conn.execute(
                select(Client.id, Client.phone, Client.therapist_id).order_by(Client.id)
            ).all()
            therapist_phone = dict(conn.execute(select(Therapist.id, Therapist.phone)).all())
            first_id = int(conn.scalar(select(func.max(Message.id))) or 0) + 1
            if not clients or texts <= 0:
                return {}
            rows = _text_history(rng, texts, clients, therapist_phone, now, first_id)
            conn.rollback()  # end the reads' transaction
            if conn.dialect.name == "sqlite":  # only while seeding, as in `seed`
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-262144")
                conn.commit()
            with conn.begin():
                added = {
                    "messages": write_rows(conn, _table(Message), TEXT_COLUMNS, rows.messages),
                    "check_ins": write_rows(
                        conn,
                        _table(CheckIn),
                        ("client_id", "asked_at", "expires_at", "urge_rating", "answered_at"),
                        rows.check_ins,
                    ),
                    "successes": write_rows(
                        conn, _table(Success), ("client_id", "body", "received_at"), rows.successes
                    ),
                }
            progress(
                f"{added['messages']:,} text rows ({texts:,} inbound), "
                f"{added['check_ins']:,} check-ins, {added['successes']:,} successes"
            )
            if conn.dialect.name == "postgresql":
                with conn.begin():
                    _fix_sequences(conn, [_table(Message), _table(CheckIn), _table(Success)])
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            else:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.commit()
    finally:
        engine.dispose()
    return added


@dataclass
class _TextRows:
    messages: list[Row] = field(default_factory=list)
    check_ins: list[Row] = field(default_factory=list)
    successes: list[Row] = field(default_factory=list)


def _text_history(
    rng: random.Random,
    texts: int,
    clients: Sequence[Row],
    therapist_phone: dict[int, str],
    now: datetime,
    first_id: int,
) -> _TextRows:
    out = _TextRows()
    start, end = now - timedelta(days=366), now - timedelta(days=1)
    step = (end - start).total_seconds() / texts
    digested: set[tuple[int, Any]] = set()
    next_id = first_id
    inbound = 0

    def exchange(client: Row, at: datetime, kind: str, body: str) -> None:
        nonlocal next_id, inbound
        client_id, phone, _therapist = client
        sid = f"SM{rng.getrandbits(128):032x}"
        out.messages.append(
            (next_id, "inbound", "inbound", client_id, None, None, phone, LINE_NUMBER, body,
             "received", 0, None, None, sid, at, None, None)
        )  # fmt: skip
        out.messages.append(
            (next_id + 1, "outbound", "reply", client_id, None, None, LINE_NUMBER, phone,
             TEXT_HISTORY_REPLIES.get(kind, TEXT_HISTORY_REPLIES["help"]), "replied", 0, None,
             None, None, at, None, next_id)
        )  # fmt: skip
        next_id += 2
        inbound += 1

    i = 0
    while inbound < texts:
        at = start + timedelta(seconds=(i + rng.random()) * step)
        i += 1
        client = clients[rng.randrange(len(clients))]
        client_id, _phone, therapist_id = client
        draw = rng.random()
        if draw < 0.40:
            exchange(client, at, "check_in", rng.choice(TEXT_HISTORY_BODIES["check_in"]))
            answered = rng.random() < 0.8 and inbound < texts
            rating = rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 4, 5)) if answered else None
            answered_at = at + timedelta(seconds=rng.randint(30, 600)) if answered else None
            out.check_ins.append((client_id, at, at + timedelta(minutes=30), rating, answered_at))
            if answered_at is not None:
                exchange(client, answered_at, "rating", str(rating))
        elif draw < 0.62:
            body = rng.choice(TEXT_HISTORY_BODIES["win"])
            exchange(client, at, "win", body)
            out.successes.append((client_id, body.split(" ", 1)[1].lstrip(":- "), at))
            day = (therapist_id, (at - timedelta(hours=6)).date())
            if day not in digested:
                digested.add(day)
                out.messages.append(
                    (next_id, "outbound", "success_digest", None, therapist_id, None, LINE_NUMBER,
                     therapist_phone[therapist_id], "You have new success reports from clients "
                     "to read in coachline.", "sent", 1, None, None,
                     f"SM{rng.getrandbits(128):032x}", at, at + timedelta(seconds=2), None)
                )  # fmt: skip
                next_id += 1
        elif draw < 0.72:
            exchange(client, at, "help", rng.choice(TEXT_HISTORY_BODIES["help"]))
        else:
            exchange(client, at, "other", rng.choice(TEXT_HISTORY_BODIES["other"]))
    return out


# --- a backlog of missed-call texts (the notification benchmark) ----------------------------


def seed_queued_texts(
    url: str,
    count: int,
    *,
    due_at: datetime,
    seed_value: int = 3,
    now: datetime | None = None,
) -> int:
    """Add `count` missed calls from random seeded clients, ended a minute ago (inside the
    call-back window, so nothing escalates), each with its missed-call text to the client's
    therapist, queued and due at `due_at` (set it in the future to hold them back, then
    `release_queued_texts`). Returns the texts added."""
    rng = random.Random(f"{seed_value}-queued")
    now = now or datetime.now(UTC)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            clients = conn.execute(
                select(Client.id, Client.name, Client.therapist_id).order_by(Client.id)
            ).all()
            therapist_phone = dict(conn.execute(select(Therapist.id, Therapist.phone)).all())
            first_call = int(conn.scalar(select(func.max(Call.id))) or 0) + 1
            first_message = int(conn.scalar(select(func.max(Message.id))) or 0) + 1
            conn.rollback()
            calls, messages = [], []
            for i in range(count):
                client_id, name, therapist_id = clients[rng.randrange(len(clients))]
                started = now - timedelta(seconds=rng.randint(60, 600))
                local = started.astimezone(ZoneInfo(PRACTICE_TZ))
                call_id = first_call + i
                calls.append(
                    (call_id, f"CA{rng.getrandbits(128):032x}", client_id, "coaching",
                     "wait_script", therapist_id, None, "completed", None, started, None,
                     started + timedelta(seconds=45), 45)
                )  # fmt: skip
                body = (
                    f"Missed coaching call from {name.split()[0]} at "
                    f"{local.strftime('%I:%M %p').lstrip('0')}."
                )
                messages.append(
                    (first_message + i, "outbound", "notification", client_id, therapist_id,
                     call_id, LINE_NUMBER, therapist_phone[therapist_id], body, "queued", 0,
                     due_at, None, None, due_at, None)
                )  # fmt: skip
            with conn.begin():
                write_rows(conn, _table(Call), CALL_COLUMNS, calls)
                written = write_rows(conn, _table(Message), MESSAGE_COLUMNS, messages)
                if conn.dialect.name == "postgresql":
                    _fix_sequences(conn, [_table(Call), _table(Message)])
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return written


def release_queued_texts(url: str, at: datetime | None = None) -> tuple[datetime, int]:
    """Make every queued text due now, as if all were queued at this instant (created_at too).
    Returns the instant and how many."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            at = at or datetime.now(UTC)
            released = conn.execute(
                Message.__table__.update()
                .where(Message.status == "queued")
                .values(next_attempt_at=at, created_at=at)
            ).rowcount
    finally:
        engine.dispose()
    return at, int(released)
