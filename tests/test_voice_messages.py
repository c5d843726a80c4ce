"""Voice messages end to end: a caller leaves one at the wait script (through the Twilio
driver), their therapist is texted that a message was left, the client's page lists it, and
it plays on the dashboard through the service, fetched from (the local stand-in for)
Twilio with the account's credentials, for those who may hear it and nobody else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AttentionItem, Call, Message
from tests.conftest import AUTH_TOKEN, NOW
from tests.fake_twilio import Failure
from tests.helpers import audit_log
from tests.test_web_support import (
    ADMIN_EMAIL,
    DANA,
    DANA_EMAIL,
    MARCUS_EMAIL,
    RILEY,
    sign_in,
    texts_of,
)
from tests.twilio_driver import NO_ANSWER, CallResult, Recording, Scenario

pytest_plugins = ["tests.test_web_support"]

CRISIS = ("call or text 9 8 8", "dial 9 1 1")
LEFT_A_MESSAGE = "Riley left a voice message on the coaching line."
AUDIO = b"ID3\x03\x00 Riley's message, as Twilio keeps it"


def leave_message(driver, seconds: int = 42) -> CallResult:
    """Riley calls, Dana does not answer, and Riley leaves a message of `seconds`."""
    return driver.call(
        from_=RILEY,
        scenario=Scenario(legs={DANA: NO_ANSWER}, recordings=[Recording(seconds, "#")]),
    )


def call_row(db, call_sid: str) -> Call:
    db.rollback()
    return db.scalar(select(Call).where(Call.call_sid == call_sid))


def voice_items(db) -> list[AttentionItem]:
    db.rollback()
    return list(db.scalars(select(AttentionItem).where(AttentionItem.kind == "voice_message")))


def texts_to(db, phone: str) -> list[str]:
    db.rollback()
    stmt = select(Message.body).where(Message.kind == "notification", Message.to_phone == phone)
    return list(db.scalars(stmt.order_by(Message.id)))


def record_action_params(driver, call: CallResult, **fields: str) -> dict[str, str]:
    """A Record action for `call` as Twilio sends it, with `fields` changed."""
    params = driver.call_params(call_sid=call.call_sid, from_=call.from_, to=call.to)
    sid = driver.sid("RE")
    return {
        **params,
        "CallStatus": "in-progress",
        "RecordingSid": sid,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Recordings/{sid}",
        "RecordingDuration": "12",
        "Digits": "#",
        **fields,
    }


def heard_thanks_and_crisis(body: str) -> bool:
    return "Thank you" in body and all(phrase in body for phrase in CRISIS)


# ---- the Record action ---------------------------------------------------------------------


def test_a_message_is_kept_with_its_length_and_the_therapist_is_told(web_driver, db, people):
    result = leave_message(web_driver, 42)
    [record] = result.records
    assert "Thank you, your message was saved for your coach." in result.text
    assert all(phrase in result.text for phrase in CRISIS) and not result.application_error
    call = call_row(db, result.call_sid)
    assert (call.recording_sid, call.voice_message_seconds) == (record.recording_sid, 42)
    [item] = voice_items(db)
    assert (item.call_id, item.client_id, item.therapist_id) == (
        call.id,
        people["riley"],
        people["dana"],
    )
    assert item.acknowledged_at is None
    assert texts_to(db, DANA) == ["Missed coaching call from Riley at 9:42 PM.", LEFT_A_MESSAGE]


def test_a_retried_record_action_raises_nothing_twice(web_driver, db, people):
    result = leave_message(web_driver)
    [action] = result.requests(kind="record-action")
    again = web_driver.replay(action)
    assert again.status_code == 200 and heard_thanks_and_crisis(again.text)
    assert len(voice_items(db)) == 1
    assert texts_to(db, DANA).count(LEFT_A_MESSAGE) == 1


def test_a_message_of_no_seconds_is_no_message(web_driver, db, people):
    # Twilio skips the action for an empty recording; a trimmed one can still say 0 seconds.
    result = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}))
    response = web_driver.post(
        "/twilio/voice/recorded",
        record_action_params(web_driver, result, RecordingDuration="0"),
    )
    assert response.status_code == 200 and heard_thanks_and_crisis(response.text)
    call = call_row(db, result.call_sid)
    assert (call.recording_sid, call.voice_message_seconds) == (None, None)
    assert voice_items(db) == [] and LEFT_A_MESSAGE not in texts_to(db, DANA)


@pytest.mark.parametrize(
    "sid",
    ["", "RE123", "RE" + "g" * 32, "ME" + "a" * 32, "RE" + "a" * 32 + "/../../x", "RE../Calls"],
)
def test_a_recording_sid_not_of_twilios_shape_is_ignored(web_driver, db, people, sid):
    result = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}))
    response = web_driver.post(
        "/twilio/voice/recorded", record_action_params(web_driver, result, RecordingSid=sid)
    )
    assert response.status_code == 200 and heard_thanks_and_crisis(response.text)
    assert call_row(db, result.call_sid).recording_sid is None
    assert voice_items(db) == []


def test_a_message_saved_nowhere_still_thanks_the_caller_with_the_crisis_resources(
    web_driver, db, people, monkeypatch
):
    import app.voice_messages

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(app.voice_messages, "save", broken)
    result = leave_message(web_driver)
    assert "Thank you. To talk with the 9 8 8" in result.text and "saved" not in result.text
    assert all(phrase in result.text for phrase in CRISIS) and not result.application_error


# ---- the client's page ---------------------------------------------------------------------


def test_the_client_page_lists_voice_messages_newest_first_with_their_length(
    web, web_driver, staff, db, people
):
    earlier = Call(
        call_sid="CA" + "e" * 32,
        client_id=people["riley"],
        route="coaching",
        outcome="wait_script",
        started_at=NOW - timedelta(days=2),
        recording_sid="RE" + "e" * 32,
        voice_message_seconds=7,
    )
    db.add(earlier)
    db.commit()
    call = call_row(db, leave_message(web_driver, 42).call_sid)
    assert sign_in(web, DANA_EMAIL).status_code == 303
    html = web.get(f"/clients/{people['riley']}").text
    text = texts_of(html)
    assert "Voice messages 2" in text
    assert "Fri Nov 27, 9:42 PM · 0:42" in text and "Wed Nov 25, 9:42 PM · 0:07" in text
    assert text.index("0:42") < text.index("0:07")  # newest first
    assert f'<audio controls preload="none" src="/calls/{call.id}/voice-message"' in html
    assert f'id="voice-message-{call.id}"' in html
    assert "api.twilio.com" not in html and "RE" + "e" * 32 not in html  # no public link


# ---- playing it ----------------------------------------------------------------------------


@pytest.fixture
def message(web_driver, fake_twilio, settings, db, people) -> Call:
    """Riley's message, kept at (the stand-in for) Twilio, which asks for the account's
    credentials."""
    fake_twilio.auth_token = AUTH_TOKEN
    result = leave_message(web_driver)
    fake_twilio.add_recording(
        settings.twilio_account_sid, AUDIO, sid=result.records[0].recording_sid
    )
    return call_row(db, result.call_sid)


@pytest.mark.parametrize("email", [DANA_EMAIL, ADMIN_EMAIL])
def test_the_clients_therapist_and_an_admin_hear_it_through_the_service(
    web, staff, message, fake_twilio, settings, db, email
):
    assert sign_in(web, email).status_code == 303
    response = web.get(f"/calls/{message.id}/voice-message")
    assert response.status_code == 200
    assert response.content == AUDIO
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["cache-control"] == "no-store"
    [fetched] = fake_twilio.recording_requests
    account = settings.twilio_account_sid
    assert (fetched.method, fetched.path, fetched.account_sid) == (
        "GET",
        f"/2010-04-01/Accounts/{account}/Recordings/{message.recording_sid}.mp3",
        account,
    )
    [played] = [e for e in audit_log(db, "call", message.id) if e.action == "play_voice_message"]
    assert (played.actor, played.changes) == (email, {"client_id": message.client_id})


def test_another_therapist_cannot_hear_it(web, staff, message, fake_twilio, db):
    assert sign_in(web, MARCUS_EMAIL).status_code == 303
    response = web.get(f"/calls/{message.id}/voice-message")
    assert response.status_code == 404
    assert fake_twilio.recording_requests == []
    assert not [e for e in audit_log(db, "call") if e.action == "play_voice_message"]


def test_the_one_on_call_it_escalated_to_hears_it_too(web, staff, message, fake_twilio, db, people):
    """Marcus is sent Riley's message when Dana doesn't acknowledge it: he can play it from
    the attention list, though Riley is not his client."""
    item = db.scalar(
        select(AttentionItem).where(
            AttentionItem.call_id == message.id, AttentionItem.kind == "voice_message"
        )
    )
    item.escalations, item.escalated_to_id = 1, people["marcus"]
    db.commit()
    assert sign_in(web, MARCUS_EMAIL).status_code == 303
    today = web.get("/")
    assert f'src="/calls/{message.id}/voice-message"' in today.text
    response = web.get(f"/calls/{message.id}/voice-message")
    assert response.status_code == 200 and response.content == AUDIO


def test_signed_out_it_is_the_sign_in_page(web, message, fake_twilio):
    response = web.get(f"/calls/{message.id}/voice-message", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/calls/{message.id}/voice-message"
    assert fake_twilio.recording_requests == []


def test_a_call_without_a_message_or_no_call_is_not_found(web, staff, web_driver, db, people):
    result = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}))
    assert sign_in(web, ADMIN_EMAIL).status_code == 303
    call = call_row(db, result.call_sid)
    assert web.get(f"/calls/{call.id}/voice-message").status_code == 404
    assert web.get("/calls/999999/voice-message").status_code == 404
    assert web.get("/calls/abc/voice-message").status_code == 404


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_forged_recording_url_is_never_fetched(
    web, staff, web_driver, fake_twilio, settings, db, people, scheme
):
    """The audio comes from the URL built from the SID and our settings, whatever URL the
    Record action named (here the stand-in's own host, where a fetch would show)."""
    fake_twilio.auth_token = AUTH_TOKEN
    result = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: NO_ANSWER}))
    host = fake_twilio.base_url.removeprefix("http://")
    forged = f"{scheme}://{host}/forged/anything.mp3"
    params = record_action_params(web_driver, result, RecordingUrl=forged)
    fake_twilio.add_recording(settings.twilio_account_sid, AUDIO, sid=params["RecordingSid"])
    assert web_driver.post("/twilio/voice/recorded", params).status_code == 200
    call = call_row(db, result.call_sid)
    assert call.recording_url == (forged if scheme == "https" else None)
    assert sign_in(web, DANA_EMAIL).status_code == 303
    assert web.get(f"/calls/{call.id}/voice-message").content == AUDIO
    assert all("forged" not in r.path for r in fake_twilio.requests)
    [fetched] = fake_twilio.recording_requests
    assert fetched.path.endswith(f"/Recordings/{params['RecordingSid']}.mp3")


def test_a_message_gone_from_twilio_is_not_found_and_a_failing_twilio_says_so(
    web, staff, message, fake_twilio, db
):
    assert sign_in(web, DANA_EMAIL).status_code == 303
    fake_twilio.fail_next(Failure(503, method="GET"))
    down = web.get(f"/calls/{message.id}/voice-message")
    assert down.status_code == 502
    assert "could not be fetched from Twilio" in texts_of(down.text)
    fake_twilio.recordings.clear()
    assert web.get(f"/calls/{message.id}/voice-message").status_code == 404
    assert not [e for e in audit_log(db, "call") if e.action == "play_voice_message"]
