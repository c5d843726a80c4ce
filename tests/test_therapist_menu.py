"""A therapist calls the line: missed calls, call-backs that hide their number, and recording
a self-harm event from the keypad. Played through the Twilio driver."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AuditEntry, Call, Lockout
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL, THERAPIST_PIN
from tests.twilio_driver import NO_ANSWER, Leg, Scenario, TwilioDriver

PIN = THERAPIST_PIN + "#"
RILEY = "+13145550142"
JORDAN = "+13145550143"
DANA = "+13145550111"
MARCUS = "+13145550112"


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )


def missed_call(driver: TwilioDriver, line, caller: str = RILEY, minutes_ago: int = 0) -> str:
    line.clock = lambda: NOW - timedelta(minutes=minutes_ago)
    result = driver.call(from_=caller, scenario=Scenario(default_leg=NO_ANSWER))
    line.clock = lambda: NOW
    assert "has been told you called" in result.text
    return result.call_sid


def calls(db) -> list[Call]:
    db.expire_all()
    return list(db.scalars(select(Call).order_by(Call.id)))


def test_a_therapist_is_recognised_and_calls_the_client_back_through_the_line(
    driver, db, people, line
):
    missed_call(driver, line, minutes_ago=20)
    result = driver.call(
        from_=DANA, scenario=Scenario(digits=[PIN, "1"], legs={RILEY: Leg.accept()})
    )
    assert result.said[0] == "Enter your PIN, then press pound."  # before anything about clients
    assert result.said[1] == (
        "You have 1 missed coaching call. Press 1 to call back Riley, who called at 9:22 PM. "
        "Press 3 to record a self-harm event for Riley. Press 9 to hear this again."
    )
    assert "Connecting you to a coach" not in result.text  # never the client flow
    [dial] = result.dials
    assert dial.number == RILEY and dial.caller_id == LINE_NUMBER  # the client sees the line
    assert result.bridged_number == RILEY
    assert "Your call with Riley has ended, and it is marked returned." in result.text
    assert "You have no missed coaching calls waiting." in result.text
    missed, therapist_call = calls(db)
    assert missed.returned_at == NOW and missed.returned_by == people["dana"]
    assert (therapist_call.route, therapist_call.outcome) == ("therapist", "returned")


def test_two_missed_calls_and_press_2_for_the_next(driver, db, people, line):
    from app.models import OnCallShift

    # Marcus is on call, so he is told of Jordan's missed call too, and hears both.
    db.add(
        OnCallShift(
            therapist_id=people["marcus"],
            starts_at=NOW - timedelta(hours=3),
            ends_at=NOW + timedelta(hours=3),
        )
    )
    db.commit()
    missed_call(driver, line, JORDAN, minutes_ago=50)
    result = driver.call(from_=MARCUS, scenario=Scenario(digits=[PIN, "2", "9"]))
    assert result.said[1].startswith("You have 1 missed coaching call. Press 1 to call back Jordan")
    from app.models import Therapist

    db.get(Therapist, people["dana"]).away_until = NOW + timedelta(days=1)
    db.commit()
    missed_call(driver, line, RILEY, minutes_ago=10)  # Dana is away: Marcus is rung and told
    result = driver.call(from_=MARCUS, scenario=Scenario(digits=[PIN, "2", None]))
    assert result.said[1].startswith(
        "You have 2 missed coaching calls. Press 1 to call back Jordan"
    )
    assert "Press 2 for the next" in result.said[1]
    assert result.said[2].startswith("Press 1 to call back Riley, who called at 9:32 PM")
    assert result.said[-1] == "Goodbye."


def test_client_who_does_not_answer_stays_waiting(driver, db, people, line):
    missed_call(driver, line)
    result = driver.call(
        from_=DANA, scenario=Scenario(digits=[PIN, "1", None], legs={RILEY: NO_ANSWER})
    )
    assert "Riley didn't answer. The missed call is still waiting for a call-back." in result.text
    assert result.said[-2].startswith("You have 1 missed coaching call.")  # back to the menu
    assert calls(db)[0].returned_at is None


def test_recording_a_self_harm_event_from_the_menu(driver, db, people, line):
    missed_call(driver, line)
    result = driver.call(from_=DANA, scenario=Scenario(digits=[PIN, "3", "2130#", "1", None]))
    assert "enter the time it happened as four digits" in result.said[2]
    assert result.said[3] == (
        "Press 1 to start the 24-hour rule for Riley, from today at 9:30 PM until tomorrow at "
        "9:30 PM. Press 2 to cancel."
    )
    assert "Recorded. The 24-hour rule for Riley runs until tomorrow at 9:30 PM." in result.text
    db.expire_all()
    lockout = db.scalar(select(Lockout))
    assert lockout.client_id == people["riley"]
    assert lockout.starts_at == NOW - timedelta(minutes=12)
    assert lockout.ends_at == lockout.starts_at + timedelta(hours=24)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.entity == "lockout"))
    assert entry.actor == f"voice:therapist:{people['dana']}"
    # and Riley's next call hears the 24-hour rule
    after = driver.call(from_=RILEY)
    assert "Phone coaching isn't available on this line right now." in after.text


@pytest.mark.parametrize(
    "keys, said",
    [
        (["3", "*#", "2"], "Cancelled. Nothing was recorded."),
        (["3", "9999#", None], "wasn't a time I understood"),
    ],
)
def test_cancelled_or_bad_time_records_nothing(driver, db, people, line, keys, said):
    missed_call(driver, line)
    result = driver.call(from_=DANA, scenario=Scenario(digits=[PIN, *keys]))
    assert said in result.text
    db.expire_all()
    assert db.scalar(select(Lockout)) is None


def test_a_client_calling_while_being_called_back_is_not_put_through_twice(
    driver, db, people, line
):
    missed_call(driver, line)
    heard = []

    def riley_calls_the_line(number: str) -> None:
        heard.append(driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER)))

    driver.call(
        from_=DANA,
        scenario=Scenario(
            digits=[PIN, "1", None], legs={RILEY: NO_ANSWER}, while_ringing=riley_calls_the_line
        ),
    )
    [while_ringing] = heard
    assert while_ringing.said[0].startswith("Your coach is calling you back right now.")
    assert "call or text 9 8 8" in while_ringing.text
    assert not while_ringing.dials
    # Once the call-back has ended (unanswered), Riley's next call rings Dana as usual.
    after = driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert after.bridged_number == DANA


def test_a_forged_menu_step_from_a_client_phone_gets_nothing(driver, people):
    response = driver.post(
        "/twilio/voice/therapist/choice?i=0",
        {"CallSid": "CA" + "1" * 32, "From": RILEY, "Digits": "1"},
    )
    assert response.status_code == 200
    assert "<Dial" not in response.text and "9 8 8" in response.text


def test_a_therapist_who_left_the_practice_hears_no_menu(driver, db, people):
    """An inactive therapist's number is a caller the line does not know: the crisis
    resources, no list of clients waiting, no call record with their name on it."""
    from app.models import Therapist

    db.get(Therapist, people["dana"]).active = False
    db.commit()
    result = driver.call(from_=DANA)
    assert "This is the coaching line of" in result.text and "9 8 8" in result.text
    assert "missed" not in result.text.lower() and "Riley" not in result.text
    db.expire_all()
    (call,) = calls(db)
    assert (call.route, call.therapist_id) == ("unknown_caller", None)
