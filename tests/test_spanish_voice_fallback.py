"""The Spanish voice falls back by itself (issue 24): the line reads Spanish in Polly's neural
es-US voice until Twilio's Debugger reports it refused it (warning 13511, or 13321 in a
Gather), then in the standard one from the very next call, saved and audited as the Settings
page saves it. The admin chooses it on the Settings page; SPANISH_VOICE sets it at start.

Everything goes through signed webhooks, as Twilio sends them, and the dashboard's pages."""

from __future__ import annotations

import html
import json

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from app.models import AuditEntry, Client, PracticeSetting
from app.settings import Settings
from ivr.language import Language
from tests.conftest import AUTH_TOKEN, LINE_NUMBER, PUBLIC_BASE_URL
from tests.test_first_minute import LIFELINE_LEG, set_practice
from tests.test_web_support import post_form, texts_of
from tests.twilio_driver import NO_ANSWER, CallResult, Leg, Scenario, TwilioDriver

pytest_plugins = ["tests.test_web_support"]

RILEY = "+13145550142"  # Spanish, in the `spanish` fixture
JORDAN = "+13145550143"  # English
STRANGER = "+13145550199"
NEURAL = ("Polly.Lupe-Neural", "es-US")
STANDARD = ("Polly.Penelope", "es-US")
ENGLISH = ("Polly.Joanna", "en-US")
DEBUGGER = "/twilio/debugger"


@pytest.fixture
def driver(web) -> TwilioDriver:
    return TwilioDriver(
        web, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, line_number=LINE_NUMBER
    )


@pytest.fixture
def spanish(db, line, people) -> None:
    """The line offers Spanish and Riley's language is Spanish."""
    set_practice(db, "offer_spanish", True)
    line.current_settings(db)
    db.get(Client, people["riley"]).language = "es"
    db.commit()


def event(code: object = "13511", **payload: object) -> dict[str, str]:
    """A Debugger event as Twilio POSTs it (its documented fields), about one of our calls."""
    body = {
        "resource_sid": "CA" + "7" * 32,
        "service_sid": None,
        "error_code": code,
        "more_info": {"msg": "Say: Invalid voice value"},
        "webhook": {"type": "application/json", "request": {"method": "POST"}},
        **payload,
    }
    return raw_event(json.dumps(body))


def raw_event(payload: str) -> dict[str, str]:
    return {
        "AccountSid": "AC" + "0" * 32,
        "Sid": "NO" + "5" * 32,
        "Timestamp": "2026-12-07T05:00:00Z",
        "Level": "WARNING",
        "PayloadType": "application/json",
        "Payload": payload,
    }


def voices(result: CallResult) -> set[tuple[str | None, str | None]]:
    return {(say.voice, say.language) for say in result.says}


def spanish_call(driver: TwilioDriver) -> CallResult:
    """Riley's call: the greeting, nobody answers, the wait-time script, 1 for 988."""
    return driver.call(
        from_=RILEY, scenario=Scenario(legs={"+13145550111": NO_ANSWER, "988": LIFELINE_LEG})
    )


def saved(db) -> dict[str, object]:
    db.expire_all()
    rows = db.scalars(select(PracticeSetting).where(PracticeSetting.key == "spanish_voice"))
    return {row.key: (row.value, row.updated_by) for row in rows}


def voice_audits(db) -> list[AuditEntry]:
    db.expire_all()
    entries = db.scalars(select(AuditEntry).where(AuditEntry.entity == "practice_settings"))
    return [e for e in entries if "spanish_voice" in (e.changes or {})]


# ---- the voice a call is read in -----------------------------------------------------------


def test_spanish_is_read_in_the_neural_voice_by_default(driver, spanish):
    result = spanish_call(driver)
    assert result.said[0] == "Ha llamado a St. Louis DBT. Un momento, le comunicamos."
    assert voices(result) == {NEURAL}


@pytest.mark.parametrize("code", ["13511", "13321", 13511])
def test_a_refused_voice_switches_the_next_call_to_the_standard_voice(driver, db, spanish, code):
    answer = driver.post(DEBUGGER, event(code))
    assert answer.status_code == 204

    result = spanish_call(driver)
    assert result.said[0] == "Ha llamado a St. Louis DBT. Un momento, le comunicamos."
    assert voices(result) == {STANDARD}  # every <Say>, the wait-time script and 988's too
    assert "9 8 8" in result.text and "9 1 1" in result.text

    assert saved(db) == {"spanish_voice": ("Polly.Penelope", "twilio:debugger")}
    [entry] = voice_audits(db)
    assert entry.actor == "twilio:debugger" and entry.action == "update"
    assert entry.changes == {"spanish_voice": {"from": "Polly.Lupe-Neural", "to": "Polly.Penelope"}}
    assert entry.reason == (
        f"Twilio refused the neural Spanish voice (warning {code}); the line switched to the "
        "standard one by itself"
    )


