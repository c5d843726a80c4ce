"""A missed call is returned only when a person was reached, and belongs to everyone it
alerted. Played through the Twilio driver: answering-machine detection on the call-back,
a call-back that never rang, a later call a coach took, and whose menu offers the call.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AttentionItem, Call, OnCallShift, Therapist
from tests.conftest import (
    AUTH_TOKEN,
    LINE_NUMBER,
    NOW,
    PIN_HASH,
    PUBLIC_BASE_URL,
    THERAPIST_PIN,
)
from tests.twilio_driver import (
    HANGUP,
    NO_ANSWER,
    VOICEMAIL,
    CallerHangup,
    Leg,
    Scenario,
    TwilioDriver,
)

PIN = THERAPIST_PIN + "#"
RILEY = "+13145550142"
JORDAN = "+13145550143"
DANA = "+13145550111"
MARCUS = "+13145550112"
SAM = "+13145550113"
STILL_WAITING = "The missed call is still waiting for a call-back."
NOBODY_WAITING = "You have no missed coaching calls waiting."


def _driver(http, status_callbacks: bool) -> TwilioDriver:
    return TwilioDriver(
        http,
        auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        line_number=LINE_NUMBER,
        status_callback_path="/twilio/voice/status" if status_callbacks else None,
    )


@pytest.fixture
def driver(http) -> TwilioDriver:
    """Twilio as the line configures it: the number's status callback tells of every end."""
    return _driver(http, status_callbacks=True)


@pytest.fixture
def sam(db) -> int:
    """A third therapist, with no clients of their own."""
    therapist = Therapist(name="Sam Okafor", phone=SAM, pin_hash=PIN_HASH)
    db.add(therapist)
    db.commit()
    return therapist.id


def missed_call(driver: TwilioDriver, line, caller: str = RILEY, minutes_ago: int = 0) -> Call:
    line.clock = lambda: NOW - timedelta(minutes=minutes_ago)
    result = driver.call(from_=caller, scenario=Scenario(default_leg=NO_ANSWER))
    line.clock = lambda: NOW
    assert "has been told you called" in result.text
    return call_row(line, result.call_sid)


def call_row(line, call_sid: str) -> Call:
    with line.sessions() as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        assert call is not None
        return call


def missed_item(line, call: Call) -> AttentionItem:
    with line.sessions() as session:
        item = session.scalar(
            select(AttentionItem).where(
                AttentionItem.call_id == call.id, AttentionItem.kind == "missed_call"
            )
        )
        assert item is not None
        return item


def put_on_call(db, therapist_id: int) -> None:
    db.add(
        OnCallShift(
            therapist_id=therapist_id,
            starts_at=NOW - timedelta(hours=3),
            ends_at=NOW + timedelta(hours=3),
        )
    )
    db.commit()


# ------------------------------------------------------- returned means a person was reached


@pytest.mark.parametrize(
    "leg, heard",
    [
        (VOICEMAIL, "Riley's voicemail answered."),
        (Leg.voicemail(answered_by="machine_end_silence"), "Riley's voicemail answered."),
        (Leg.voicemail(answered_by="fax"), "A fax machine answered."),
    ],
)
def test_a_call_back_a_machine_answers_leaves_the_missed_call_waiting(
    driver, line, people, leg, heard
):
    missed = missed_call(driver, line, minutes_ago=20)
    result = driver.call(from_=DANA, scenario=Scenario(digits=[PIN, "1", None], legs={RILEY: leg}))
    assert f"{heard} {STILL_WAITING}" in result.text
    assert "marked returned" not in result.text
    [dial] = result.dials
    assert not result.bridged_to_machine and dial.leg.end == HANGUP  # Dana never hears it
    assert result.said[-2].startswith("You have 1 missed coaching call. Press 1 to call back Riley")
    assert call_row(line, missed.call_sid).returned_at is None
    assert missed_item(line, missed).acknowledged_at is None
    therapist_call = call_row(line, result.call_sid)
    assert therapist_call.outcome == "not_reached"
    assert therapist_call.answered_by == dial.answered_by


