"""The database: engines, sessions, the column type for instants, and the statements the hot
webhooks run on the driver (`DriverStatement`)."""

from __future__ import annotations

import logging
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    Executable,
    MetaData,
    Table,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger("coachline.db")

_T = TypeVar("_T")


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
    wait on the event loop (`Line.database_work`): SQLite's lock wait, PostgreSQL's connect,
    TCP (a peer that vanished) and pool waits. No pre-ping (a round trip on every checkout):
    a webhook whose connection the database dropped runs again (`app.twilio.safe`).

    `webhooks`: the engine of the incoming call and text, whose few statements each stand
    alone (a lookup by a unique key, one insert), so it runs them in autocommit: no BEGIN
    and COMMIT round trips around them. Writes that belong together go through the main
    engine's transactions. On PostgreSQL its prepared statements keep one generic plan
    (`plan_cache_mode`): the lookup was planned afresh on every call, measured at about
    0.5 ms of the database's CPU per call. The dashboard's range queries keep the default.
    """
    isolation = {"isolation_level": "AUTOCOMMIT"} if webhooks else {}
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 5}, **isolation
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # The service checkpoints in a thread of its own (`Checkpointer`); a commit only
            # checkpoints (on whatever thread it runs) when the WAL has grown far past that.
            cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
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
        **isolation,
    )


# SQLite's own default is 1,000 pages: a commit that crosses it copies the WAL back into the
# database and syncs it, on the event loop when a webhook made the commit (a stall of 100 ms
# and more was measured on a busy line).
AUTOCHECKPOINT_PAGES = 20_000


class Checkpointer:
    """Copies SQLite's write-ahead log back into the database every `seconds`, in a thread of
    its own, so that no webhook's commit does it (PASSIVE: it never waits for a reader or a
    writer, and SQLite does the work without holding Python's GIL). Nothing to do on
    PostgreSQL."""

    def __init__(self, engine: Engine, seconds: float = 1.0) -> None:
        self.engine = engine
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    def start(self) -> None:
        if self.engine.dialect.name == "sqlite":
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)

    def checkpoint(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.checkpoint()
            except Exception as exc:  # the database is busy or gone: next time
                log.warning("SQLite checkpoint failed: %s", type(exc).__name__)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed whole, or rolled back whole."""
    with factory() as session, session.begin():
        yield session


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # The driver's parameters (a tuple for SQLite's "?", a dict for psycopg's "%(name)s").
    args: Callable[[Mapping[str, Any]], tuple | dict]
    row: Callable[[Sequence[Any]], tuple]