def test_english_calls_keep_their_voice_after_the_switch(driver, spanish, people):
    assert driver.post(DEBUGGER, event()).status_code == 204
    result = driver.call(from_=JORDAN, scenario=Scenario(default_leg=NO_ANSWER))
    assert result.said[0] == "This is St. Louis DBT. Connecting you to a coach."
    assert voices(result) == {ENGLISH}
    # The therapist's screening of a Spanish call stays English too.
    screened = driver.call(from_=RILEY, scenario=Scenario(default_leg=Leg.accept("1")))
    leg = screened.dials[0].leg
    assert "Coaching call in Spanish from the St. Louis DBT line." in leg.text
    assert {(s.voice, s.language) for s in leg.says} == {ENGLISH}


def test_the_offer_of_spanish_and_its_answer_without_the_database_switch_too(
    driver, line, spanish, monkeypatch
):
    assert driver.post(DEBUGGER, event()).status_code == 204
    offered = driver.call(from_=STRANGER)
    first = offered.says[0]
    assert (first.text, first.voice, first.language) == ("Para español, oprima 2.", *STANDARD)

    def no_database(*args, **kwargs):
        raise AssertionError("the database was used")

    # 2 is answered from the settings as the line last knew them: the switch is among them.
    monkeypatch.setattr(line, "database", no_database)
    monkeypatch.setattr(line, "sessions", no_database)
    response = driver.post(offered.gathers[0].action, {"CallSid": offered.call_sid, "Digits": "2"})
    assert response.status_code == 200
    assert "No reconocemos su número." in response.text
    assert 'voice="Polly.Penelope"' in response.text and "Lupe" not in response.text


def test_the_admin_sees_the_switch_on_the_settings_page_and_in_the_audit_log(
    driver, as_admin, spanish
):
    assert driver.post(DEBUGGER, event()).status_code == 204
    page = texts_of(as_admin.get("/settings").text)
    assert (
        "The line switched to the standard voice on Fri Nov 27, 9:42 PM: Twilio refused the "
        "neural one. Choose Lupe again to try it once more." in page
    )
    assert "Spanish voice (changed by the line itself, Fri Nov 27, 9:42 PM)" in page
    audit = texts_of(as_admin.get("/audit").text)
    assert "Twilio refused the neural Spanish voice (warning 13511)" in audit
    assert "Twilio's Debugger (the line itself)" in audit


def test_the_voice_switches_once(driver, db, spanish):
    for _ in range(3):  # one warning per <Say> of a call
        assert driver.post(DEBUGGER, event()).status_code == 204
    assert len(voice_audits(db)) == 1


def test_a_line_already_on_the_standard_voice_changes_nothing(driver, db, spanish):
    set_practice(db, "spanish_voice", "Polly.Penelope")
    assert driver.post(DEBUGGER, event()).status_code == 204
    assert saved(db) == {"spanish_voice": ("Polly.Penelope", "test")}
    assert voice_audits(db) == []


# ---- what changes nothing --------------------------------------------------------------------


def assert_unchanged(driver, db) -> None:
    assert saved(db) == {} and voice_audits(db) == []
    assert voices(spanish_call(driver)) == {NEURAL}


def test_an_unsigned_event_is_refused_and_changes_nothing(driver, db, spanish):
    assert driver.post(DEBUGGER, event(), signed=False).status_code == 403
    assert driver.post(DEBUGGER, event(), signature="forged").status_code == 403
    assert_unchanged(driver, db)


def test_an_event_signed_for_another_url_is_refused(driver, db, spanish):
    params = event()
    signature = driver.signature(PUBLIC_BASE_URL + "/twilio/sms", params)
    assert driver.post(DEBUGGER, params, signature=signature).status_code == 403
    assert_unchanged(driver, db)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param(event("11200"), id="HTTP retrieval failure"),
        pytest.param(event("13512"), id="another Say warning"),
        pytest.param(event("82002"), id="a Studio error"),
        pytest.param(event(None), id="no error_code"),
        pytest.param(event(True), id="a boolean error_code"),
        pytest.param(event({"code": "13511"}), id="an object for error_code"),
        pytest.param(raw_event("not json {"), id="Payload not JSON"),
        pytest.param(raw_event('["13511"]'), id="Payload a list"),
        pytest.param(raw_event(""), id="Payload empty"),
        pytest.param(raw_event('"13511"'), id="Payload a string"),
        pytest.param({"Level": "WARNING"}, id="no Payload"),
        pytest.param({}, id="nothing at all"),
        pytest.param(raw_event('{"error_code": "1' + "3" * 5000 + '"}'), id="a huge code"),
    ],
)
def test_other_events_and_odd_ones_are_acknowledged_and_change_nothing(driver, db, spanish, params):
    assert driver.post(DEBUGGER, params).status_code == 204
    assert_unchanged(driver, db)


def test_a_refused_english_voice_does_not_switch_spanish(driver, db, spanish):
    """The payload names the voice it was about (the TwiML Twilio was given): Joanna only."""
    about_english = event(
        webhook={"response": {"body": '<Response><Say voice="Polly.Joanna">Hi</Say></Response>'}}
    )
    assert driver.post(DEBUGGER, about_english).status_code == 204
    assert_unchanged(driver, db)


