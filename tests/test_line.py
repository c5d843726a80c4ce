"""The running line's own state: how a webhook's database work is bounded, and how a failed
database is rested."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import app.line as line_module
from app.line import DatabaseResting, Line
from app.models import PracticeSetting
from app.settings import Settings
from tests.helpers import run


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(line_module.time, "monotonic", lambda: now[0])
    return now


def a_line(tmp_path, **changes) -> Line:
    url = f"sqlite:///{tmp_path / 'line.db'}"
    line = Line(Settings(_env_file=None, **{"database_url": url, **changes}))
    PracticeSetting.__table__.create(line.engine)
    return line


def in_database(line: Line, work):
    async def main():
        return await line.database(work)

    return run(main)


def test_a_failed_database_rests_then_is_tried_again(tmp_path, clock):
    line, tries = a_line(tmp_path, database_rest_seconds=5), []

    def down(session):
        tries.append(1)
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with pytest.raises(OperationalError):
        in_database(line, down)
    clock[0] += 4.9
    with pytest.raises(DatabaseResting):
        in_database(line, down)
    assert len(tries) == 1  # resting: the database was not waited on again
    clock[0] += 0.2
    assert in_database(line, lambda session: "answered") == "answered"


def test_a_bug_is_not_a_database_failure(tmp_path):
    line = a_line(tmp_path)
    with pytest.raises(ZeroDivisionError):
        in_database(line, lambda session: 1 / 0)
    assert in_database(line, lambda session: "answered") == "answered"


def test_work_past_its_time_is_logged_with_where_it_was_stuck(tmp_path, caplog):
    """What an operator needs to tell a lock wait from a connect or an exhausted pool: the
    stuck thread's innermost frames, file:line and function, and no values."""
    line = a_line(tmp_path, webhook_database_seconds=0.3)
    release = threading.Event()

    def waits_for_a_lock(session):
        release.wait(5)  # stands for a statement waiting on a lock

    with pytest.raises(TimeoutError):
        in_database(line, lambda session: waits_for_a_lock(session))
    release.set()
    [stuck] = [r.getMessage() for r in caplog.records if "past its time" in r.getMessage()]
    assert stuck.startswith("database work past its time, still at: ")
    assert "threading.py" in stuck and "test_line.py" in stuck and "waits_for_a_lock" in stuck


def test_work_that_hangs_is_given_up_in_time_and_keeps_nothing(tmp_path):
    """A database that never answers: the webhook stops waiting after the bound, the line
    rests the database, and what the stuck work wrote is rolled back when it comes loose."""
    line = a_line(tmp_path, database_rest_seconds=5)
    release, finished = threading.Event(), threading.Event()

    def hangs(session):
        session.add(PracticeSetting(key="greeting", value="x", updated_by="t"))
        session.flush()
        release.wait(10)
        finished.set()
        return "too late"

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        in_database(line, hangs)
    waited = time.monotonic() - started
    bound = line.settings.webhook_database_seconds
    assert bound == 2.0  # the default
    assert bound <= waited < bound + 1
    with pytest.raises(DatabaseResting):  # the next webhook does not wait at all
        in_database(line, lambda session: "answered")
    release.set()
    assert finished.wait(5)
    time.sleep(0.2)  # the stuck thread's transaction ends after `hangs` returns
    with line.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PracticeSetting)) == 0


def test_a_settings_change_is_read_by_the_very_next_call(tmp_path):
    line = a_line(tmp_path)
    with line.sessions() as session:
        assert line.practice(session).greeting == Settings.model_fields["greeting"].default
        session.add(PracticeSetting(key="greeting", value="Hello from {practice}.", updated_by="t"))
        session.commit()
        assert line.practice(session).greeting == "Hello from {practice}."
    # What the answers made without the database speak, too.
    assert line.known_practice().greeting == "Hello from {practice}."
