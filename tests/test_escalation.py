"""A missed call nobody returned within the window is texted on, once, durably."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.escalation import escalate_unreturned
from app.line import Line
from app.models import Call, Message, OnCallShift
from app.worker import run_once
from tests.conftest import NOW

MARCUS = "+13145550112"


def missed(db, people, minutes_ago: int, **kw) -> Call:
    call = Call(
        call_sid=f"CA{minutes_ago:032d}",
        client_id=people["riley"],
        route="coaching",
        outcome="wait_script",
        started_at=NOW - timedelta(minutes=minutes_ago),
        **kw,
    )
    db.add(call)
    db.flush()
    # Dana, Riley's therapist, was told when it was missed.
    db.add(
        Message(
            direction="outbound",
            kind="notification",
            therapist_id=people["dana"],
            call_id=call.id,
            to_phone="+13145550111",
            body="Missed coaching call",
            status="sent",
        )
    )
    db.commit()
    return call


def on_call(db, therapist_id: int, hours: int = 6) -> None:
    db.add(
        OnCallShift(
            therapist_id=therapist_id,
            starts_at=NOW - timedelta(hours=hours),
            ends_at=NOW + timedelta(hours=hours),
        )
    )
    db.commit()


def escalations(db) -> list[Message]:
    db.expire_all()
    return list(db.scalars(select(Message).where(Message.kind == "escalation")))


def test_sent_once_to_the_on_call_therapist_across_runs_and_a_restart(
    db, people, line, settings, fake_twilio
):
    call = missed(db, people, minutes_ago=180)
    on_call(db, people["marcus"])
    assert escalate_unreturned(line) == 1
    [text] = escalations(db)
    assert (text.to_phone, text.kind, text.call_id) == (MARCUS, "escalation", call.id)
    assert text.body == "Riley's 6:42 PM coaching call hasn't been returned."
    assert escalate_unreturned(line) == 0  # a second run
    restarted = Line(settings)  # a new process, the same database
    restarted.clock = lambda: NOW + timedelta(minutes=5)
    assert escalate_unreturned(restarted) == 0
    run_once(restarted)
    restarted.engine.dispose()
    assert [m.form["Body"] for m in fake_twilio.messages] == [text.body]
    assert len(escalations(db)) == 1


def test_nothing_before_the_window_or_once_returned(db, people, line):
    on_call(db, people["marcus"])
    missed(db, people, minutes_ago=119)
    missed(db, people, minutes_ago=300, returned_at=NOW - timedelta(hours=1))
    assert escalate_unreturned(line) == 0
    line.clock = lambda: NOW + timedelta(minutes=1)
    assert escalate_unreturned(line) == 1  # the first is now past 2 hours


def test_the_backup_is_told_when_the_therapist_on_call_is_who_was_told(db, people, line):
    missed(db, people, minutes_ago=180)
    on_call(db, people["dana"], hours=8)
    assert escalate_unreturned(line) == 0  # nobody else: nothing sent, tried again later
    on_call(db, people["marcus"], hours=4)  # a backup shift
    assert escalate_unreturned(line) == 1
    assert escalations(db)[0].to_phone == MARCUS


def test_the_dashboards_call_back_window_decides_when(db, people, line):
    from app.models import PracticeSetting

    db.add(PracticeSetting(key="callback_window_minutes", value=30))
    db.commit()
    missed(db, people, minutes_ago=45)
    on_call(db, people["marcus"])
    assert escalate_unreturned(line) == 1