def test_a_payload_naming_the_neural_voice_switches(driver, db, spanish):
    about_spanish = event(
        webhook={
            "response": {
                "body": '<Response><Gather><Say voice="Polly.Lupe-Neural" language="es-US">'
                'Para español, oprima 2.</Say><Say voice="Polly.Joanna">...</Say></Gather>'
                "</Response>"
            }
        }
    )
    assert driver.post(DEBUGGER, about_spanish).status_code == 204
    assert saved(db) == {"spanish_voice": ("Polly.Penelope", "twilio:debugger")}


def test_the_database_failing_answers_503_and_changes_nothing(driver, db, line, spanish):
    async def down(work):
        raise TimeoutError

    line.database = down
    assert driver.post(DEBUGGER, event()).status_code == 503
    del line.database  # the class's own again
    assert_unchanged(driver, db)


# ---- the setting -----------------------------------------------------------------------------


def test_the_settings_page_shows_the_spanish_voice_and_what_it_does(as_admin):
    page = as_admin.get("/settings").text
    assert 'id="spanish_voice" name="spanish_voice"' in page
    assert 'value="Polly.Lupe-Neural"' in page
    text = texts_of(page)
    assert "Spanish voice" in text
    assert (
        "If Twilio refuses the neural voice, the line switches to the standard one by itself, "
        "and the audit log says so." in text
    )
    assert "Twilio refused" not in text  # nothing was switched


def test_the_admin_chooses_the_standard_voice_and_the_next_call_uses_it(
    as_admin, driver, db, spanish
):
    spanish_on = {**FORM, "offer_spanish": "on"}
    answer = post_form(
        as_admin, "/settings", "/settings", {**spanish_on, "spanish_voice": "Polly.Penelope"}
    )
    assert "Saved. The next call uses the new settings." in answer.text
    assert saved(db) == {"spanish_voice": ("Polly.Penelope", "admin@example.org")}
    [entry] = voice_audits(db)
    assert entry.actor == "admin@example.org"
    assert voices(spanish_call(driver)) == {STANDARD}
    # And back: the neural voice again, after the line had switched.
    post_form(as_admin, "/settings", "/settings", {**spanish_on, "spanish_voice": NEURAL[0]})
    assert voices(spanish_call(driver)) == {NEURAL}


def test_a_third_voice_is_refused_on_the_settings_page_and_nothing_is_saved(as_admin, db):
    refused = post_form(as_admin, "/settings", "/settings", {**FORM, "spanish_voice": "Polly.Lupe"})
    assert refused.status_code == 422
    page = html.unescape(refused.text)
    assert "Nothing was saved" in page
    assert (
        "Spanish voice: choose Lupe, neural (US Spanish) or Penelope, standard (US Spanish)" in page
    )
    db.expire_all()
    assert db.scalars(select(PracticeSetting).where(PracticeSetting.key.in_(FORM))).all() == []


def test_a_form_without_the_voice_keeps_it(as_admin, db):
    set_practice(db, "spanish_voice", "Polly.Penelope")
    answer = post_form(as_admin, "/settings", "/settings", {**FORM, "practice_name": "Riverside"})
    assert "Saved." in answer.text
    assert saved(db) == {"spanish_voice": ("Polly.Penelope", "test")}


FORM = {
    "practice_name": "St. Louis DBT",
    "greeting": "This is {practice}.",
    "call_time_limit_minutes": "15",
    "callback_window_minutes": "120",
    "dial_timeout_seconds": "20",
    "offer_voice_message": "on",
    "offer_lifeline": "on",
}


def test_a_bad_voice_in_the_environment_stops_the_start(monkeypatch):
    monkeypatch.setenv("SPANISH_VOICE", "foo")
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)
    assert (
        "SPANISH_VOICE must be Polly.Lupe-Neural (neural, the default) or Polly.Penelope "
        "(standard)" in str(raised.value)
    )


def test_the_standard_voice_from_the_environment_is_heard(monkeypatch):
    monkeypatch.setenv("SPANISH_VOICE", "Polly.Penelope")
    practice = Settings(_env_file=None, offer_spanish=True).practice
    assert practice.voice_in(Language.SPANISH) == STANDARD
    assert practice.voice == ENGLISH


def test_a_bad_voice_stored_behind_the_dashboards_back_is_ignored():
    base = Settings(_env_file=None, offer_spanish=True)
    changed = base.with_changes({"spanish_voice": "Polly.Conchita", "practice_name": "Riverside"})
    assert changed.spanish_voice == "Polly.Lupe-Neural" and changed.practice_name == "Riverside"


def test_the_voice_is_a_select_of_the_two(as_admin):
    page = as_admin.get("/settings").text
    assert '<select id="spanish_voice" name="spanish_voice"' in page
    assert '<option value="Polly.Lupe-Neural" selected>Lupe, neural (US Spanish)</option>' in page
    assert '<option value="Polly.Penelope">Penelope, standard (US Spanish)</option>' in page
