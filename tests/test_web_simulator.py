"""The phone simulator (admin only): calls and texts through the real, signed webhooks."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.main import create_app
from app.models import Call
from app.twilio.signature import dev_signing_key
from app.web.simulated_call import CALLS, IDLE_SECONDS
from tests.conftest import NOW, PUBLIC_BASE_URL, THERAPIST_PIN
from tests.test_web_support import ADMIN_EMAIL, DANA, RILEY, csrf_of, sign_in, texts_of

pytest_plugins = ["tests.test_web_support"]

_CALL = re.compile(r'name="call" value="([^"]+)"')
_HEARD = re.compile(r"<li data-speak>(.*?)</li>", re.S)
FALLBACK = "/twilio/voice/fallback"
PARAMS = {"CallSid": "CA" + "1" * 32, "From": RILEY, "To": "+13145550100"}


def heard(page) -> str:
    """What the caller (or therapist) hears, as the page lists it to be spoken."""
    return " ".join(_HEARD.findall(page.text)).replace("&#39;", "'")


def start(client: TestClient, caller: str):
    token = csrf_of(client.get("/simulator").text)
    response = client.post("/simulator/call", data={"caller": caller, "csrf_token": token})
    assert response.status_code == 200, response.text
    return response


def step(client: TestClient, page, action: str, **extra: str):
    call = _CALL.search(page.text)
    assert call, "no call on the page"
    data = {"call": call.group(1), "action": action, "csrf_token": csrf_of(page.text), **extra}
    response = client.post("/simulator/step", data=data)
    assert response.status_code == 200, response.text
    return response


def test_the_admin_runs_a_call_the_therapist_accepts(as_admin, people):
    page = as_admin.get("/simulator")
    assert page.status_code == 200
    assert 'href="/simulator" aria-current="page"' in page.text
    assert "Riley Tran (client)" in page.text and "Dana Whitfield (therapist)" in page.text
    assert '<script src="/static/simulator.js"' in page.text
    ringing = start(as_admin, RILEY)
    text = texts_of(ringing.text)
    assert "HTTP 403" not in text and "The caller hears" in text
    assert f"The line is ringing {DANA}" in text
    assert "&lt;Dial" in ringing.text and "<pre>" in ringing.text  # the TwiML, escaped
    assert f"From={RILEY}" in ringing.text
    done = step(as_admin, ringing, "accept")
    text = texts_of(done.text)
    assert "The therapist hears" in text and "Press 1" in text  # the screening prompt
    assert "The therapist presses 1" in text and "Dial action: accepted, bridged" in text
    assert "DialBridged=true" in done.text and "DialCallStatus=completed" in done.text
    assert "Call over" in text
    assert as_admin.get("/static/simulator.js").status_code == 200


def test_no_answer_plays_the_wait_time_script_with_crisis_resources(as_admin, people):
    ringing = start(as_admin, RILEY)
    missed = step(as_admin, ringing, "no-answer")
    text = texts_of(missed.text)
    assert "DialCallStatus=no-answer" in missed.text
    assert "has been told you called" in text and "9 8 8" in text
    assert "Press keys" in missed.text  # the offer of 988 by one key waits first
    offered = step(as_admin, missed, "silence")
    assert "Take good care. Goodbye." not in heard(offered)  # not yet: the Record waits
    assert "Leave a voice message" in offered.text
    ended = step(as_admin, offered, "silence")
    text = texts_of(ended.text)
    assert "Twilio goes on" in text and heard(ended).endswith("Take good care. Goodbye.")
    assert "Call over: the line hung up" in text


def test_leaving_a_voice_message(as_admin, people):
    missed = step(as_admin, start(as_admin, RILEY), "no-answer")
    saved = step(as_admin, step(as_admin, missed, "silence"), "message")
    text = texts_of(saved.text)
    assert "Record action: a message was left" in text and "your message was saved" in text


def test_an_unknown_caller_hears_crisis_resources(as_admin, people):
    page = start(as_admin, "+15555550199")
    text = texts_of(page.text)
    assert "doesn't know your number" in text and "9 8 8" in text
    ended = step(as_admin, page, "silence")
    assert "Call over: the line hung up" in texts_of(ended.text)


def test_pressing_1_rings_the_988_lifeline_in_the_simulator(as_admin, people):
    """Nothing leaves the simulator: the 988 leg is one more simulated phone."""
    page = start(as_admin, "+15555550199")
    ringing = step(as_admin, page, "keys", keys="1")
    text = texts_of(ringing.text)
    assert "Connecting you to the 9 8 8 Lifeline." in text
    assert "The line is ringing 988" in text


def test_hanging_up_posts_the_status_callback(as_admin, people, db):
    ringing = start(as_admin, RILEY)
    ended = step(as_admin, ringing, "hangup")
    text = texts_of(ended.text)
    assert "Status callback: completed" in text and "the caller hung up" in text
    assert "CallStatus=completed" in ended.text
    after = step(as_admin, ringing, "hangup")  # the old page's buttons
    assert "This call has ended" in texts_of(after.text)
    db.expire_all()
    call = db.scalars(select(Call)).one()
    assert call.twilio_status == "completed" and call.duration_seconds == 60


def _riley_call(db) -> Call:
    db.expire_all()
    return db.scalars(select(Call).where(Call.client_id.is_not(None))).one()


def test_hanging_up_while_it_rings_is_a_missed_call_not_ringing(as_admin, people, db):
    ringing = start(as_admin, RILEY)
    assert _riley_call(db).outcome == "ringing"
    ended = step(as_admin, ringing, "hangup")
    text = texts_of(ended.text)
    # as Twilio does: the Dial action (the caller gone, the therapist's leg canceled), then the
    # status callback
    assert "Dial action: the caller hung up while it rang" in text
    assert "DialCallStatus=canceled" in ended.text and "CallStatus=completed" in ended.text
    call = _riley_call(db)
    assert (call.outcome, call.twilio_status) == ("caller_hung_up", "completed")
    assert call.ended_at is not None
    rows = re.findall(r"<tr.*?</tr>", as_admin.get("/logs").text, re.S)
    riley = [texts_of(row) for row in rows if "Riley Tran" in row]
    assert len(riley) == 1 and "Ringing" not in riley[0], riley


def test_closing_the_page_while_it_rings_ends_the_call(as_admin, people, db):
    ringing = start(as_admin, RILEY)
    call_id = _CALL.search(ringing.text).group(1)
    assert f'data-waiting-call="{call_id}"' in ringing.text  # simulator.js sends the beacon
    left = as_admin.post(
        "/simulator/leave", data={"call": call_id, "csrf_token": csrf_of(ringing.text)}
    )
    assert left.status_code == 204
    assert _riley_call(db).outcome == "caller_hung_up"
    shown = as_admin.get(f"/simulator?call={call_id}")
    assert "Call over: the caller hung up (the simulator's page was closed)" in texts_of(shown.text)
    assert "data-waiting-call" not in shown.text
    # a second beacon (or one for a call long gone) changes nothing
    again = as_admin.post(
        "/simulator/leave", data={"call": call_id, "csrf_token": csrf_of(ringing.text)}
    )
    assert again.status_code == 204
    assert as_admin.post("/simulator/leave", data={"call": call_id}).status_code == 403


def test_a_call_nobody_acts_on_is_hung_up_at_the_next_visit(as_admin, people, db):
    ringing = start(as_admin, RILEY)
    call_id = _CALL.search(ringing.text).group(1)
    sim = CALLS[call_id]
    sim.started = sim.touched = time.monotonic() - IDLE_SECONDS - 1
    shown = as_admin.get(f"/simulator?call={call_id}")
    assert "Call over: the caller hung up (nobody acted for 15 minutes)" in texts_of(shown.text)
    assert _riley_call(db).outcome == "caller_hung_up"


def test_the_twiml_panel_is_styled_to_wrap(as_admin, people):
    page = start(as_admin, RILEY)
    assert '<link rel="stylesheet" href="/static/simulator.css">' in page.text
    css = as_admin.get("/static/simulator.css").text
    assert "pre-wrap" in css and "overflow-wrap: anywhere" in css


def test_pressing_keys_at_a_gather(as_admin, people, db):
    # a therapist with a missed call to return reaches the keypad menu
    db.add(
        Call(
            call_sid="CA" + "7" * 32,
            client_id=people["riley"],
            route="coaching",
            outcome="wait_script",
            started_at=NOW - timedelta(minutes=30),
        )
    )
    db.commit()
    page = start(as_admin, DANA)
    assert "Press keys" in page.text, texts_of(page.text)
    refused = step(as_admin, page, "keys", keys="x")
    assert "Press keys on the keypad" in texts_of(refused.text)
    pressed = step(as_admin, page, "keys", keys="9")
    assert "Gather action: pressed 9" in texts_of(pressed.text)


@pytest.mark.parametrize(
    ("choice", "heard_after", "returned"),
    [
        ("accept", "it is marked returned", True),
        ("voicemail", "Riley's voicemail answered", False),
    ],
)
def test_a_call_back_in_the_simulator_returns_the_call_only_when_a_person_answers(
    as_admin, people, db, choice, heard_after, returned
):
    db.add(
        Call(
            call_sid="CA" + "7" * 32,
            client_id=people["riley"],
            route="coaching",
            outcome="wait_script",
            started_at=NOW - timedelta(minutes=30),
        )
    )
    db.commit()
    asked = start(as_admin, DANA)
    assert "Enter your PIN, then press pound." in heard(asked) and "Riley" not in heard(asked)
    menu = step(as_admin, asked, "keys", keys=THERAPIST_PIN + "#")
    calling = step(as_admin, menu, "keys", keys="1")
    assert "Calling Riley now" in heard(calling)
    done = step(as_admin, calling, choice)
    assert f"AnsweredBy={'human' if choice == 'accept' else 'machine_start'}" in done.text
    assert heard_after in heard(done)
    db.expire_all()
    missed = db.scalar(select(Call).where(Call.call_sid == "CA" + "7" * 32))
    assert (missed.returned_at is not None) == returned


def test_a_check_in_text_gets_a_skill_prompt(as_admin, people):
    token = csrf_of(as_admin.get("/simulator").text)
    response = as_admin.post(
        "/simulator/text", data={"sender": RILEY, "body": "check-in", "csrf_token": token}
    )
    assert response.status_code == 200
    text = texts_of(response.text)
    assert "How strong are your urges right now, 0-5?" in text
    assert "&lt;Message" in response.text and "Body=check-in" in response.text


def test_a_therapist_cannot_use_the_simulator(as_dana):
    assert as_dana.get("/simulator").status_code in (403, 404)
    assert 'href="/simulator"' not in as_dana.get("/").text
    token = csrf_of(as_dana.get("/").text)
    refused = as_dana.post("/simulator/call", data={"caller": RILEY, "csrf_token": token})
    assert refused.status_code in (403, 404)


def test_the_simulator_refuses_a_form_without_csrf(as_admin, people):
    assert as_admin.post("/simulator/call", data={"caller": RILEY}).status_code == 403


@pytest.fixture
def dev_app(app, settings):
    """The line as in development: no Twilio credentials (same database as `app`)."""
    dev = create_app(
        settings.model_copy(update={"twilio_auth_token": "", "twilio_account_sid": ""})
    )
    dev.state.line.clock = lambda: NOW
    yield dev
    dev.state.line.engine.dispose()


def test_dev_key_signing_works_without_twilio_credentials(dev_app, staff, people, http, line):
    with TestClient(dev_app, base_url="https://testserver") as client:
        assert sign_in(client, ADMIN_EMAIL).status_code == 303
        page = client.get("/simulator")
        assert "development signing key" in page.text
        ringing = start(client, RILEY)
        assert "HTTP 403" not in ringing.text and "The caller hears" in texts_of(ringing.text)
        # a forged signature is still refused
        forged = client.post(FALLBACK, data=PARAMS, headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
        assert forged.status_code == 403
        assert client.post(FALLBACK, data=PARAMS).status_code == 403
        key = dev_signing_key(dev_app.state.line)
        signed = RequestValidator(key).compute_signature(PUBLIC_BASE_URL + FALLBACK, PARAMS)
        ok = client.post(FALLBACK, data=PARAMS, headers={"X-Twilio-Signature": signed})
        assert ok.status_code == 200
    # a deployment with a real token refuses what the development key signed
    assert dev_signing_key(line) == key
    refused = http.post(FALLBACK, data=PARAMS, headers={"X-Twilio-Signature": signed})
    assert refused.status_code == 403