class DriverStatement:
    """A Core statement compiled once for each database and run on the driver's own cursor.

    For the few statements the incoming call and text run on every request. Through
    `Connection.execute`, SQLAlchemy's execution layer (cache key, execution context, result
    object) cost more CPU than SQLite spent running them: measured on a call's lookup and
    insert, 0.8 ms against 0.4 ms this way on SQLite, 1.3 against 0.5 on PostgreSQL. What
    stays the same: it runs on a SQLAlchemy `Connection` (inside its transaction, if any);
    the column types convert the values both ways; a driver error is raised as SQLAlchemy's
    exception, and a dropped connection is invalidated with its pool, as
    `Connection.execute` does. Rows are named tuples of the statement's columns.

    `statement`: one statement, or one per database (an insert's ON CONFLICT). `keys`: the
    columns an INSERT writes, every one given on each run (a column with a default too).
    """

    def __init__(
        self, statement: Executable | Mapping[str, Executable], keys: Sequence[str] = ()
    ) -> None:
        self._statements = statement if isinstance(statement, Mapping) else None
        self._statement = None if isinstance(statement, Mapping) else statement
        self._keys = list(keys) or None
        self._compiled: dict[str, _Compiled] = {}

    def statement(self, dialect_name: str) -> Executable:
        if self._statements is not None:
            return self._statements[dialect_name]
        assert self._statement is not None
        return self._statement

    def sql(self, dialect: Dialect) -> str:
        """The SQL this statement sends on `dialect`'s database."""
        return self._for(dialect).sql

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple]:
        def run(cursor: Any, compiled: _Compiled) -> list[tuple]:
            cursor.execute(compiled.sql, compiled.args(params))
            return [compiled.row(r) for r in cursor.fetchall()] if cursor.description else []

        return self._on_cursor(conn, run)

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Run a statement that returns nothing (an UPDATE, an INSERT without RETURNING)."""
        self.all(conn, params)

    def execute_many(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """`execute` for each of `params`, in one driver call: psycopg sends them all in one
        round trip (pipeline mode), where one at a time each waits for its answer."""
        if len(params) < 2:  # one alone is cheaper without psycopg's pipeline
            for one in params:
                self.all(conn, one)
            return

        def run(cursor: Any, compiled: _Compiled) -> None:
            cursor.executemany(compiled.sql, [compiled.args(one) for one in params])

        self._on_cursor(conn, run)

    def all_each(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> list[list[tuple]]:
        """`all` for each of `params`: on psycopg in one round trip (pipeline mode)."""
        # sqlite3 returns no rows from executemany; one alone is cheaper without the pipeline.
        if conn.dialect.driver != "psycopg" or len(params) < 2:
            return [self.all(conn, one) for one in params]

        def run(cursor: Any, compiled: _Compiled) -> list[list[tuple]]:
            args = [compiled.args(one) for one in params]
            cursor.executemany(compiled.sql, args, returning=True)
            return [[compiled.row(r) for r in cursor.fetchall()] for _ in cursor.results()]

        return self._on_cursor(conn, run)

    def _on_cursor(self, conn: Connection, run: Callable[[Any, _Compiled], _T]) -> _T:
        """`run` on a driver cursor of `conn`, a driver error raised as SQLAlchemy's."""
        compiled = self._for(conn.dialect)
        dbapi_connection = conn.connection.dbapi_connection
        assert dbapi_connection is not None
        cursor = None
        try:
            cursor = dbapi_connection.cursor()
            return run(cursor, compiled)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy_error(conn, exc, compiled.sql, cursor) from exc
        finally:
            if cursor is not None:
                cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple | None:
        rows = self.all(conn, params)
        return rows[0] if rows else None

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        row = self.first(conn, params)
        return row[0] if row is not None else None

    def _for(self, dialect: Dialect) -> _Compiled:
        return self._compiled.get(dialect.name) or self._compile(dialect)

    def _compile(self, dialect: Dialect) -> _Compiled:
        statement = self.statement(dialect.name)
        compiled = statement.compile(dialect=dialect, column_keys=self._keys)  # type: ignore[attr-defined]
        sql = str(compiled)
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        if "POSTCOMPILE" in sql or any(b.expanding for b in binds.values()):
            raise ValueError("a DriverStatement takes no IN lists and no literal execution")
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Python-side defaults are made by SQLAlchemy's execution context, not here.
            raise ValueError("a DriverStatement's keys must include every column with a default")
        # Per bound name (a name may stand in several placeholders: "now" is three in the
        # caller lookup, and is converted once): the driver's name for it, the parameter it
        # takes, and the type's conversion to the driver's value; or the statement's own
        # constant, converted now.
        constants: dict[str, Any] = {}
        parameters: list[tuple[str, str, Callable[[Any], Any] | None]] = []
        for name, bind in binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            driver_name = compiled.escaped_bind_names.get(name, name)
            if bind.required:
                parameters.append((driver_name, bind.key, process))
            else:
                constants[driver_name] = process(bind.value) if process else bind.value

        def converted(params: Mapping[str, Any]) -> dict[str, Any]:
            values = dict(constants)
            for driver_name, key, process in parameters:
                raw = params[key]
                values[driver_name] = (
                    process(raw) if process is not None and raw is not None else raw
                )
            return values

        if compiled.positiontup is not None:
            order = [compiled.escaped_bind_names.get(n, n) for n in compiled.positiontup]

            def args(params: Mapping[str, Any]) -> tuple | dict:
                values = converted(params)
                return tuple([values[name] for name in order])
        else:
            args = converted

        # A SELECT's columns, or what an INSERT returns (on PostgreSQL, its new key unasked).
        columns = list(
            compiled.effective_returning
            if compiled.effective_returning is not None
            else statement.exported_columns  # type: ignore[attr-defined]
        )
        Row = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]  # noqa: PYI024
        # Only the columns whose type converts the driver's value (on PostgreSQL, few).
        processors = [
            (i, p)
            for i, c in enumerate(columns)
            if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        ]

        def row(values: Sequence[Any]) -> tuple:
            converted = list(values)
            for i, process in processors:
                if converted[i] is not None:
                    converted[i] = process(converted[i])
            return Row._make(converted)

        made = _Compiled(sql, args, row)
        self._compiled[dialect.name] = made
        return made


