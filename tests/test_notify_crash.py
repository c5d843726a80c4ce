"""Exactly once: a text whose worker dies mid-send is neither lost nor sent twice.

A worker that is killed after Twilio accepted a text, but before it recorded Twilio's answer,
leaves the row `sending`. Whoever takes it over once the lease runs out first looks for it in
Twilio's Messages list, and records it as sent instead of sending it again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from app.line import Line
from app.models import Message
from app.notify import _claim, _deliver, deliver_due, queue_text, twilio_client
from app.settings import Settings
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW
from tests.fake_twilio import Failure, FakeTwilio

DANA_PHONE = "+13145550111"
BODY = "Missed coaching call from Riley."


def _queue(line: Line, to: str = DANA_PHONE, body: str = BODY) -> int:
    with line.sessions() as session, session.begin():
        message = queue_text(session, line, to_phone=to, body=body)
        session.flush()
        return message.id


def _rows(line: Line) -> list[Message]:
    with line.sessions() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def _line_at(settings: Settings, instant: datetime) -> Line:
    """Another worker (a process of its own, in production), standing at `instant`."""
    line = Line(settings)
    line.clock = lambda: instant
    return line


def _after_the_lease(settings: Settings) -> Line:
    return _line_at(settings, NOW + timedelta(seconds=settings.notification_lease_seconds))


def _accepted_by_twilio(line: Line, body: str = BODY) -> str:
    """What the dead worker's send did before it died: Twilio has the message."""
    return twilio_client(line).messages.create(to=DANA_PHONE, from_=LINE_NUMBER, body=body).sid


def _no_texts_yet(line: Line) -> None:
    """The database lives for the whole run; these tests count every row in it."""
    with line.sessions() as session, session.begin():
        session.execute(delete(Message))


@pytest.fixture
def twilio(line: Line, fake_twilio: FakeTwilio) -> FakeTwilio:
    _no_texts_yet(line)
    fake_twilio.clock = lambda: NOW  # Twilio's clock agrees with the line's
    return fake_twilio


# ---- reconciliation, on both databases ----------------------------------------------------


def test_a_text_twilio_already_has_is_recorded_not_sent_again(line, settings, twilio):
    message_id = _queue(line)
    assert [c.id for c in _claim(line, 10)] == [message_id]
    sid = _accepted_by_twilio(line)  # ...and the worker is killed before recording it

    assert deliver_due(_after_the_lease(settings)) == {"sent": 1}

    assert len(twilio.messages) == 1  # no second send
    [listing] = twilio.message_lists
    assert listing.form["To"] == DANA_PHONE and listing.form["From"] == LINE_NUMBER
    assert listing.form["DateSent>"] == "2026-11-27"  # Twilio's DateSent>=, a day early
    [row] = _rows(line)
    assert (row.status, row.twilio_sid, row.attempts, row.last_error) == ("sent", sid, 2, None)


def test_a_text_twilio_does_not_have_is_sent_once(line, settings, twilio):
    _queue(line)
    _claim(line, 10)  # the worker is killed before its send reached Twilio

    assert deliver_due(_after_the_lease(settings)) == {"sent": 1}

    assert len(twilio.message_lists) == 1 and len(twilio.messages) == 1
    [row] = _rows(line)
    assert row.status == "sent" and row.twilio_sid in twilio.created


def test_identical_texts_each_take_a_message_of_their_own(line, settings, twilio):
    # Two missed calls from Riley within a minute: two identical texts to Dana.
    for _ in range(3):
        _queue(line)
    _claim(line, 10)
    first, second = _accepted_by_twilio(line), _accepted_by_twilio(line)  # the third never went

    assert deliver_due(_after_the_lease(settings)) == {"sent": 3}

    assert len(twilio.messages) == 3  # two before the crash, one after it
    sids = [row.twilio_sid for row in _rows(line)]
    assert sids[:2] == [first, second] and len(set(sids)) == 3
    assert set(sids) == set(twilio.created)


def test_a_message_another_row_recorded_is_not_taken(line, settings, twilio):
    _queue(line)
    assert deliver_due(line) == {"sent": 1}
    _queue(line)  # the same text again; its worker dies before sending it
    _claim(line, 10)

    assert deliver_due(_after_the_lease(settings)) == {"sent": 1}

    first, second = _rows(line)
    assert len(twilio.messages) == 2 and first.twilio_sid != second.twilio_sid


def test_when_twilio_cannot_list_the_text_is_sent_anyway(line, settings, twilio):
    # The decision: a missed-call text that never arrives is worse than one that arrives twice.
    _queue(line)
    _claim(line, 10)
    twilio.fail_next(Failure(500, method="GET"))

    assert deliver_due(_after_the_lease(settings)) == {"sent": 1}

    assert len(twilio.message_lists) == 1 and len(twilio.messages) == 1


def test_a_worker_whose_text_was_taken_over_does_not_send_it(line, settings, twilio):
    _queue(line)
    [slow] = _claim(line, 10)  # this worker stalls past its lease...
    assert deliver_due(_after_the_lease(settings)) == {"sent": 1}  # ...another one sends it
    assert _deliver(line, twilio_client(line), slow) == "stale"  # ...and the first one wakes
    assert len(twilio.messages) == 1


