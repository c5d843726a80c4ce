"""An attention item nobody acknowledged within the window goes further, once per stage,
durably: to the one on call, then to the practice's admin phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import attention
from app.escalation import escalate_due
from app.line import Line
from app.models import AttentionItem, Call, Message, OnCallShift, PracticeSetting, Therapist
from app.worker import run_once
from ivr.codes import AttentionKind
from tests.conftest import NOW

DANA = "+13145550111"
MARCUS = "+13145550112"
ADMIN = "+13145550199"


def missed(db, people, minutes_ago: int, **kw) -> Call:
    """A missed call of Riley's, and its item, told to Dana (Riley's therapist)."""
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
    db.add(item(people, AttentionKind.MISSED_CALL, minutes_ago, call_id=call.id))
    db.commit()
    return call


def item(people, kind: AttentionKind, minutes_ago: int, **kw) -> AttentionItem:
    values = {
        "client_id": people["riley"],
        "therapist_id": people["dana"],
        "alerted_id": people["dana"],
        "created_at": NOW - timedelta(minutes=minutes_ago),
        "escalations": 0,
    }
    return AttentionItem(kind=kind, **{**values, **kw})


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
    return list(
        db.scalars(select(Message).where(Message.kind == "escalation").order_by(Message.id))
    )


def set_admin_phone(db) -> None:
    db.add(PracticeSetting(key="admin_phone", value=ADMIN))
    db.commit()


def test_sent_once_to_the_on_call_therapist_across_runs_and_a_restart(
    db, people, line, settings, fake_twilio
):
    call = missed(db, people, minutes_ago=180)
    on_call(db, people["marcus"])
    assert escalate_due(line) == 1
    [text] = escalations(db)
    assert (text.to_phone, text.kind, text.call_id) == (MARCUS, "escalation", call.id)
    assert text.body == "Riley's 6:42 PM coaching call hasn't been returned."
    assert escalate_due(line) == 0  # a second run
    restarted = Line(settings)  # a new process, the same database
    restarted.clock = lambda: NOW + timedelta(minutes=5)
    assert escalate_due(restarted) == 0
    run_once(restarted)
    restarted.engine.dispose()
    assert [m.form["Body"] for m in fake_twilio.messages] == [text.body]
    assert len(escalations(db)) == 1
    db.expire_all()
    escalated = db.scalar(select(AttentionItem))
    assert (escalated.escalations, escalated.escalated_to_id) == (1, people["marcus"])
    assert db.get(Call, call.id).escalated_at is not None


def test_nothing_before_the_window_or_once_acknowledged(db, people, line):
    on_call(db, people["marcus"])
    missed(db, people, minutes_ago=119)
    handled = item(people, AttentionKind.CONTACT_PLEA, 300, acknowledged_at=NOW)
    db.add(handled)
    db.commit()
    assert escalate_due(line) == 0
    line.clock = lambda: NOW + timedelta(minutes=1)
    assert escalate_due(line) == 1  # the first is now past 2 hours


def test_the_backup_is_told_when_the_therapist_on_call_is_who_was_told(db, people, line):
    missed(db, people, minutes_ago=180)
    on_call(db, people["dana"], hours=8)
    assert escalate_due(line) == 0  # nobody else, no admin phone: nothing sent, tried later
    on_call(db, people["marcus"], hours=4)  # a backup shift
    assert escalate_due(line) == 1
    assert escalations(db)[0].to_phone == MARCUS


def test_the_dashboards_call_back_window_decides_when(db, people, line):
    db.add(PracticeSetting(key="callback_window_minutes", value=30))
    db.commit()
    missed(db, people, minutes_ago=45)
    on_call(db, people["marcus"])
    assert escalate_due(line) == 1


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        (AttentionKind.VOICE_MESSAGE, "Riley's 6:42 PM voice message on the coaching line"),
        (AttentionKind.CRISIS_TEXT, "Riley's 6:42 PM text on the coaching line"),
        (AttentionKind.HIGH_URGE, "Riley's 6:42 PM check-in on the coaching line"),
        (AttentionKind.CONTACT_PLEA, "Riley's 6:42 PM request for a call on the coaching line"),
    ],
)
def test_every_kind_escalates_to_the_one_on_call_then_the_admin_phone(db, people, line, kind, body):
    db.add(item(people, kind, 180))
    db.commit()
    on_call(db, people["marcus"])
    set_admin_phone(db)
    assert escalate_due(line) == 1
    assert [(m.to_phone, m.body) for m in escalations(db)] == [
        (MARCUS, body + " needs a follow-up.")
    ]
    assert escalate_due(line) == 0  # the next stage waits a whole window
    line.clock = lambda: NOW + timedelta(minutes=120)
    assert escalate_due(line) == 1
    assert [m.to_phone for m in escalations(db)] == [MARCUS, ADMIN]
    line.clock = lambda: NOW + timedelta(minutes=600)
    assert escalate_due(line) == 0  # nowhere further to go; it stays on the dashboard


def test_with_nobody_else_on_call_it_goes_to_the_admin_phone(db, people, line):
    missed(db, people, minutes_ago=180)
    set_admin_phone(db)
    assert escalate_due(line) == 1
    [text] = escalations(db)
    assert (text.to_phone, text.therapist_id) == (ADMIN, None)


def test_a_therapist_who_replied_stop_is_raised_and_their_alert_goes_on_at_once(db, people, line):
    """A 21610 refusal marks Dana (the delivery worker); the next pass raises the item,
    tells the one on call, and sends on the missed call Dana could not be told of."""
    missed(db, people, minutes_ago=5)  # well inside the window
    on_call(db, people["marcus"])
    db.get(Therapist, people["dana"]).sms_opted_out = True
    db.commit()
    assert escalate_due(line) == 1
    db.expire_all()
    unreachable = db.scalar(
        select(AttentionItem).where(AttentionItem.kind == AttentionKind.THERAPIST_UNREACHABLE)
    )
    assert (unreachable.therapist_id, unreachable.alerted_id) == (people["dana"], people["marcus"])
    told = db.scalars(select(Message).where(Message.to_phone == MARCUS).order_by(Message.id))
    assert [m.body for m in told] == [
        "Dana replied STOP to the coaching line, which can't text them now. Their alerts come "
        "to whoever is on call until they text START.",
        "Riley's 9:37 PM coaching call hasn't been returned.",
    ]
    assert escalate_due(line) == 0  # raised once while open
    with line.sessions() as session, session.begin():
        assert attention.raise_unreachable_all(session, line, NOW) == 0