def test_a_person_who_answers_the_call_back_returns_every_missed_call_and_its_item(
    driver, line, people
):
    earlier = missed_call(driver, line, minutes_ago=40)
    later = missed_call(driver, line, minutes_ago=10)
    result = driver.call(
        from_=DANA, scenario=Scenario(digits=[PIN, "1"], legs={RILEY: Leg.accept()})
    )
    [dial] = result.dials
    assert dial.number_attributes["machineDetection"] == "Enable"
    assert dial.number_attributes["amdStatusCallback"]  # Twilio warns 21262 without it
    assert dial.answered_by == "human" and result.bridged_number == RILEY
    assert "Your call with Riley has ended, and it is marked returned." in result.text
    assert NOBODY_WAITING in result.text
    for missed in (earlier, later):
        row = call_row(line, missed.call_sid)
        assert (row.returned_at, row.returned_by) == (NOW, people["dana"])
        item = missed_item(line, missed)
        assert item.acknowledged_at == NOW
        assert item.acknowledged_by == f"voice:therapist:{people['dana']}"
    therapist_call = call_row(line, result.call_sid)
    assert (therapist_call.outcome, therapist_call.answered_by) == ("returned", "human")


@pytest.mark.parametrize(
    "answer, returned",
    [("1", True), ("2", False), (None, False)],
)
def test_when_detection_cannot_tell_who_answered_the_therapist_is_asked(
    driver, line, people, answer, returned
):
    missed = missed_call(driver, line)
    riley = Leg.accept(answered_by="unknown")  # Riley said nothing detection could place
    result = driver.call(
        from_=DANA, scenario=Scenario(digits=[PIN, "1", answer, None], legs={RILEY: riley})
    )
    assert result.bridged_number == RILEY
    assert "Did you speak with Riley? Press 1 for yes, 2 for no." in result.said
    row = call_row(line, missed.call_sid)
    if returned:
        assert "Thank you. Riley's missed call is marked returned." in result.text
        assert NOBODY_WAITING in result.text
        assert (row.returned_at, row.returned_by) == (NOW, people["dana"])
        assert missed_item(line, missed).acknowledged_at == NOW
    else:
        assert STILL_WAITING in result.text and "marked returned" not in result.text
        assert row.returned_at is None
        assert missed_item(line, missed).acknowledged_at is None


def test_a_therapist_who_hangs_up_during_an_unknown_answer_leaves_it_waiting(driver, line, people):
    missed = missed_call(driver, line)
    riley = Leg.accept(answered_by="unknown")
    driver.call(
        from_=DANA,
        scenario=Scenario(
            digits=[PIN, "1"], legs={RILEY: riley}, caller_hangup=CallerHangup(1, "bridged")
        ),
    )
    assert call_row(line, missed.call_sid).returned_at is None  # nobody said they spoke


# --------------------------------------- "being called back" lasts only while it may ring


def test_a_call_back_abandoned_before_it_rang_leaves_the_client_free_two_minutes_later(
    http, line, people
):
    """Dana presses 1 and hangs up before the Dial runs. Even unheard of (no status
    callback), the call-back stops counting once its ring time is past."""
    driver = _driver(http, status_callbacks=False)
    missed_call(driver, line, minutes_ago=5)
    abandoned = driver.call(
        from_=DANA, scenario=Scenario(digits=[PIN, "1"], caller_hangup=CallerHangup(1, "before"))
    )
    assert not abandoned.dials
    therapist_call = call_row(line, abandoned.call_sid)
    assert (therapist_call.outcome, therapist_call.call_back_started_at) == ("calling_back", NOW)
    line.clock = lambda: NOW + timedelta(minutes=2)
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert "calling you back" not in result.text
    assert [d.number for d in result.dials] == [DANA] and result.bridged_number == DANA


def test_a_call_back_whose_call_ended_leaves_the_client_free_at_once(driver, line, people):
    """The same, with Twilio's status callback for Dana's call: Riley is rung seconds later."""
    missed_call(driver, line, minutes_ago=5)
    abandoned = driver.call(
        from_=DANA, scenario=Scenario(digits=[PIN, "1"], caller_hangup=CallerHangup(1, "before"))
    )
    assert call_row(line, abandoned.call_sid).ended_at == NOW
    line.clock = lambda: NOW + timedelta(seconds=10)
    result = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert "calling you back" not in result.text
    assert result.bridged_number == DANA


# ------------------------------------------ a later call a coach takes closes missed calls


