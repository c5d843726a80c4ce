"""Caller ID is a claim, not an identity: a therapist's number opens the phone menu and
confirms a LOCK by text only with their PIN. Played through the Twilio driver; a faked
therapist number without the PIN changes nothing and hears or reads nothing about clients.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AttentionItem, AuditEntry, Call, Lockout, Message, Therapist
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, NOW, PUBLIC_BASE_URL, THERAPIST_PIN
from tests.twilio_driver import NO_ANSWER, Leg, Scenario, TwilioDriver

PIN = THERAPIST_PIN + "#"
RILEY = "+13145550142"
DANA = "+13145550111"
SAM = "+13145550113"
ASK = "Enter your PIN, then press pound."
WRONG_TEXT = "That PIN is not right. Nothing was recorded."
THERAPIST_STEPS = ("/menu", "/choice", "/event-time", "/event-confirm", "/callback-confirm")


@pytest.fixture
def driver(http) -> TwilioDriver:
    return TwilioDriver(
        http,
        auth_token=AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
        line_number=LINE_NUMBER,
        status_callback_path="/twilio/voice/status",
    )


def missed_call(driver: TwilioDriver, line) -> str:
    line.clock = lambda: NOW - timedelta(minutes=20)
    result = driver.call(from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER))
    line.clock = lambda: NOW
    return result.call_sid


def dana(db) -> Therapist:
    db.expire_all()
    therapist = db.scalar(select(Therapist).where(Therapist.phone == DANA))
    assert therapist is not None
    return therapist


def call_row(db, call_sid: str) -> Call:
    db.expire_all()
    call = db.scalar(select(Call).where(Call.call_sid == call_sid))
    assert call is not None
    return call


def nothing_changed(db, missed_sid: str) -> None:
    """No lockout recorded, the missed call still waiting."""
    assert db.scalar(select(Lockout)) is None
    assert call_row(db, missed_sid).returned_at is None


def text(driver: TwilioDriver, body: str, sender: str = DANA) -> str:
    [reply] = driver.sms(from_=sender, body=body).replies
    return reply.body


# ---- the phone menu -------------------------------------------------------------------------


def test_a_faked_therapist_number_without_the_pin_hears_nothing_about_clients(driver, db, people):
    missed = missed_call(driver, driver_line(driver))
    result = driver.call(from_=DANA, scenario=Scenario(digits=["0000#", "1111#", "1", "3"]))
    assert result.said[0] == ASK
    assert result.said[1] == "That PIN is not right. " + ASK  # one more try
    assert result.said[2].startswith("That PIN is not right. Goodbye. If you are in crisis")
    assert "9 8 8" in result.text and result.end == "hangup"
    assert "Riley" not in result.text and "missed" not in result.text.lower()
    assert not result.dials
    nothing_changed(db, missed)
    call = call_row(db, result.call_sid)
    assert (call.route, call.outcome, call.answered_at) == ("therapist", "no_pin", None)
    assert dana(db).pin_failures == 2


def driver_line(driver: TwilioDriver):
    return driver.client.app.state.line


def test_silence_at_the_pin_prompt_ends_the_call_with_nothing_said_of_clients(driver, people):
    missed_call(driver, driver_line(driver))
    result = driver.call(from_=DANA, scenario=Scenario(digits=[None]))
    assert result.said == [ASK, "No PIN was entered. Goodbye."]
    assert "Riley" not in result.text


def test_a_wrong_pin_then_the_right_one_opens_the_menu_and_resets_the_count(driver, db, people):
    missed_call(driver, driver_line(driver))
    result = driver.call(from_=DANA, scenario=Scenario(digits=["9999#", PIN, None]))
    assert result.said[1] == "That PIN is not right. " + ASK
    assert result.said[2].startswith("You have 1 missed coaching call. Press 1 to call back Riley")
    assert dana(db).pin_failures == 0
    call = call_row(db, result.call_sid)
    assert (call.outcome, call.answered_at) == ("menu", NOW)  # answered_at: the PIN accepted


@pytest.mark.parametrize("path", THERAPIST_STEPS)
def test_menu_steps_posted_without_a_pin_verified_call_refuse(driver, db, people, path):
    missed = missed_call(driver, driver_line(driver))
    asked = driver.call(from_=DANA, scenario=Scenario(digits=[None]))  # no PIN given
    riley = people["riley"]
    at = int((NOW - timedelta(minutes=5)).timestamp())
    query = f"?i=0&client={riley}&at={at}"
    for call_sid in (asked.call_sid, "CA" + "3" * 32):  # the call that gave none; one unknown
        response = driver.post(
            f"/twilio/voice/therapist{path}{query}",
            {"CallSid": call_sid, "From": DANA, "Digits": "1" if path != "/event-time" else "*"},
        )
        assert response.status_code == 200
        assert "9 8 8" in response.text
        assert "Riley" not in response.text and "<Dial" not in response.text
    nothing_changed(db, missed)


def test_a_call_back_for_a_call_without_the_pin_is_never_put_through(driver, db, people):
    asked = driver.call(from_=DANA, scenario=Scenario(digits=[None]))
    response = driver.post(
        f"/twilio/voice/therapist/callback-answered?parent={asked.call_sid}",
        {"CallSid": "CA" + "4" * 32, "From": LINE_NUMBER, "AnsweredBy": "human"},
    )
    assert "<Hangup" in response.text
    assert call_row(db, asked.call_sid).answered_by is None


def test_a_pin_accepted_on_one_call_does_not_open_another(driver, db, people):
    missed = missed_call(driver, driver_line(driver))
    driver.call(from_=DANA, scenario=Scenario(digits=[PIN, None]))  # a real, verified call
    forged = driver.post(
        "/twilio/voice/therapist/choice?i=0",
        {"CallSid": "CA" + "6" * 32, "From": DANA, "Digits": "1"},
    )
    assert "<Dial" not in forged.text and "Riley" not in forged.text
    nothing_changed(db, missed)


def test_a_therapist_without_a_pin_hears_how_to_set_one_and_nothing_else(driver, db, people):
    db.add(Therapist(name="Sam Okafor", phone=SAM))
    db.commit()
    result = driver.call(from_=SAM, scenario=Scenario(digits=[PIN]))
    assert result.said[0].startswith(
        "This phone menu needs a PIN. Set one on the coachline dashboard, or ask the practice "
        "admin to set one with coachline set-pin. Goodbye."
    )
    assert "9 8 8" in result.text and not result.gathers and "missed" not in result.text


def test_five_wrong_pins_lock_the_menu_for_15_minutes_and_raise_an_item(driver, db, people):
    missed = missed_call(driver, driver_line(driver))
    for _ in range(2):  # two calls of two wrong PINs
        driver.call(from_=DANA, scenario=Scenario(digits=["1111#", "2222#"]))
    assert dana(db).pin_failures == 4 and dana(db).pin_locked_until is None
    fifth = driver.call(from_=DANA, scenario=Scenario(digits=["3333#"]))
    assert fifth.said[1].startswith(
        "After too many wrong PINs, the phone menu is locked for 15 minutes."
    )
    assert "Riley" not in fifth.text and "9 8 8" in fifth.text
    assert dana(db).pin_locked_until == NOW + timedelta(minutes=15)
    [item] = db.scalars(select(AttentionItem)).all()[1:]  # after the missed call's
    assert (item.kind, item.therapist_id, item.client_id) == ("pin_locked", people["dana"], None)
    told = db.scalars(select(Message).where(Message.to_phone == DANA)).all()
    assert told[-1].body.startswith(
        "Your coaching line PIN was entered wrong 5 times in a row, so it is locked"
    )
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "pin_locked")).all()
    assert entry.entity_id == people["dana"] and THERAPIST_PIN not in str(entry.changes)

    # Locked: even the right PIN is not asked for, by phone or by text.
    locked = driver.call(from_=DANA, scenario=Scenario(digits=[PIN]))
    assert locked.said[0].startswith("After too many wrong PINs, the phone menu is locked")
    assert not locked.gathers and "Riley" not in locked.text
    assert text(driver, f"YES {THERAPIST_PIN}").startswith("After too many wrong PINs")
    nothing_changed(db, missed)

    # 15 minutes later the right PIN opens it.
    driver_line(driver).clock = lambda: NOW + timedelta(minutes=15)
    opened = driver.call(from_=DANA, scenario=Scenario(digits=[PIN, None]))
    assert opened.said[1].startswith("You have 1 missed coaching call.")


def test_the_right_pin_resets_the_count(driver, db, people):
    driver.call(from_=DANA, scenario=Scenario(digits=["1111#", "2222#"]))
    driver.call(from_=DANA, scenario=Scenario(digits=["1111#", "2222#"]))
    driver.call(from_=DANA, scenario=Scenario(digits=[PIN, None]))
    driver.call(from_=DANA, scenario=Scenario(digits=["1111#", PIN, None]))
    assert (dana(db).pin_failures, dana(db).pin_locked_until) == (0, None)
    assert db.scalar(select(AttentionItem)) is None


def test_the_right_pin_then_a_call_back_and_a_recorded_event(driver, db, people):
    missed = missed_call(driver, driver_line(driver))
    result = driver.call(
        from_=DANA, scenario=Scenario(digits=[PIN, "1"], legs={RILEY: Leg.accept()})
    )
    assert result.bridged_number == RILEY
    assert call_row(db, missed).returned_at == NOW


# ---- texts: YES needs the PIN ---------------------------------------------------------------


def test_lock_then_yes_without_or_with_a_wrong_pin_records_nothing_and_names_no_client(
    driver, db, people
):
    text(driver, "LOCK Riley 9:30pm")
    assert text(driver, "YES") == (
        "Reply YES and your PIN (for example YES 1234). Nothing was recorded."
    )
    assert text(driver, "YES 0000") == WRONG_TEXT
    assert text(driver, "YES 12") == WRONG_TEXT  # not a PIN at all: wrong too
    assert db.scalar(select(Lockout)) is None
    assert dana(db).pin_failures == 2
    # The PIN never lands in the stored texts (the dashboard shows them).
    bodies = [m.body for m in db.scalars(select(Message).where(Message.direction == "inbound"))]
    assert bodies == ["LOCK Riley 9:30pm", "YES", "YES [PIN]", "YES [PIN]"]
    # the right PIN still confirms the waiting LOCK, and resets the count
    assert text(driver, f"YES {THERAPIST_PIN}") == (
        "24-hour rule started for Riley until Sat 9:30 PM."
    )
    assert db.scalar(select(Lockout)).client_id == people["riley"]
    assert dana(db).pin_failures == 0
    assert THERAPIST_PIN not in " ".join(m.body for m in db.scalars(select(Message)))


def test_the_lock_answer_is_the_same_whether_or_not_the_client_exists(driver, db, people):
    """A faked number learns nothing from LOCK: not whether a client of that name exists."""
    shape = (
        "Reply YES and your PIN (for example YES 1234) to start the 24-hour rule for {} from "
        "Fri 9:30 PM until Sat 9:30 PM. Reply NO to cancel."
    )
    for name in ("Riley", "Zed", "Jordan"):  # Dana's client, nobody, Marcus's client
        assert text(driver, f"LOCK {name} 9:30pm") == shape.format(name)
        assert text(driver, "NO") == "Cancelled. Nothing was recorded."
    assert text(driver, "YES 5555") == WRONG_TEXT
    assert db.scalar(select(Lockout)) is None


def test_wrong_pins_by_text_and_by_phone_add_up_to_the_lock(driver, db, people):
    driver.call(from_=DANA, scenario=Scenario(digits=["1111#", "2222#"]))
    text(driver, "LOCK Riley now")
    assert text(driver, "YES 3333") == WRONG_TEXT
    assert text(driver, "YES 4444") == WRONG_TEXT
    reply = text(driver, "YES 5555")
    assert (
        reply
        == "After too many wrong PINs, your PIN is locked for 15 minutes. Nothing was recorded."
    )
    assert db.scalar(select(AttentionItem)).kind == "pin_locked"
    assert db.scalar(select(Lockout)) is None
    # AWAY and BACK are the therapist's own, and need no PIN even while it is locked.
    assert text(driver, "AWAY 2h").startswith("Away until")


def test_a_therapist_without_a_pin_cannot_confirm_a_lock_by_text(driver, db, people):
    therapist = dana(db)
    therapist.pin_hash = None
    db.commit()
    text(driver, "LOCK Riley now")
    reply = text(driver, "YES 1234")
    assert reply.startswith("Changes by text need your PIN") and "Riley" not in reply
    assert db.scalar(select(Lockout)) is None


# ---- StirVerstat: kept, never trusted --------------------------------------------------------


def test_stir_verstat_is_kept_on_every_incoming_call_and_never_replaces_the_pin(driver, db, people):
    passed = {"StirVerstat": "TN-Validation-Passed-A"}
    client = driver.call(from_=RILEY, extra_params=passed, scenario=Scenario(default_leg=NO_ANSWER))
    stranger = driver.call(from_="+13145550188", extra_params={"StirVerstat": "x" * 60})
    therapist = driver.call(from_=DANA, extra_params=passed, scenario=Scenario(digits=[None]))
    assert call_row(db, client.call_sid).stir_verstat == "TN-Validation-Passed-A"
    assert call_row(db, stranger.call_sid).stir_verstat == "x" * 40  # clipped
    assert call_row(db, therapist.call_sid).stir_verstat == "TN-Validation-Passed-A"
    assert therapist.said[0] == ASK and "Riley" not in therapist.text  # still the PIN first
