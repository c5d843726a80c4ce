"""`app.db.DriverStatement`: the hot webhooks' statements, run on the driver's own cursor,
must give exactly what SQLAlchemy gives, write inside the caller's transaction, and fail as
SQLAlchemy fails."""

from __future__ import annotations

import time as time_module
from datetime import UTC, time, timedelta

import pytest
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.callers import CALL_BACK_SPAN, callers_statement
from app.db import (
    AUTOCHECKPOINT_PAGES,
    Base,
    Checkpointer,
    DriverStatement,
    InsertOnce,
    make_engine,
)
from app.models import Call, CheckIn, CoachingHours, Lockout, Message, Therapist
from ivr.callbacks import CALLING_BACK, THERAPIST
from ivr.voice import Window
from tests.conftest import NOW
from tests.helpers import restart_postgresql_connections

RILEY_PHONE = "+13145550142"
CALL_COLUMNS = ("call_sid", "client_id", "route", "outcome", "therapist_id", "started_at")


@pytest.fixture
def riley_in_full(db, people):
    """Riley with everything the caller lookup reads: her therapist's hours, an active
    lockout, a therapist calling her back right now, and an open check-in."""
    db.add_all(
        [
            # Thursday's window first: the lookup gives the windows in order all the same.
            CoachingHours(therapist_id=people["dana"], weekday=3, start=time(8, 30), end=time(12)),
            CoachingHours(therapist_id=people["dana"], weekday=0, start=time(9), end=time(17)),
            Lockout(
                client_id=people["riley"],
                created_by="Dana Whitfield",
                starts_at=NOW - timedelta(hours=2),
                ends_at=NOW + timedelta(hours=22),
            ),
            Call(
                call_sid="CA" + "b" * 32,
                client_id=people["riley"],
                route=THERAPIST,
                outcome=CALLING_BACK,
                therapist_id=people["dana"],
                started_at=NOW - timedelta(minutes=5),
            ),
            CheckIn(
                client_id=people["riley"],
                asked_at=NOW - timedelta(minutes=3),
                expires_at=NOW + timedelta(minutes=57),
            ),
        ]
    )
    db.commit()
    return people


ENROLLED_BY_PHONE = callers_statement(1)


def test_rows_are_what_sqlalchemy_gives(line, riley_in_full):
    params = {"phone_0": RILEY_PHONE, "now": NOW, "call_back_since": NOW - CALL_BACK_SPAN}
    for statement in (ENROLLED_BY_PHONE, callers_statement(1, texters=True)):
        core = statement.statement("sqlite")  # one statement for every database
        with line.webhook_engine.connect() as conn:
            driven = statement.all(conn, params)
            expected = conn.execute(core, params).all()
        assert len(driven) == 1  # one row per client, the coaching hours in one column
        assert [tuple(r) for r in driven] == [tuple(r) for r in expected]
        first = driven[0]
        assert first._fields == tuple(expected[0]._fields)
        # The types converted the driver's values: aware UTC instants, times, booleans.
        assert first.locked_until == NOW + timedelta(hours=22)
        assert first.locked_until.tzinfo == UTC
        assert first.being_called_back is True and first.therapist_active is True
        assert first.hours == (
            Window(0, time(9), time(17)),
            Window(3, time(8, 30), time(12)),
        )
        assert first.name == "Riley Tran"


def test_a_therapist_without_coaching_hours_has_none(line, people):
    """No windows at all (PostgreSQL aggregates no rows to NULL, SQLite to []): ()."""
    params = {"phone_0": RILEY_PHONE, "now": NOW, "call_back_since": NOW - CALL_BACK_SPAN}
    with line.webhook_engine.connect() as conn:
        (riley,) = ENROLLED_BY_PHONE.all(conn, params)
    assert riley.hours == ()
    assert riley.locked_until is None and not riley.being_called_back


def test_nobody_with_that_number_is_no_rows(line, people):
    params = {"phone_0": "+13145550199", "now": NOW, "call_back_since": NOW}
    with line.webhook_engine.connect() as conn:
        assert ENROLLED_BY_PHONE.all(conn, params) == []
        assert ENROLLED_BY_PHONE.first(conn, params) is None


def test_insert_once_writes_one_row_and_a_retry_writes_nothing(line, db, people):
    new_call = InsertOnce(Call.__table__, "call_sid", CALL_COLUMNS)
    values = {
        "call_sid": "CA" + "c" * 32,
        "client_id": people["riley"],
        "route": "coaching",
        "outcome": "ringing",
        "therapist_id": None,
        "started_at": NOW,
    }
    # The webhook engine runs in autocommit: the row is saved without a commit.
    with line.webhook_engine.connect() as conn:
        made = new_call(conn, values)
        assert made is not None
        assert new_call(conn, {**values, "outcome": "bridged"}) is None
    saved = db.scalars(select(Call)).one()
    assert (saved.id, saved.outcome, saved.started_at, saved.therapist_id) == (
        made,
        "ringing",
        NOW,
        None,
    )


def test_insert_once_many_writes_the_new_rows_of_a_group_in_one_go(line, db, people):
    new_call = InsertOnce(Call.__table__, "call_sid", CALL_COLUMNS)

    def call(n: int, outcome: str) -> dict:
        return dict.fromkeys(CALL_COLUMNS) | {
            "call_sid": f"CA{n:032x}",
            "client_id": people["riley"],
            "route": "coaching",
            "outcome": outcome,
            "started_at": NOW,
        }

    with line.engine.begin() as conn:
        first = new_call.many(conn, [call(1, "ringing"), call(2, "ringing")])
        # One already there (a retry) among new ones: only the new get an id.
        then = new_call.many(conn, [call(2, "bridged"), call(3, "ringing"), call(4, "ringing")])
    assert set(first) == {f"CA{1:032x}", f"CA{2:032x}"}
    assert set(then) == {f"CA{3:032x}", f"CA{4:032x}"}
    saved = dict(db.execute(select(Call.call_sid, Call.id)).all())
    assert saved == first | then
    assert db.scalar(select(Call.outcome).where(Call.call_sid == f"CA{2:032x}")) == "ringing"


