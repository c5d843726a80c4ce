"""The database: engine, sessions, and the column type for instants."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: timezone-aware UTC in Python, `timestamptz` on PostgreSQL, UTC text on SQLite.

    Naive datetimes are refused, so no wall-clock time is ever stored by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: instants must carry a time zone")
        value = value.astimezone(UTC)
        # SQLite keeps text: store naive UTC so that text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, webhooks: bool = False) -> Engine:
    """An engine that connects lazily, so the service starts even while the database is down.

    Every wait is bounded well inside Twilio's 15 s webhook timeout, since the hot webhooks
    wait on the event loop (`Line.on_the_loop`): SQLite's lock wait, PostgreSQL's connect,
    TCP (a peer that vanished) and pool waits. No pre-ping (a round trip on every checkout):
    a webhook whose connection the database dropped runs again (`app.twilio.safe`).

    `webhooks`: the engine of the incoming call and text, whose few statements are all
    lookups by a unique key. On PostgreSQL their prepared statements keep one generic plan
    (`plan_cache_mode`): the lookup was planned afresh on every call, measured at about
    0.5 ms of the database's CPU per call. The dashboard's range queries keep the default.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    connect_args: dict[str, object] = {"connect_timeout": 3, "tcp_user_timeout": 5000}
    if webhooks:
        connect_args["options"] = "-c plan_cache_mode=force_generic_plan"
    return create_engine(
        url,
        # The webhooks run one at a time on the event loop: a few connections are plenty.
        pool_size=2 if webhooks else 10,
        max_overflow=2 if webhooks else 10,
        pool_timeout=5,
        connect_args=connect_args,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed whole, or rolled back whole."""
    with factory() as session, session.begin():
        yield session


class InsertOnce:
    """INSERT .. ON CONFLICT (key) DO NOTHING RETURNING id, built once for each database:
    a webhook Twilio retries writes its row once."""

    def __init__(self, table: Table, key: str) -> None:
        self._by_dialect = {
            dialect: insert(table)
            .on_conflict_do_nothing(index_elements=[key])
            .returning(table.c.id)
            for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
        }

    def __call__(self, conn: Connection, values: dict) -> int | None:
        """The new row's id, or None when a row with this key was already there."""
        return conn.execute(self._by_dialect[conn.dialect.name], values).scalar()
