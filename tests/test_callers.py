"""Loading who calls (`app.callers`) and the once-only insert, on both databases."""

from __future__ import annotations

from datetime import UTC, time, timedelta

import pytest
from sqlalchemy import func, select

from app.callers import enrolled_by_phone, open_check_in
from app.db import insert_once
from app.models import Call, CheckIn, Client, CoachingHours, Lockout
from ivr.codes import Outcome, Route
from ivr.ringing import Window
from tests.conftest import NOW
from tests.helpers import restart_postgresql_connections

RILEY_PHONE = "+13145550142"


@pytest.fixture
def riley_in_full(db, people):
    """Riley with everything the caller lookup reads: her therapist's hours, an active
    lockout, a therapist calling her back right now, and an open check-in."""
    db.add_all(
        [
            # Thursday's window first: the windows come in order all the same.
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
                route=Route.THERAPIST,
                outcome=Outcome.CALLING_BACK,
                therapist_id=people["dana"],
                started_at=NOW - timedelta(minutes=5),
                call_back_started_at=NOW - timedelta(seconds=10),  # ringing Riley now
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


def test_a_caller_is_loaded_with_what_the_flow_decides_on(db, riley_in_full):
    riley = enrolled_by_phone(db, RILEY_PHONE, NOW)
    assert riley is not None and riley.caller.name == "Riley Tran"
    assert riley.caller.locked_until == NOW + timedelta(hours=22)
    assert riley.caller.locked_until.tzinfo == UTC
    assert riley.caller.being_called_back
    assert riley.caller.primary.hours == (
        Window(0, time(9), time(17)),
        Window(3, time(8, 30), time(12)),
    )
    check_in = open_check_in(db, riley.caller.client_id)
    assert check_in is not None and check_in.expires_at == NOW + timedelta(minutes=57)


def test_several_lockouts_and_call_backs_each_count_once(db, riley_in_full):
    """The client is read in one statement, whose joins repeat each window, lockout and
    call-back: each still counts once, and the rules decide from all of them."""
    riley_id, dana_id = riley_in_full["riley"], riley_in_full["dana"]
    db.add_all(
        [
            Lockout(
                client_id=riley_id,
                created_by="Dana Whitfield",
                starts_at=NOW - timedelta(hours=1),
                ends_at=NOW + timedelta(hours=23),  # the latest: it decides
            ),
            Call(
                call_sid="CA" + "c" * 32,
                client_id=riley_id,
                route=Route.THERAPIST,
                outcome=Outcome.CALLING_BACK,
                therapist_id=dana_id,
                started_at=NOW - timedelta(minutes=1),
                call_back_started_at=NOW - timedelta(seconds=5),
                ended_at=NOW - timedelta(seconds=1),  # over: blocks nobody
            ),
        ]
    )
    db.commit()
    riley = enrolled_by_phone(db, RILEY_PHONE, NOW)
    assert riley is not None and riley.caller.locked_until == NOW + timedelta(hours=23)
    assert riley.caller.being_called_back  # the first call-back still rings
    assert riley.caller.primary.hours == (
        Window(0, time(9), time(17)),
        Window(3, time(8, 30), time(12)),
    )
    ringing = db.scalar(select(Call).where(Call.call_sid == "CA" + "b" * 32))
    ringing.ended_at = NOW - timedelta(seconds=2)
    db.commit()
    riley = enrolled_by_phone(db, RILEY_PHONE, NOW)
    assert riley is not None and not riley.caller.being_called_back


def test_a_waived_rule_and_an_old_call_back_leave_the_caller_free(db, riley_in_full):
    riley = enrolled_by_phone(db, RILEY_PHONE, NOW + timedelta(hours=2))  # call-back is old
    assert riley is not None and not riley.caller.being_called_back
    assert riley.caller.locked_until is not None
    riley_row = db.get(Client, riley_in_full["riley"])
    riley_row.lockout_rule_applies = False
    db.commit()
    riley = enrolled_by_phone(db, RILEY_PHONE, NOW)
    assert riley is not None and riley.caller.locked_until is None


def test_a_therapist_without_coaching_hours_has_none(db, people):
    riley = enrolled_by_phone(db, RILEY_PHONE, NOW)
    assert riley is not None and riley.caller.primary.hours == ()
    assert riley.caller.locked_until is None and not riley.caller.being_called_back


def test_nobody_with_that_number_is_none(db, people):
    assert enrolled_by_phone(db, "+13145550199", NOW) is None
    assert enrolled_by_phone(db, None, NOW) is None


def test_insert_once_writes_one_row_and_a_retry_writes_nothing(db, people):
    values = {"route": "coaching", "outcome": "ringing", "started_at": NOW}
    assert insert_once(db, Call.__table__, "call_sid", {"call_sid": "CA" + "1" * 32, **values})
    again = {**values, "outcome": "bridged"}
    assert not insert_once(db, Call.__table__, "call_sid", {"call_sid": "CA" + "1" * 32, **again})
    db.commit()
    rows = db.scalars(select(Call).where(Call.call_sid == "CA" + "1" * 32)).all()
    assert [r.outcome for r in rows] == ["ringing"]  # the first write kept
    assert db.scalar(select(func.count()).select_from(Call)) == 1


def test_a_database_restart_is_noticed_before_use(line, db, people, database_url):
    """After a PostgreSQL restart the pooled connections are dead: the pool pings each
    before use and replaces it, so the next session works."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to restart")
    with line.sessions() as first, line.sessions() as second:
        assert enrolled_by_phone(first, RILEY_PHONE, NOW) is not None
        assert enrolled_by_phone(second, RILEY_PHONE, NOW) is not None
    db.close()
    assert restart_postgresql_connections(database_url) >= 2
    with line.sessions() as session:
        riley = enrolled_by_phone(session, RILEY_PHONE, NOW)
        assert riley is not None and riley.caller.name == "Riley Tran"