def test_it_writes_inside_the_callers_transaction(line, db, people):
    new_call = InsertOnce(Call.__table__, "call_sid", CALL_COLUMNS)
    with line.engine.connect() as conn, conn.begin() as transaction:
        values = dict.fromkeys(CALL_COLUMNS) | {
            "call_sid": "CA" + "d" * 32,
            "route": "unknown_caller",
            "outcome": "crisis_resources",
            "started_at": NOW,
        }
        assert new_call(conn, values) is not None
        transaction.rollback()
    assert db.scalar(select(func.count()).select_from(Call)) == 0


def new_therapist() -> DriverStatement:
    """INSERT a therapist (their phone number and calendar token are unique)."""
    return DriverStatement(
        insert(Therapist.__table__).values(
            name=bindparam("name"),
            phone=bindparam("phone"),
            active=True,
            ical_token=bindparam("token"),
            created_at=bindparam("at"),
        )
    )


def test_a_driver_error_is_raised_as_sqlalchemys(line, people):
    statement = new_therapist()
    ines = {"name": "Ines Calder", "phone": "+13145550131", "at": NOW}
    with line.webhook_engine.connect() as conn:
        statement.all(conn, ines | {"token": "a" * 20})
        with pytest.raises(IntegrityError) as refused:  # the same phone number
            statement.all(conn, ines | {"token": "b" * 20})
    assert not refused.value.connection_invalidated
    # The driver's own exception stays attached (as SQLAlchemy attaches it).
    assert isinstance(refused.value.orig, conn.dialect.loaded_dbapi.IntegrityError)


def test_execute_many_writes_every_row_and_raises_sqlalchemys_error(line, db, people):
    statement = new_therapist()
    rows = [
        {"name": f"Therapist {n}", "phone": f"+1314555013{n}", "token": str(n) * 20, "at": NOW}
        for n in (3, 4, 5)
    ]
    with line.engine.begin() as conn:
        statement.execute_many(conn, rows)
    phones = set(db.scalars(select(Therapist.phone)))
    assert {r["phone"] for r in rows} <= phones
    with pytest.raises(IntegrityError), line.engine.begin() as conn:
        # the second row has the first's phone number: the transaction keeps nothing
        statement.execute_many(
            conn, [rows[0] | {"phone": "+13145550136", "token": "x" * 20}, rows[0]]
        )
    db.expire_all()
    assert "+13145550136" not in set(db.scalars(select(Therapist.phone)))


def test_a_column_left_to_its_default_is_refused_when_compiled(line):
    # Message.attempts has a Python-side default, which only SQLAlchemy's execution makes.
    statement = DriverStatement(insert(Message.__table__), keys=("direction", "kind", "body"))
    with line.webhook_engine.connect() as conn, pytest.raises(ValueError, match="default"):
        statement.all(conn, {"direction": "inbound", "kind": "inbound", "body": "hi"})


def test_a_dropped_connection_is_invalidated_with_its_pool(line, db, people, database_url):
    """After a PostgreSQL restart the pooled connections are dead: the statement that meets
    one raises SQLAlchemy's error marked `connection_invalidated` (what `app.twilio.safe`
    retries on), and the next connection is a fresh one."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to restart")
    params = {"phone_0": RILEY_PHONE, "now": NOW, "call_back_since": NOW}
    with line.webhook_engine.connect() as first, line.webhook_engine.connect() as second:
        assert ENROLLED_BY_PHONE.first(first, params) is not None
        assert ENROLLED_BY_PHONE.first(second, params) is not None
    db.close()
    line.engine.dispose()  # only the webhook engine's pool is under test
    assert restart_postgresql_connections(database_url) >= 2
    with line.webhook_engine.connect() as conn, pytest.raises(DBAPIError) as dropped:
        ENROLLED_BY_PHONE.first(conn, params)
    assert dropped.value.connection_invalidated
    with line.webhook_engine.connect() as conn:  # the other dead one went with the pool
        assert ENROLLED_BY_PHONE.first(conn, params).name == "Riley Tran"


def test_sqlite_checkpoints_in_a_thread_of_its_own_not_in_a_webhooks_commit(tmp_path):
    """A commit checkpoints SQLite's write-ahead log only far past what the service's own
    checkpointing thread lets it grow to, so no webhook's commit pays for the copy back."""
    path = tmp_path / "line.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == (
                AUTOCHECKPOINT_PAGES
            )
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                insert(Therapist.__table__),
                [
                    {"name": f"T{i}", "phone": f"+1314555{i:04d}", "ical_token": f"t{i}"}
                    for i in range(2_000)
                ],
            )
        written = path.stat().st_size  # the new pages are still in the log
        checkpointer = Checkpointer(engine, seconds=0.05)
        checkpointer.start()
        try:
            deadline = time_module.monotonic() + 10
            while path.stat().st_size == written and time_module.monotonic() < deadline:
                time_module.sleep(0.05)
        finally:
            checkpointer.stop()
        assert path.stat().st_size > written  # copied back into the database file
        assert not checkpointer._thread.is_alive()
    finally:
        engine.dispose()