def _as_sqlalchemy_error(conn: Connection, exc: Exception, sql: str, cursor: Any) -> DBAPIError:
    """What `Connection.execute` would raise for a driver error. A dropped connection (the
    database restarted) is invalidated, and with it the rest of its pool, which died too."""
    dbapi_connection = conn.connection.dbapi_connection
    disconnect = conn.dialect.is_disconnect(exc, dbapi_connection, cursor)
    if disconnect:
        conn.invalidate(exc)
        conn.engine.dispose(close=False)
    return DBAPIError.instance(
        sql,
        None,
        exc,
        conn.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=disconnect,
        dialect=conn.dialect,
    )


# psycopg caches a query's parsing only up to this many parameters (MAX_CACHED_STATEMENT_PARAMS
# in psycopg/_queries.py): beyond it, each run parses the SQL again (0.4 ms for 5 texts).
_PSYCOPG_CACHED_PARAMETERS = 50


class InsertOnce:
    """INSERT .. ON CONFLICT (key) DO NOTHING RETURNING id, built once for each database:
    a webhook Twilio retries writes its row once. `many` writes a group's rows together."""

    def __init__(self, table: Table, key: str, columns: Sequence[str]) -> None:
        self._table = table
        self._key = key
        self._columns = tuple(columns)
        self._one = self._statement(None)
        self._by_count: dict[int, DriverStatement] = {}

    def __call__(self, conn: Connection, values: Mapping[str, Any]) -> int | None:
        """The new row's id, or None when a row with this key was already there."""
        return self._one.scalar(conn, values)

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> dict[Any, int]:
        """The new rows' ids by key; a row whose key was already there is not among them.
        Every row has a key of its own (NULL would match no conflict and no answer)."""
        if not rows:
            return {}
        too_many_for_psycopg = len(rows) * len(self._columns) > _PSYCOPG_CACHED_PARAMETERS
        if len(rows) == 1 or (conn.dialect.driver == "psycopg" and too_many_for_psycopg):
            # Then the one-row statement for each row, sent together (one round trip): it
            # stays prepared and in psycopg's cache. Otherwise one statement of many rows is
            # less work (5 calls on PostgreSQL: 0.14 against 0.22 ms a call).
            answers = self._one.all_each(conn, rows)
            return {
                row[self._key]: found[0][0]
                for row, found in zip(rows, answers, strict=True)
                if found
            }
        statement = self._by_count.get(len(rows)) or self._by_count.setdefault(
            len(rows), self._statement(len(rows))
        )
        params = {f"{c}_{i}": row[c] for i, row in enumerate(rows) for c in self._columns}
        return {key: made for made, key in statement.all(conn, params)}

    def _statement(self, count: int | None) -> DriverStatement:
        """One row (bound by column name), or `count` rows (bound as column_i), returning
        the id (and, for many rows, the key, since RETURNING keeps no order)."""
        table = self._table
        if count is None:
            values: Any = None
            returning = [table.c.id]
        else:
            values = [
                {c: bindparam(f"{c}_{i}", type_=table.c[c].type) for c in self._columns}
                for i in range(count)
            ]
            returning = [table.c.id, table.c[self._key]]
        statements = {}
        for dialect, make in (("postgresql", pg_insert), ("sqlite", sqlite_insert)):
            insert = make(table) if values is None else make(table).values(values)
            statements[dialect] = insert.on_conflict_do_nothing(
                index_elements=[self._key]
            ).returning(*returning)
        return DriverStatement(statements, keys=self._columns if values is None else ())
