"""Self-tests of the Twilio driver against a toy FastAPI app (no database).

The toy app checks every signature for real (RequestValidator over the public URL, query
string included, and every form field) and answers 403 otherwise, so a driver that signs
wrongly fails these tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from tests.twilio_driver import (
    ACCEPT,
    APPLICATION_ERROR,
    APPLICATION_ERROR_MESSAGE,
    BUSY,
    CALLER_HUNG_UP,
    END_OF_DOCUMENT,
    HANGUP,
    HMAC_SHA256,
    IDEMPOTENCY_HEADER,
    NO_ANSWER,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    VOICEMAIL,
    CallerHangup,
    Geo,
    Leg,
    LoopError,
    Recording,
    Scenario,
    ScenarioError,
    TwilioDriver,
    TwimlError,
)

TOKEN = "toy-auth-token-0123456789abcdef"
BASE = "https://line.example.org"
LINE = "+13145550100"
DANA = "+13145550111"
RILEY = "+13145550142"
SID = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")


@pytest.fixture
def toy() -> Iterator[SimpleNamespace]:
    """The toy line: its client, every verified request it got, and a driver for it."""
    seen: list[dict[str, Any]] = []
    app = _toy_app(seen)
    with TestClient(app) as client:
        driver = TwilioDriver(client, auth_token=TOKEN, public_base_url=BASE, line_number=LINE)
        yield SimpleNamespace(client=client, seen=seen, driver=driver, app=app)


def _twiml(response: VoiceResponse | MessagingResponse) -> Response:
    return Response(content=str(response), media_type="application/xml")


def _toy_app(seen: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    async def verified(request: Request) -> dict[str, str]:
        form = await request.form()
        query = request.url.query
        url = BASE + request.url.path + (f"?{query}" if query else "")
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        signature = request.headers.get(SIGNATURE_HEADER, "")
        params = form if request.method == "POST" else {}
        if not (signature and RequestValidator(TOKEN).validate(url, params, signature, algorithm)):
            raise HTTPException(status_code=403, detail="bad signature")
        values = dict(form) if request.method == "POST" else dict(request.query_params)
        seen.append(
            {"path": request.url.path, "query": query, "form": values, "headers": request.headers}
        )
        return {k: str(v) for k, v in values.items()}

    @app.post("/voice")
    async def voice(request: Request) -> Response:
        form = await verified(request)
        vr = VoiceResponse()
        if not form["From"].startswith("+"):
            vr.say("This line is for clients of the practice. For a crisis, call or text 988.")
            vr.hangup()
            return _twiml(vr)
        vr.say("Hi. Connecting you now.", voice="Polly.Joanna", language="en-US")
        dial = vr.dial(
            action=f"{BASE}/voice/dial?attempt=1", timeout=20, caller_id=LINE, time_limit=1200
        )
        dial.number(
            DANA,
            url=f"{BASE}/voice/screen?name=Riley",
            status_callback="/status/leg",
            status_callback_event="initiated ringing answered completed",
        )
        return _twiml(vr)

    @app.post("/voice/plain")
    async def plain(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        vr.dial(DANA, action="/voice/dial")
        return _twiml(vr)

    @app.post("/voice/no-action")
    async def no_action(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        vr.dial(DANA)
        vr.say("The call has ended.")
        return _twiml(vr)

    @app.post("/voice/screen")
    async def screen(request: Request) -> Response:
        await verified(request)
        name = request.query_params["name"]
        vr = VoiceResponse()
        gather = vr.gather(num_digits=1, timeout=8, action=f"/voice/screen/answer?name={name}")
        gather.say(f"Coaching call from {name}. Press 1 to accept.")
        vr.hangup()
        return _twiml(vr)

    @app.post("/voice/screen/answer")
    async def screen_answer(request: Request) -> Response:
        form = await verified(request)
        vr = VoiceResponse()
        if form.get("Digits") == "1":
            vr.say("Connecting.")
        else:
            vr.hangup()
        return _twiml(vr)

    @app.post("/voice/dial")
    async def dial_action(request: Request) -> Response:
        form = await verified(request)
        vr = VoiceResponse()
        if form.get("DialBridged") == "true":
            vr.hangup()
            return _twiml(vr)
        vr.say("Dana has been told and usually calls back within an hour.")
        vr.record(max_length=60, action=f"{BASE}/voice/recorded", play_beep=True)
        vr.say("If you are in crisis, call or text 988. For a medical emergency, dial 911.")
        vr.hangup()
        return _twiml(vr)

    @app.post("/voice/recorded")
    async def recorded(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        vr.say("Thank you, your message was saved.")
        vr.hangup()
        return _twiml(vr)

    @app.post("/voice/menu")
    async def menu(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        gather = vr.gather(num_digits=1, action="/voice/menu/choice", timeout=6)
        gather.say("Press 1 for a skill, 2 for a check-in.")
        gather.pause(length=2)
        vr.say("We did not get a choice.")
        vr.redirect(f"{BASE}/voice/menu/done")
        return _twiml(vr)

    @app.post("/voice/menu/choice")
    async def menu_choice(request: Request) -> Response:
        form = await verified(request)
        vr = VoiceResponse()
        vr.say(f"You chose {form['Digits'] or 'nothing'}.")
        return _twiml(vr)

    @app.post("/voice/menu/done")
    async def menu_done(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        vr.say("Goodbye.")
        vr.hangup()
        return _twiml(vr)

    @app.post("/voice/pin")
    async def pin(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        gather = vr.gather(action="/voice/pin/check", finish_on_key="#")
        gather.say("Enter your code, then the pound key.")
        vr.say("No code.")
        return _twiml(vr)

    @app.post("/voice/pin/check")
    async def pin_check(request: Request) -> Response:
        form = await verified(request)
        vr = VoiceResponse()
        vr.say(f"Code {form['Digits']} ended with {form['FinishedOnKey'] or 'nothing'}.")
        return _twiml(vr)

    @app.post("/voice/empty")
    async def empty(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        vr.gather(num_digits=1, action="/voice/menu/choice", action_on_empty_result=True)
        vr.say("Not reached.")
        return _twiml(vr)

    @app.post("/voice/get")
    async def get_redirect(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        vr.redirect("/voice/get-target?from=redirect", method="GET")
        return _twiml(vr)

    @app.get("/voice/get-target")
    async def get_target(request: Request) -> Response:
        form = await verified(request)
        vr = VoiceResponse()
        vr.say(f"Got {form['from']} with status {form['CallStatus']}.")
        return _twiml(vr)

    @app.post("/voice/boom")
    async def boom(request: Request) -> Response:
        await verified(request)
        return PlainTextResponse("internal error", status_code=500)

    @app.post("/voice/text")
    async def text(request: Request) -> Response:
        await verified(request)
        return PlainTextResponse("<Response><Say>plain</Say></Response>")

    @app.post("/voice/badxml")
    async def bad_xml(request: Request) -> Response:
        await verified(request)
        return Response("<Response><Say>oops</Response>", media_type="application/xml")

    @app.post("/voice/loop")
    async def loop(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        vr.say("Again.")
        vr.redirect("/voice/loop")
        return _twiml(vr)

    @app.post("/voice/unknown")
    async def unknown(request: Request) -> Response:
        await verified(request)
        return Response("<Response><Dance/></Response>", media_type="application/xml")

    @app.post("/voice/screen-error")
    async def screen_error(request: Request) -> Response:
        await verified(request)
        vr = VoiceResponse()
        dial = vr.dial(action="/voice/dial")
        dial.number(DANA, url="/voice/boom")
        return _twiml(vr)

    @app.post("/voice/fallback")
    async def fallback(request: Request) -> Response:
        form = await verified(request)
        vr = VoiceResponse()
        vr.say(f"Crisis resources: call or text 988. Error {form['ErrorCode']}.")
        vr.hangup()
        return _twiml(vr)

    @app.post("/status")
    @app.post("/status/leg")
    async def status(request: Request) -> Response:
        await verified(request)
        return Response(status_code=204)

    @app.post("/sms")
    async def sms(request: Request) -> Response:
        form = await verified(request)
        mr = MessagingResponse()
        if form["Body"].strip().lower() == "check-in":
            mr.message("Try a paced breath: in for 4, out for 6.")
            mr.message("Reply with a number from 0 to 5.")
        return _twiml(mr)

    return app


def _seen(toy: SimpleNamespace, path: str) -> list[dict[str, str]]:
    return [s["form"] for s in toy.seen if s["path"] == path]


# ------------------------------------------------------------------------ Dial outcomes


def test_accept_bridges_after_screening(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice", from_=RILEY, scenario=Scenario(legs={DANA: ACCEPT}))

    assert result.said == ["Hi. Connecting you now."], result.debug()
    assert result.says[0].voice == "Polly.Joanna" and result.says[0].language == "en-US"
    assert result.bridged and result.bridged_number == DANA
    assert not result.bridged_to_machine and not result.application_error
    assert result.end == HANGUP and result.errors == []
    dial = result.dials[0]
    assert (dial.timeout, dial.caller_id, dial.time_limit) == (20, LINE, 1200)
    assert dial.action == f"{BASE}/voice/dial?attempt=1"
    assert dial.url == f"{BASE}/voice/screen?name=Riley"
    assert dial.leg.said == ["Coaching call from Riley. Press 1 to accept.", "Connecting."]
    assert dial.leg.digits_pressed == ["1"]
    assert result.heard_by(DANA) == dial.leg.said

    first = _seen(toy, "/voice")[0]
    assert first["CallStatus"] == "ringing" and first["Direction"] == "inbound"
    assert first["Caller"] == first["From"] == RILEY and first["Called"] == first["To"] == LINE
    assert first["ApiVersion"] == "2010-04-01" and SID.match(first["CallSid"])
    assert first["AccountSid"].startswith("AC") and len(first["AccountSid"]) == 34
    assert {"FromCity", "FromState", "FromZip", "FromCountry", "CallerCity", "CalledZip"} <= set(
        first
    )
    screen = _seen(toy, "/voice/screen")[0]
    assert screen["Direction"] == "outbound-dial" and screen["CallStatus"] == "in-progress"
    assert screen["ParentCallSid"] == result.call_sid != screen["CallSid"]
    assert screen["From"] == LINE and screen["To"] == DANA and SID.match(screen["CallSid"])
    answer = _seen(toy, "/voice/screen/answer")[0]
    assert answer["Digits"] == "1" and answer["CallSid"] == screen["CallSid"]
    action = _seen(toy, "/voice/dial")[0]
    assert action["CallSid"] == result.call_sid and action["CallStatus"] == "in-progress"
    assert action["DialCallStatus"] == "completed" and action["DialBridged"] == "true"
    assert action["DialCallSid"] == screen["CallSid"]
    assert int(action["DialCallDuration"]) >= 600
    assert toy.seen[-1]["query"] == "attempt=1"  # the action's query string was signed

    legs = _seen(toy, "/status/leg")
    assert [s["CallStatus"] for s in legs] == ["initiated", "ringing", "in-progress", "completed"]
    assert [s["SequenceNumber"] for s in legs] == ["0", "1", "2", "3"]
    assert all(s["ParentCallSid"] == result.call_sid for s in legs)


def test_voicemail_answers_but_is_never_bridged(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice", from_=RILEY, scenario=Scenario(legs={DANA: VOICEMAIL}))

    assert not result.bridged and result.errors == []
    dial = result.dials[0]
    assert dial.leg.answered and dial.leg.end == HANGUP and dial.leg.digits_pressed == []
    assert dial.leg.said == ["Coaching call from Riley. Press 1 to accept."]
    assert _seen(toy, "/voice/screen/answer") == []
    action = _seen(toy, "/voice/dial")[0]
    assert action["DialCallStatus"] == "completed" and action["DialBridged"] == "false"
    assert result.said == [
        "Hi. Connecting you now.",
        "Dana has been told and usually calls back within an hour.",
        "If you are in crisis, call or text 988. For a medical emergency, dial 911.",
    ]
    assert "[beep]" in result.transcript and "[silence]" in result.transcript
    assert result.records[0].max_length == 60 and not result.records[0].requested
    assert _seen(toy, "/voice/recorded") == []  # an empty recording requests no action
    assert result.end == HANGUP


def test_a_person_who_presses_the_wrong_key_is_not_bridged(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice", from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept("2")}))
    assert not result.bridged and result.dials[0].leg.end == HANGUP
    assert _seen(toy, "/voice/dial")[0]["DialBridged"] == "false"


@pytest.mark.parametrize(("leg", "status"), [(NO_ANSWER, "no-answer"), (BUSY, "busy")])
def test_unanswered_legs(toy: SimpleNamespace, leg: Leg, status: str) -> None:
    result = toy.driver.call("/voice", from_=RILEY, scenario=Scenario(legs={DANA: leg}))

    assert not result.bridged and not result.dials[0].leg.answered
    assert _seen(toy, "/voice/screen") == []
    action = _seen(toy, "/voice/dial")[0]
    assert action["DialCallStatus"] == status and action["DialBridged"] == "false"
    assert action["DialCallDuration"] == "0"
    assert "If you are in crisis, call or text 988." in result.text
    legs = [s["CallStatus"] for s in _seen(toy, "/status/leg")]
    assert "in-progress" not in legs and legs[-1] == status


def test_failed_leg_and_legs_in_dial_order(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice", from_=RILEY, scenario=Scenario(legs=[Leg.failed()]))
    assert result.dials[0].dial_call_status == "failed"
    assert _seen(toy, "/voice/dial")[0]["DialCallStatus"] == "failed"


def test_a_dial_the_scenario_does_not_cover_is_an_error(toy: SimpleNamespace) -> None:
    with pytest.raises(ScenarioError, match=DANA.replace("+", r"\+")):
        toy.driver.call("/voice", from_=RILEY)
    result = toy.driver.call("/voice", from_=RILEY, scenario=Scenario(default_leg=NO_ANSWER))
    assert result.dials[0].dial_call_status == "no-answer"


def test_a_dial_without_screening_bridges_whoever_answers(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/plain", from_=RILEY, scenario=Scenario(legs=[VOICEMAIL]))
    assert result.bridged and result.bridged_to_machine
    assert result.dials[0].caller_id is None
    assert _seen(toy, "/voice/dial")[0]["DialBridged"] == "true"


def test_a_dial_without_action_goes_on_with_the_document(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/no-action", from_=RILEY, scenario=Scenario(legs=[BUSY]))
    assert result.said == ["The call has ended."] and result.end == END_OF_DOCUMENT


def test_a_failing_screening_url_is_heard_by_the_therapist_only(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/screen-error", from_=RILEY, scenario=Scenario(legs=[ACCEPT]))
    dial = result.dials[0]
    assert dial.leg.said == [APPLICATION_ERROR_MESSAGE] and dial.leg.end == APPLICATION_ERROR
    assert not result.bridged and not result.application_error
    assert result.errors and "/voice/boom" in result.errors[0]


# ---------------------------------------------------------------- caller hangs up mid-flow


def test_caller_hangs_up_while_ringing(toy: SimpleNamespace) -> None:
    scenario = Scenario(legs={DANA: ACCEPT}, caller_hangup=CallerHangup(dial=1, when="ringing"))
    result = toy.driver.call("/voice", from_=RILEY, scenario=scenario)

    assert result.end == CALLER_HUNG_UP and not result.bridged
    action = _seen(toy, "/voice/dial")[0]
    assert action["CallStatus"] == "completed" and action["DialCallStatus"] == "canceled"
    assert _seen(toy, "/voice/screen") == []
    # What the app answered is not played to anyone.
    exchange = result.requests("/voice/dial")[0]
    assert not exchange.played and "calls back" in exchange.body
    assert "calls back" not in result.text


def test_caller_hangs_up_during_screening(toy: SimpleNamespace) -> None:
    scenario = Scenario(legs={DANA: ACCEPT}, caller_hangup=CallerHangup(when="screening"))
    result = toy.driver.call("/voice", from_=RILEY, scenario=scenario)

    assert result.end == CALLER_HUNG_UP and not result.bridged
    assert result.dials[0].leg.said == ["Coaching call from Riley. Press 1 to accept."]
    assert _seen(toy, "/voice/screen/answer") == []
    action = _seen(toy, "/voice/dial")[0]
    assert action["CallStatus"] == "completed" and action["DialBridged"] == "false"
    assert action["DialCallStatus"] == "completed"


def test_caller_hangs_up_after_the_conversation(toy: SimpleNamespace) -> None:
    scenario = Scenario(legs={DANA: ACCEPT}, caller_hangup=CallerHangup(when="bridged"))
    result = toy.driver.call("/voice", from_=RILEY, scenario=scenario)

    assert result.bridged and result.end == CALLER_HUNG_UP
    action = _seen(toy, "/voice/dial")[0]
    assert action["CallStatus"] == "completed"
    assert (action["DialCallStatus"], action["DialBridged"]) == ("completed", "true")


# -------------------------------------------------------------------- Gather and Record


def test_gather_with_digits_posts_the_action(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/menu", from_=RILEY, scenario=Scenario(digits=["2"]))
    assert result.said == ["Press 1 for a skill, 2 for a check-in.", "You chose 2."]
    assert result.end == END_OF_DOCUMENT
    gather = result.gathers[0]
    assert (gather.num_digits, gather.timeout, gather.requested) == (1, 6, True)
    assert gather.action == f"{BASE}/voice/menu/choice"
    form = _seen(toy, "/voice/menu/choice")[0]
    assert form["Digits"] == "2" and form["CallStatus"] == "in-progress"


def test_gather_takes_only_num_digits(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/menu", from_=RILEY, scenario=Scenario(digits=["21"]))
    assert result.said[-1] == "You chose 2."


def test_gather_without_digits_falls_through(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/menu", from_=RILEY)
    assert result.said == [
        "Press 1 for a skill, 2 for a check-in.",
        "We did not get a choice.",
        "Goodbye.",
    ]
    assert "[pause 2s]" in result.transcript and "[no input]" in result.transcript
    assert _seen(toy, "/voice/menu/choice") == []
    assert result.end == HANGUP and not result.gathers[0].requested


def test_gather_finish_on_key(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/pin", from_=RILEY, scenario=Scenario(digits=["1234#"]))
    assert result.said[-1] == "Code 1234 ended with #."
    # The finish key alone is no input: the document goes on.
    result = toy.driver.call("/voice/pin", from_=RILEY, scenario=Scenario(digits=["#"]))
    assert result.said[-1] == "No code."


def test_gather_action_on_empty_result(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/empty", from_=RILEY, scenario=Scenario(digits=[None]))
    assert result.said == ["You chose nothing."]


def test_record_with_a_message(toy: SimpleNamespace) -> None:
    scenario = Scenario(legs=[NO_ANSWER], recordings=[Recording(duration=42, finish_key="#")])
    result = toy.driver.call("/voice", from_=RILEY, scenario=scenario)

    assert result.said[-1] == "Thank you, your message was saved."
    assert "If you are in crisis" not in result.said[-1]
    form = _seen(toy, "/voice/recorded")[0]
    assert form["RecordingDuration"] == "42" and form["Digits"] == "#"
    assert SID.match(form["RecordingSid"]) and form["RecordingSid"].startswith("RE")
    assert form["RecordingUrl"].endswith(f"/Recordings/{form['RecordingSid']}")
    assert result.records[0].recording_url == form["RecordingUrl"]


def test_record_is_capped_by_max_length(toy: SimpleNamespace) -> None:
    scenario = Scenario(legs=[NO_ANSWER], recordings=[Recording(duration=300)])
    toy.driver.call("/voice", from_=RILEY, scenario=scenario)
    form = _seen(toy, "/voice/recorded")[0]
    assert form["RecordingDuration"] == "60" and "Digits" not in form


def test_caller_hangs_up_to_end_a_recording(toy: SimpleNamespace) -> None:
    scenario = Scenario(legs=[NO_ANSWER], recordings=[Recording(20, finish_key="hangup")])
    result = toy.driver.call("/voice", from_=RILEY, scenario=scenario)
    form = _seen(toy, "/voice/recorded")[0]
    assert form["Digits"] == "hangup" and form["CallStatus"] == "completed"
    assert result.end == CALLER_HUNG_UP and "Thank you" not in result.text


# -------------------------------------------------------------------------- Redirect


def test_redirect_absolute_then_hangup(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/menu", from_=RILEY)
    redirect = result.requests("/voice/menu/done")[0]
    assert redirect.kind == "redirect" and redirect.url == f"{BASE}/voice/menu/done"


def test_redirect_with_get_signs_the_query(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/get", from_=RILEY)
    assert result.said == ["Got redirect with status in-progress."], result.debug()
    exchange = result.requests("/voice/get-target")[0]
    assert exchange.method == "GET" and "CallSid=" in exchange.url


def test_loops_are_stopped(toy: SimpleNamespace) -> None:
    toy.driver.max_steps = 30
    with pytest.raises(LoopError, match="max_steps"):
        toy.driver.call("/voice/loop", from_=RILEY)


# -------------------------------------------------------------------------- strictness


@pytest.mark.parametrize("path", ["/voice/boom", "/voice/text", "/voice/badxml"])
def test_a_broken_webhook_is_an_application_error(toy: SimpleNamespace, path: str) -> None:
    result = toy.driver.call(path, from_=RILEY)
    assert result.application_error and result.end == APPLICATION_ERROR
    assert result.said == [APPLICATION_ERROR_MESSAGE]
    assert "application error" in result.text and result.errors


def test_the_fallback_url_gets_the_error(toy: SimpleNamespace) -> None:
    toy.driver.fallback_path = "/voice/fallback"
    result = toy.driver.call("/voice/boom", from_=RILEY)
    assert not result.application_error and result.errors
    assert result.said == ["Crisis resources: call or text 988. Error 11200."]
    form = _seen(toy, "/voice/fallback")[0]
    assert form["ErrorUrl"] == f"{BASE}/voice/boom" and form["CallStatus"] == "ringing"


def test_unknown_verbs_raise(toy: SimpleNamespace) -> None:
    with pytest.raises(TwimlError, match="Dance"):
        toy.driver.call("/voice/unknown", from_=RILEY)


def test_bad_scenario_keys_raise(toy: SimpleNamespace) -> None:
    with pytest.raises(ScenarioError):
        toy.driver.call("/voice/menu", from_=RILEY, scenario=Scenario(digits=["A"]))
    with pytest.raises(ScenarioError):
        Leg.accept("x")


# --------------------------------------------------------------------------- signatures


def test_signature_covers_the_query_string(toy: SimpleNamespace) -> None:
    params = {"CallSid": "CA" + "0" * 32, "From": RILEY, "DialCallStatus": "busy"}
    assert toy.driver.post("/voice/dial?attempt=2", params).status_code == 200
    assert toy.seen[-1]["query"] == "attempt=2"
    without_query = toy.driver.signature(f"{BASE}/voice/dial", params)
    response = toy.driver.post("/voice/dial?attempt=2", params, signature=without_query)
    assert response.status_code == 403
    assert toy.driver.post("/voice/dial", params, signed=False).status_code == 403
    tampered = {**params, "DialCallStatus": "completed"}
    signature = toy.driver.signature(f"{BASE}/voice/dial", params)
    assert toy.driver.post("/voice/dial", tampered, signature=signature).status_code == 403


def test_wrong_token_is_refused_and_heard_as_an_error(toy: SimpleNamespace) -> None:
    driver = TwilioDriver(toy.client, auth_token="wrong", public_base_url=BASE, line_number=LINE)
    result = driver.call("/voice", from_=RILEY, scenario=Scenario(legs=[ACCEPT]))
    assert result.application_error and result.exchanges[0].status_code == 403


def test_hmac_sha256_signatures(toy: SimpleNamespace) -> None:
    driver = TwilioDriver(
        toy.client,
        auth_token=TOKEN,
        public_base_url=BASE,
        line_number=LINE,
        signature_algorithm=HMAC_SHA256,
        signing_key_id="webhooks_sharedkey_1",
    )
    result = driver.call("/voice", from_=RILEY, scenario=Scenario(legs=[ACCEPT]))
    assert result.bridged and result.errors == []
    headers = result.exchanges[0].headers
    assert headers[SIGNATURE_SETTINGS_HEADER] == "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    sha1 = toy.driver.signature(result.exchanges[0].url, result.exchanges[0].params)
    assert headers[SIGNATURE_HEADER] != sha1


def test_the_projects_own_check_accepts_the_driver() -> None:
    from app.twilio.signature import verified_form

    app = FastAPI()
    settings = SimpleNamespace(twilio_auth_token=TOKEN, public_base_url=BASE)
    app.state.line = SimpleNamespace(settings=settings)

    @app.post("/twilio/voice/status")
    async def hook(request: Request) -> dict[str, str]:
        form = await verified_form(request)
        return {"CallSid": str(form["CallSid"])}

    with TestClient(app) as client:
        driver = TwilioDriver(client, auth_token=TOKEN, public_base_url=BASE, line_number=LINE)
        ok = driver.status_callback(
            "/twilio/voice/status?leg=parent",
            call_sid="CA" + "1" * 32,
            from_=RILEY,
            to=LINE,
            call_status="completed",
            call_duration=30,
        )
        assert ok.status_code == 200 and ok.json() == {"CallSid": "CA" + "1" * 32}
        bad = driver.post("/twilio/voice/status", {"CallSid": "x"}, signature="bogus")
        assert bad.status_code == 403


# ------------------------------------------------------- idempotency and status callbacks


def test_idempotency_tokens_and_replay(toy: SimpleNamespace) -> None:
    result = toy.driver.call("/voice/menu", from_=RILEY)
    tokens = [e.headers[IDEMPOTENCY_HEADER] for e in result.exchanges]
    assert len(set(tokens)) == len(tokens)
    first = result.exchanges[0]
    assert toy.driver.replay(first).status_code == 200
    assert toy.seen[-1]["headers"][IDEMPOTENCY_HEADER] == first.headers[IDEMPOTENCY_HEADER]
    assert toy.seen[-1]["form"] == toy.seen[0]["form"]
    fixed = toy.driver.post("/status", {"CallSid": "CA1"}, idempotency_token="tok-1")
    assert fixed.status_code == 204 and toy.seen[-1]["headers"][IDEMPOTENCY_HEADER] == "tok-1"


def test_status_callbacks_out_of_order(toy: SimpleNamespace) -> None:
    when = datetime(2026, 11, 28, 3, 42, tzinfo=UTC)
    result = toy.driver.call("/voice/menu", from_=RILEY)
    for sequence, status in [
        (2, "completed"),
        (0, "ringing"),
        (2, "completed"),
        (1, "in-progress"),
    ]:
        response = toy.driver.status_callback(
            "/status", result, call_status=status, sequence_number=sequence, timestamp=when
        )
        assert response.status_code == 204
    forms = _seen(toy, "/status")
    assert [f["CallStatus"] for f in forms] == ["completed", "ringing", "completed", "in-progress"]
    done = forms[0]
    assert done["CallSid"] == result.call_sid and done["CallbackSource"] == "call-progress-events"
    assert done["Timestamp"] == "Sat, 28 Nov 2026 03:42:00 +0000"
    assert parsedate_to_datetime(done["Timestamp"]) == when
    assert done["CallDuration"] == str(result.duration) and "CallDuration" not in forms[1]
    with pytest.raises(ValueError):
        toy.driver.status_callback("/status", result, call_status="answered")


def test_the_numbers_status_callback_is_posted_at_the_end(toy: SimpleNamespace) -> None:
    toy.driver.status_callback_path = "/status"
    result = toy.driver.call("/voice/menu", from_=RILEY)
    (form,) = _seen(toy, "/status")
    assert form["CallStatus"] == "completed" and form["CallSid"] == result.call_sid
    assert not result.exchanges[-1].played


# -------------------------------------------------------------------------------- SMS


def test_sms_reply_bodies(toy: SimpleNamespace) -> None:
    driver = TwilioDriver(
        toy.client,
        auth_token=TOKEN,
        public_base_url=BASE,
        line_number=LINE,
        geo={RILEY: Geo("ST LOUIS", "MO", "63101", "US")},
    )
    result = driver.sms("/sms", from_=RILEY, body="check-in", messaging_service_sid="MG" + "2" * 32)
    assert result.bodies == [
        "Try a paced breath: in for 4, out for 6.",
        "Reply with a number from 0 to 5.",
    ]
    assert result.replies[0].to == RILEY and result.replies[0].from_ == LINE
    form = _seen(toy, "/sms")[0]
    assert SID.match(form["MessageSid"]) and form["MessageSid"].startswith("SM")
    assert form["SmsSid"] == form["SmsMessageSid"] == form["MessageSid"]
    assert form["NumMedia"] == "0" and form["NumSegments"] == "1"
    assert form["SmsStatus"] == "received" and form["ApiVersion"] == "2010-04-01"
    assert form["MessagingServiceSid"] == "MG" + "2" * 32
    assert (form["FromCity"], form["FromState"], form["FromZip"]) == ("ST LOUIS", "MO", "63101")
    assert driver.sms("/sms", from_=RILEY, body="hello").replies == []


def test_sms_segments(toy: SimpleNamespace) -> None:
    toy.driver.sms("/sms", from_=RILEY, body="a" * 161)
    toy.driver.sms("/sms", from_=RILEY, body="é" * 10 + "ł")
    toy.driver.sms("/sms", from_=RILEY, body="ł" * 71)
    assert [f["NumSegments"] for f in _seen(toy, "/sms")] == ["2", "1", "2"]


def test_sms_error_sends_nothing(toy: SimpleNamespace) -> None:
    result = toy.driver.sms("/voice/boom", from_=RILEY, body="hi")
    assert result.error and result.replies == []