def test_a_later_call_a_coach_takes_returns_the_earlier_missed_calls(driver, db, line, people):
    put_on_call(db, people["marcus"])
    db.get(Therapist, people["dana"]).away_until = NOW + timedelta(days=1)
    db.commit()
    earlier = missed_call(driver, line, minutes_ago=45)
    later = missed_call(driver, line, minutes_ago=15)
    jordans = missed_call(driver, line, JORDAN, minutes_ago=30)
    result = driver.call(from_=RILEY, scenario=Scenario(legs={MARCUS: Leg.accept()}))
    assert result.bridged_number == MARCUS
    for missed in (earlier, later):
        row = call_row(line, missed.call_sid)
        assert (row.returned_at, row.returned_by) == (NOW, people["marcus"])
        item = missed_item(line, missed)
        assert item.acknowledged_at == NOW
        assert item.acknowledged_by == f"voice:therapist:{people['marcus']}"
    assert call_row(line, jordans.call_sid).returned_at is None  # another client's call
    assert missed_item(line, jordans).acknowledged_at is None
    menu = driver.call(from_=MARCUS, scenario=Scenario(digits=[PIN, None]))
    assert menu.said[1].startswith("You have 1 missed coaching call. Press 1 to call back Jordan")


def test_a_later_call_nobody_takes_closes_nothing(driver, line, people):
    missed = missed_call(driver, line, minutes_ago=30)
    again = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept("2")}))
    assert not again.bridged  # Dana declined on screening
    assert call_row(line, missed.call_sid).returned_at is None
    assert missed_item(line, missed).acknowledged_at is None


# --------------------------------------------- the call-back menu of everyone it alerted


def test_the_on_call_therapist_who_was_rung_hears_the_missed_call(driver, db, line, people, sam):
    """Dana and then Sam (on call) are rung; only Dana is texted. Sam can call Riley back."""
    put_on_call(db, sam)
    missed = missed_call(driver, line, minutes_ago=10)
    assert call_row(line, missed.call_sid).therapist_id == sam
    result = driver.call(
        from_=SAM, scenario=Scenario(digits=[PIN, "1"], legs={RILEY: Leg.accept()})
    )
    assert result.said[1].startswith("You have 1 missed coaching call. Press 1 to call back Riley")
    assert result.bridged_number == RILEY
    row = call_row(line, missed.call_sid)
    assert (row.returned_at, row.returned_by) == (NOW, sam)


def test_the_on_call_therapist_who_was_texted_hears_the_missed_call(driver, db, line, people, sam):
    """Dana replied STOP to the line, so Sam (on call) is texted of the call Riley hung up on
    while Dana's phone rang: Sam was never rung."""
    put_on_call(db, sam)
    db.get(Therapist, people["dana"]).sms_opted_out = True
    db.commit()
    hung_up = driver.call(
        from_=RILEY,
        scenario=Scenario(legs={DANA: NO_ANSWER}, caller_hangup=CallerHangup(1, "ringing")),
    )
    assert call_row(line, hung_up.call_sid).therapist_id == people["dana"]
    result = driver.call(from_=SAM, scenario=Scenario(digits=[PIN, None]))
    assert result.said[1].startswith("You have 1 missed coaching call. Press 1 to call back Riley")


def test_the_therapist_a_missed_call_escalated_to_hears_it(driver, db, line, people, sam):
    missed = missed_call(driver, line, minutes_ago=40)
    item = db.get(AttentionItem, missed_item(line, missed).id)
    item.escalations, item.escalated_at, item.escalated_to_id = 1, NOW, sam  # as escalation does
    db.commit()
    result = driver.call(from_=SAM, scenario=Scenario(digits=[PIN, None]))
    assert result.said[1].startswith("You have 1 missed coaching call. Press 1 to call back Riley")


def test_a_therapist_the_missed_call_never_alerted_does_not_hear_it(driver, line, people, sam):
    missed_call(driver, line, minutes_ago=10)  # Dana is rung and told; nobody else
    for phone in (SAM, MARCUS):
        result = driver.call(from_=phone, scenario=Scenario(digits=[PIN]))
        assert result.said[1].startswith(NOBODY_WAITING)
        assert "Riley" not in result.text
    # and Sam cannot call Riley back by forging the menu's step
    forged = driver.post(
        "/twilio/voice/therapist/choice?i=0",
        {"CallSid": "CA" + "5" * 32, "From": SAM, "Digits": "1"},
    )
    assert "<Dial" not in forged.text
