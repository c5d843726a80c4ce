"""The running line's own state: what it caches between calls, and how it rests a failed
database."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

import app.context as context
from app.context import DatabaseResting, Line
from app.settings import Settings
from tests.helpers import run


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [100.0]
    monkeypatch.setattr(context.time, "monotonic", lambda: now[0])
    return now


def a_line(**changes) -> Line:
    return Line(Settings(_env_file=None, **{"database_url": "sqlite://", **changes}))


def test_state_is_kept_for_state_cache_seconds_then_read_again(clock):
    line, loads = a_line(state_cache_seconds=1), []
    load = lambda: loads.append(1) or len(loads)  # noqa: E731
    assert line.cached("skills", load) == 1
    clock[0] += 0.9
    assert line.cached("skills", load) == 1  # within the second: not read again
    clock[0] += 0.2
    assert line.cached("skills", load) == 2  # a change is seen within STATE_CACHE_SECONDS


def test_without_a_cache_every_call_reads_the_state(clock):
    line, loads = a_line(state_cache_seconds=0), []
    assert [line.cached("skills", lambda: loads.append(1) or len(loads)) for _ in "ab"] == [1, 2]


def on_the_loop(line: Line, work):
    with line.database_work():
        return work()


def test_a_failed_database_rests_then_is_tried_again(clock):
    line, tries = a_line(database_rest_seconds=5), []

    def down():
        tries.append(1)
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with pytest.raises(OperationalError):
        on_the_loop(line, down)
    clock[0] += 4.9
    with pytest.raises(DatabaseResting):
        on_the_loop(line, down)
    assert len(tries) == 1  # resting: the database was not waited on again
    clock[0] += 0.2
    assert on_the_loop(line, lambda: "answered") == "answered"


def test_a_bug_is_not_a_database_failure(clock):
    line = a_line()
    with pytest.raises(ZeroDivisionError):
        on_the_loop(line, lambda: 1 / 0)
    assert on_the_loop(line, lambda: "answered") == "answered"


# --- the hot webhooks' kept connection ---------------------------------------------------------


def a_served_line(tmp_path) -> Line:
    return a_line(database_url=f"sqlite:///{tmp_path / 'line.db'}")


def used_connection(line: Line):
    with line.webhook_connection() as conn:
        conn.exec_driver_sql("SELECT 1")
        return conn


def test_a_serving_loop_keeps_one_connection_and_gives_it_back_at_the_end(tmp_path):
    line = a_served_line(tmp_path)
    pool = line.webhook_engine.pool

    async def serve():
        with line.keep_webhook_connection():
            first, second = used_connection(line), used_connection(line)
            return first is second, pool.checkedout()

    assert run(serve) == (True, 1)  # one connection, kept between uses
    assert pool.checkedout() == 0  # given back when the loop stopped serving


def test_a_kept_connection_that_failed_is_given_back_and_the_next_use_takes_another(tmp_path):
    line = a_served_line(tmp_path)
    pool = line.webhook_engine.pool

    async def serve():
        with line.keep_webhook_connection():
            first = used_connection(line)
            with pytest.raises(OperationalError), line.webhook_connection() as conn:
                conn.exec_driver_sql("SELECT no_such_column FROM no_such_table")
            return first, used_connection(line), pool.checkedout()

    first, after, checked_out = run(serve)
    assert first.closed and after is not first and checked_out == 1


def test_a_use_inside_another_takes_its_own_connection(tmp_path):
    line = a_served_line(tmp_path)

    async def serve():
        with line.keep_webhook_connection(), line.webhook_connection() as outer:
            return outer is not used_connection(line)

    assert run(serve)
    assert line.webhook_engine.pool.checkedout() == 0


def test_without_a_serving_loop_each_use_is_a_pooled_checkout(tmp_path):
    line = a_served_line(tmp_path)
    used_connection(line)
    assert line.webhook_engine.pool.checkedout() == 0
