"""Every sign of distress reaches a person: texts that raise an attention item and tell a
therapist, and a therapist who replied STOP, through signed Twilio webhooks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AttentionItem, Message, OnCallShift, Therapist
from app.notify import deliver_due
from app.worker import run_once
from ivr.codes import AttentionKind
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL
from tests.fake_twilio import Failure
from tests.test_texts import DANA, RILEY, text
from tests.twilio_driver import TwilioDriver

MARCUS = "+13145550112"


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )


def items(db) -> list[AttentionItem]:
    db.expire_all()
    return list(db.scalars(select(AttentionItem).order_by(AttentionItem.id)))


def texts_to(db, phone: str) -> list[str]:
    db.expire_all()
    rows = db.scalars(
        select(Message)
        .where(Message.to_phone == phone, Message.direction == "outbound")
        .where(Message.kind != "reply")
        .order_by(Message.id)
    )
    return [m.body for m in rows]


def marcus_on_call(db, people) -> None:
    db.add(
        OnCallShift(
            therapist_id=people["marcus"],
            starts_at=NOW - timedelta(hours=2),
            ends_at=NOW + timedelta(hours=10),
        )
    )
    db.commit()


def test_an_urge_of_5_raises_an_item_and_tells_the_therapist(driver, db, people):
    text(driver, "check-in")
    reply = text(driver, "5")
    assert reply is not None and "your care team knows" in reply and "988" in reply
    [item] = items(db)
    assert (item.kind, item.client_id, item.therapist_id) == (
        AttentionKind.HIGH_URGE,
        people["riley"],
        people["dana"],
    )
    assert db.get(Message, item.message_id).body == "5"
    assert texts_to(db, DANA) == [
        "Riley answered a check-in on the coaching line and may need support."
    ]


@pytest.mark.parametrize("rating", ["0", "3"])
def test_a_lower_urge_raises_nothing(driver, db, people, rating):
    text(driver, "check-in")
    text(driver, rating)
    assert items(db) == [] and texts_to(db, DANA) == []


def test_a_plea_for_contact_is_answered_raised_and_told(driver, db, people):
    reply = text(driver, "I'm really struggling tonight, can someone call me")
    assert reply is not None
    assert reply.startswith("Thank you for reaching out. We have let your coach know")
    assert "988" in reply and "911" in reply
    [item] = items(db)
    assert (item.kind, item.therapist_id) == (AttentionKind.CONTACT_PLEA, people["dana"])
    assert texts_to(db, DANA) == ["Riley texted the coaching line and asked for a call."]


def test_crisis_words_raise_an_item_as_well_as_the_text(driver, db, people):
    text(driver, "I want to kill myself")
    [item] = items(db)
    assert item.kind == AttentionKind.CRISIS_TEXT
    assert texts_to(db, DANA) == ["Riley texted the line and may need support."]


def test_a_retried_text_raises_nothing_twice(driver, db, people):
    result = driver.sms(from_=RILEY, body="please call me")
    again = driver.replay(result.exchanges[0])
    assert again.status_code == 200
    assert len(items(db)) == 1 and len(texts_to(db, DANA)) == 1


def test_an_opted_out_clients_plea_still_reaches_a_therapist(driver, db, people):
    assert text(driver, "STOP") is None
    assert text(driver, "can someone call me") is None  # no reply: they opted out
    assert [i.kind for i in items(db)] == [AttentionKind.CONTACT_PLEA]
    assert texts_to(db, DANA) == ["Riley texted the coaching line and asked for a call."]


def test_a_therapist_who_replies_stop_is_recorded_and_their_alerts_go_to_the_one_on_call(
    driver, db, people
):
    marcus_on_call(db, people)
    assert text(driver, "STOP", sender=DANA) is None
    db.expire_all()
    assert db.get(Therapist, people["dana"]).sms_opted_out is True
    [unreachable] = items(db)
    assert (unreachable.kind, unreachable.therapist_id, unreachable.alerted_id) == (
        AttentionKind.THERAPIST_UNREACHABLE,
        people["dana"],
        people["marcus"],
    )
    assert texts_to(db, MARCUS) == [
        "Dana replied STOP to the coaching line, which can't text them now. Their alerts "
        "come to whoever is on call until they text START."
    ]
    # Riley's plea now goes to Marcus, who is on call; nothing is queued to Dana.
    text(driver, "please call me")
    assert texts_to(db, MARCUS)[-1] == "Riley texted the coaching line and asked for a call."
    assert texts_to(db, DANA) == []
    plea = items(db)[-1]
    assert (plea.kind, plea.therapist_id) == (AttentionKind.CONTACT_PLEA, people["marcus"])

    # START: recorded, the item closed, and Dana is texted again.
    text(driver, "START", sender=DANA)
    db.expire_all()
    assert db.get(Therapist, people["dana"]).sms_opted_out is False
    closed = db.get(AttentionItem, unreachable.id)
    assert closed.acknowledged_at == NOW and closed.acknowledged_by == (
        f"sms:therapist:{people['dana']}"
    )
    text(driver, "can you call me")
    assert texts_to(db, DANA) == ["Riley texted the coaching line and asked for a call."]


def test_twilio_refusing_a_therapist_with_21610_marks_them_and_tells_the_one_on_call(
    driver, db, people, line, fake_twilio
):
    marcus_on_call(db, people)
    text(driver, "please call me")  # told to Dana
    fake_twilio.fail_next(Failure(400, code=21610, message="Attempt to send to unsubscribed"))
    assert deliver_due(line) == {"failed": 1}
    db.expire_all()
    assert db.get(Therapist, people["dana"]).sms_opted_out is True
    run_once(line)  # the worker's next pass
    kinds = [i.kind for i in items(db)]
    assert kinds == [AttentionKind.CONTACT_PLEA, AttentionKind.THERAPIST_UNREACHABLE]
    # Marcus hears that Dana can't be texted, and of the plea Dana never got.
    assert texts_to(db, MARCUS) == [
        "Dana replied STOP to the coaching line, which can't text them now. Their alerts "
        "come to whoever is on call until they text START.",
        "Riley's 9:42 PM request for a call on the coaching line needs a follow-up.",
    ]