def test_a_live_send_taken_by_an_in_doubt_twin_is_sent_for_its_own_row(line, settings, twilio):
    """The rare race between identical texts: while one worker waits for Twilio's answer to a
    text, another takes that message for an identical in-doubt row. The first row's message is
    then the twin's, so the first row goes back to the queue and gets one of its own."""
    twin = _queue(line)
    assert [c.id for c in _claim(line, 1)] == [twin]  # its worker dies before sending
    live_row = _queue(line)
    live = _line_at(settings, NOW + timedelta(seconds=1))
    hold = twilio.hold_send(seconds=20)
    answers: list[dict[str, int]] = []
    sender = threading.Thread(target=lambda: answers.append(deliver_due(live)))
    sender.start()
    try:
        assert hold.held.wait(20), "the live send never reached Twilio"
        # The twin's lease runs out; the worker that takes it over finds the live send's
        # message, not recorded by anyone yet, and takes it.
        assert deliver_due(_after_the_lease(settings)) == {"sent": 1}
    finally:
        hold.release.set()
        sender.join(20)
    assert answers == [{"queued": 1}]
    assert deliver_due(live) == {"sent": 1}  # finds nothing free, and sends

    assert len(twilio.messages) == 2
    rows = {row.id: row for row in _rows(line)}
    assert rows[twin].twilio_sid != rows[live_row].twilio_sid
    assert {rows[twin].twilio_sid, rows[live_row].twilio_sid} == set(twilio.created)
    assert rows[live_row].status == rows[twin].status == "sent"


# ---- two worker processes and a SIGKILL, on PostgreSQL ------------------------------------

COACHLINE = Path(sys.executable).parent / "coachline"
LEASE_SECONDS = 4  # short, so the test does not wait a minute for the dead worker's lease
TEXTS = 30


def _wait_until(condition: Callable[[], bool], seconds: float, what: str, logs) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}\n{logs()}")
        time.sleep(0.05)


def test_a_worker_killed_mid_send_leaves_every_text_delivered_exactly_once(
    request, database_url, fake_twilio, tmp_path
):
    if not database_url.startswith("postgresql"):
        pytest.skip("workers in separate processes need PostgreSQL (FOR UPDATE SKIP LOCKED)")
    line: Line = request.getfixturevalue("line")  # empties the tables afterwards
    line.clock = lambda: datetime.now(UTC)  # the workers run on the real clock
    _no_texts_yet(line)
    # 30 missed-call texts to six therapists; two of them identical (two missed calls from one
    # client within a minute), in the first worker's batch, and its send of the first is held.
    texts = [
        (f"+1314555{200 + i % 6:04d}", f"Missed coaching call from client {i}.")
        for i in range(TEXTS)
    ]
    texts[4] = texts[5] = (DANA_PHONE, BODY)
    with line.sessions() as session, session.begin():
        for to, body in texts:
            queue_text(session, line, to_phone=to, body=body)

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TWILIO_ACCOUNT_SID": line.settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": LINE_NUMBER,
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "WORKER_POLL_SECONDS": "0.2",
        "NOTIFICATION_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    workers: dict[str, subprocess.Popen] = {}

    def start(name: str) -> subprocess.Popen:
        out = (tmp_path / f"{name}.log").open("w")
        # cwd: away from the checkout, so no .env of a developer's is read.
        workers[name] = subprocess.Popen(
            [str(COACHLINE), "worker"], env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        return workers[name]

    def logs() -> str:
        return "\n".join(
            f"--- {name} worker ---\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
            for name in workers
        )

    def all_sent() -> bool:
        return all(row.status == "sent" for row in _rows(line))

    hold = fake_twilio.hold_send(body=BODY, seconds=60)
    try:
        first = start("first")
        _wait_until(hold.held.is_set, 20, "the first worker's send is held", logs)
        # Twilio has that message; the first worker waits for the answer. A second instance
        # starts and delivers alongside it (the first is stuck, so its sends are the second's).
        held_at = len(fake_twilio.messages)
        start("second")
        _wait_until(lambda: len(fake_twilio.messages) > held_at, 20, "the second sends", logs)
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        start("restarted")
        _wait_until(all_sent, 25, "every text is sent", logs)
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)

    rows = _rows(line)
    assert all(row.status == "sent" for row in rows)  # none left sending or queued
    # Every text reached Twilio exactly once, identical ones counted as the two texts they are.
    created = fake_twilio.created.values()
    assert Counter((m["to"], m["body"]) for m in created) == Counter(texts), logs()
    assert len(fake_twilio.messages) == TEXTS, logs()
    # Each row holds a message of its own, one Twilio issued.
    sids = [row.twilio_sid for row in rows]
    assert len(set(sids)) == TEXTS and set(sids) == set(fake_twilio.created)
    # The held message (accepted, never answered) was found in Twilio's list and recorded.
    held_sid = next(m["sid"] for m in created if m["body"] == BODY)
    assert held_sid in sids and fake_twilio.message_lists, logs()
    # Asking Twilio puts phone numbers in a query; they stay out of the workers' logs.
    assert not any(to in logs() for to, _ in texts)
