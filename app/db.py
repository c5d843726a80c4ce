"""The database: the engine, sessions, the column type for instants, and the once-only insert
that Twilio's retried webhooks need."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger("coachline.db")


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


def make_engine(url: str) -> Engine:
    """The line's one engine. It connects lazily, so the service starts while the database is
    down, and every wait it can make is bounded: a webhook must answer within Twilio's 15 s
    whatever the database does (`Line.database` bounds the whole of a webhook's database work
    as well, since a server that accepts a connection and never answers stalls a driver call
    beyond any of these). `pool_pre_ping` (Dispatch's `create_db_engine`): a connection the
    database dropped (it restarted) is replaced before use, not failed on."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            # A peer that vanished mid-statement (unacknowledged data) is given up on.
            "tcp_user_timeout": 5000,
            # A statement that runs long is cancelled by the server itself.
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        },
    )


# Each bound sits inside the webhooks' own deadline (`Settings.webhook_database_seconds`), so
# that the other work (the dashboard, the worker) gives up as well, in time.
SQLITE_BUSY_SECONDS = 2
CONNECT_TIMEOUT_SECONDS = 2
POOL_TIMEOUT_SECONDS = 2
STATEMENT_TIMEOUT_MS = 10_000


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed whole, or rolled back whole."""
    with factory() as session, session.begin():
        yield session


def insert_once(
    session: Session, table: Table, key: str | tuple[str, ...], values: Mapping[str, Any]
) -> bool:
    """INSERT .. ON CONFLICT (key) DO NOTHING: a webhook Twilio retries writes its row once.
    `key`: the unique column, or the columns of a unique constraint. True when the row is
    new. (Core statements run through the session, so the table's Python-side defaults and
    SQLAlchemy's events apply.)"""
    make = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    columns = (key,) if isinstance(key, str) else key
    statement = (
        make(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(columns))
        .returning(table.c[columns[0]])
    )
    return session.execute(statement).first() is not None
