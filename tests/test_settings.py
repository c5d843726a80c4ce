"""Settings are checked when they are set: at start (the service refuses to start, naming the
setting) and on the dashboard (the change is refused, naming the setting, and nothing is
saved), so that no setting can break a call. The greeting is formatted in one place
(`ivr.scripts.spoken_greeting`), which stays safe even for a greeting that slipped through."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from app.models import Call, PracticeSetting
from app.settings import Settings
from ivr.scripts import DEFAULT_GREETING, Practice, greeting_problem, spoken_greeting
from tests.conftest import LINE_NUMBER
from tests.test_web_support import DANA, RILEY, post_form
from tests.twilio_driver import Leg, Scenario

pytest_plugins = ["tests.test_web_support"]

# The greeting this module's line is started with (see the `settings` fixture below).
GREETING = "Welcome to {practice}, where {practice} coaches answer."
SPOKEN = "Welcome to St. Louis DBT, where St. Louis DBT coaches answer."
CREDENTIALS = {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "x" * 32}

BAD_GREETINGS = [
    ("Welcome to {practice_name}.", "may use only {practice}; found {practice_name}"),
    ("{practice:>100000}", "may use only {practice}; found {practice:>100000}"),
    ("Hello from {practice.foo}.", "may use only {practice}; found {practice.foo}"),
    ("Hello from {practice[0]}.", "may use only {practice}; found {practice[0]}"),
    ("Hello from {practice!r}.", "may use only {practice}; found {practice!r}"),
    ("Hello from {}.", "may use only {practice}; found {}"),
    ("Hello from {0}.", "may use only {practice}; found {0}"),
    ("Hello from {practice", "has a { or } without its pair"),
    ("Hello} from {practice}", "has a { or } without its pair"),
    ("   ", "must not be empty"),
    ("Hello\x00 from {practice}", "must not contain control characters"),
    ("x" * 401, "at most 400 characters"),
]


@pytest.fixture
def settings(settings) -> Settings:
    """The tests' line, started with a greeting of its own (as GREETING would give it)."""
    return Settings(_env_file=None, **{**settings.model_dump(), "greeting": GREETING})


def refusal(**changes) -> str:
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, **changes)
    return str(raised.value)


# ---- at start ------------------------------------------------------------------------------------


def test_the_defaults_are_valid():
    settings = Settings(_env_file=None)
    assert settings.greeting == DEFAULT_GREETING
    assert not settings.twilio_configured and settings.twilio_phone_number == ""


@pytest.mark.parametrize(("greeting", "problem"), BAD_GREETINGS)
def test_a_bad_greeting_is_refused_at_start(greeting, problem):
    assert greeting_problem(greeting) is not None and problem in greeting_problem(greeting)
    message = refusal(greeting=greeting)
    assert "greeting" in message
    if len(greeting) <= 400:  # a longer one is refused by its Field first
        assert f"GREETING {problem}" in message


def test_a_bad_greeting_in_the_environment_stops_the_start(monkeypatch):
    monkeypatch.setenv("GREETING", "Welcome to {practice_name}.")
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)
    assert "GREETING may use only {practice}; found {practice_name}" in str(raised.value)


@pytest.mark.parametrize(
    "greeting",
    [
        "Welcome to {practice}.",
        "You have reached the coaching line.",
        "{practice}: ringing your coach, {practice} is here.",
        "Braces {{like these}} are spoken as braces.",
        "Two lines\nand a\ttab, at {practice}.",
        "x" * 400,
    ],
)
def test_a_good_greeting_is_kept(greeting):
    assert greeting_problem(greeting) is None
    assert Settings(_env_file=None, greeting=greeting).greeting == greeting


def test_twilio_credentials_need_the_lines_number():
    message = refusal(**CREDENTIALS)
    assert "TWILIO_PHONE_NUMBER is required" in message
    assert CREDENTIALS["twilio_auth_token"] not in message  # errors never echo the input
    with_number = Settings(_env_file=None, **CREDENTIALS, twilio_phone_number="(314) 555-0100")
    assert with_number.practice.line_number == LINE_NUMBER


def test_twilio_credentials_need_the_lines_number_from_the_environment(monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", CREDENTIALS["twilio_account_sid"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", CREDENTIALS["twilio_auth_token"])
    monkeypatch.delenv("TWILIO_PHONE_NUMBER", raising=False)
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)
    assert "TWILIO_PHONE_NUMBER is required" in str(raised.value)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("dial_timeout_seconds", 9),
        ("dial_timeout_seconds", 61),
        ("call_time_limit_minutes", 0),
        ("call_time_limit_minutes", 4),
        ("call_time_limit_minutes", 61),
        ("callback_window_minutes", 9),
        ("callback_window_minutes", 24 * 60 + 1),
        ("practice_name", ""),
        ("practice_name", "   "),
        ("practice_name", "x" * 121),
        ("practice_name", "St. Louis\x0bDBT"),
        ("local_crisis_line_name", "x" * 81),
        ("local_crisis_line_name", "Crisis\nline"),
        ("request_threads", 0),
        ("worker_poll_seconds", 0),
        ("notification_max_attempts", 0),
        ("twilio_http_timeout_seconds", 0),
    ],
)
def test_a_setting_that_would_break_calls_is_refused_at_start(setting, value):
    assert setting in refusal(**{setting: value})


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("dial_timeout_seconds", 10),
        ("dial_timeout_seconds", 60),
        ("call_time_limit_minutes", 5),
        ("call_time_limit_minutes", 60),
        ("callback_window_minutes", 10),
        ("callback_window_minutes", 24 * 60),
        ("practice_name", "x" * 120),
    ],
)
def test_the_bounds_themselves_are_allowed(setting, value):
    assert getattr(Settings(_env_file=None, **{setting: value}), setting) == value


def test_saved_changes_never_let_a_bad_value_through():
    base = Settings(_env_file=None, greeting=GREETING)
    changed = base.with_changes(
        {
            "greeting": "{practice:>100000}",
            "dial_timeout_seconds": 600,
            "practice_name": "Gateway DBT",
            "call_time_limit_minutes": 15,
        }
    )
    assert changed.greeting == GREETING and changed.dial_timeout_seconds == 20  # ignored
    assert (changed.practice_name, changed.call_time_limit_minutes) == ("Gateway DBT", 15)
    for greeting, _problem in BAD_GREETINGS:
        assert base.with_changes({"greeting": greeting}).greeting == GREETING


# ---- where the greeting is formatted -------------------------------------------------------------


def test_the_greeting_is_spoken_with_the_practice_name():
    practice = Practice(name="Gateway DBT", tz=ZoneInfo("America/Chicago"), greeting=GREETING)
    assert spoken_greeting(practice) == "Welcome to Gateway DBT, where Gateway DBT coaches answer."
    braces = Practice(name="Gateway DBT", tz=ZoneInfo("UTC"), greeting="{{Hi}} at {practice}")
    assert spoken_greeting(braces) == "{Hi} at Gateway DBT"


@pytest.mark.parametrize(("greeting", "problem"), BAD_GREETINGS)
def test_a_greeting_that_slipped_through_is_spoken_as_the_default(greeting, problem):
    practice = Practice(name="Gateway DBT", tz=ZoneInfo("UTC"), greeting=greeting)
    assert spoken_greeting(practice) == DEFAULT_GREETING.format(practice="Gateway DBT")


# ---- on a call -----------------------------------------------------------------------------------


def said_first(result) -> str:
    """The first <Say> of the TwiML that answered the incoming call."""
    twiml = result.requests(kind="voice-url")[0].twiml
    say = ET.fromstring(twiml).find("Say")
    assert say is not None, twiml
    return say.text or ""


def test_the_greeting_is_spoken_in_the_twiml_of_an_incoming_call(web_driver, people, db):
    result = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert said_first(result) == f"{SPOKEN} Connecting you to a coach."
    assert result.said[0] == f"{SPOKEN} Connecting you to a coach."
    assert result.bridged_number == DANA
    assert result.dials[0].caller_id == LINE_NUMBER
    db.expire_all()
    assert db.scalar(select(Call.outcome).where(Call.call_sid == result.call_sid)) == "bridged"


@pytest.mark.parametrize("greeting", ["{practice:>100000}", "Welcome to {practice_name}."])
def test_a_bad_greeting_stored_behind_the_dashboards_back_is_ignored(
    web_driver, people, db, greeting
):
    db.add(PracticeSetting(key="greeting", value=greeting))
    db.commit()
    result = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert said_first(result) == f"{SPOKEN} Connecting you to a coach."
    assert not result.application_error
    assert all(len(e.body) < 5000 for e in result.exchanges)
    db.expire_all()
    assert db.scalar(select(Call.outcome).where(Call.call_sid == result.call_sid)) == "bridged"


# ---- on the dashboard ----------------------------------------------------------------------------

FORM = {
    "practice_name": "St. Louis DBT",
    "greeting": "Hello from {practice}.",
    "call_time_limit_minutes": "20",
    "callback_window_minutes": "120",
    "dial_timeout_seconds": "20",
    "offer_voice_message": "on",
    "offer_lifeline": "on",
}


def test_the_form_shows_the_bounds_of_the_settings(as_admin):
    page = as_admin.get("/settings").text
    assert 'id="dial_timeout_seconds"' in page and 'min="10" max="60"' in page
    assert 'min="5" max="60"' in page and 'min="10" max="1440"' in page
    assert 'id="greeting" name="greeting" rows="3" maxlength="400"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        # The form trims what it is sent: a blank greeting is an empty one.
        *(
            ("greeting", greeting, "required" if problem == "must not be empty" else problem)
            for greeting, problem in BAD_GREETINGS
        ),
        ("dial_timeout_seconds", "5", "enter 10 to 60 seconds"),
        ("dial_timeout_seconds", "600", "enter 10 to 60 seconds"),
        ("call_time_limit_minutes", "240", "enter 5 to 60 minutes"),
        ("callback_window_minutes", "0", "enter 10 to 1440 minutes"),
        ("practice_name", "x" * 121, "at most 120 characters"),
        ("local_crisis_line_name", "Crisis\x0bline", "must not contain control characters"),
    ],
)
def test_a_bad_setting_is_refused_on_the_dashboard_and_the_old_one_is_still_heard(
    as_admin, web_driver, people, db, field, value, message
):
    saved = post_form(as_admin, "/settings", "/settings", FORM)
    assert "Saved." in saved.text
    db.expire_all()
    before = {
        row.key: (row.value, row.updated_at)
        for row in db.scalars(
            select(PracticeSetting).where(PracticeSetting.key != "_session_secret")
        )
    }
    assert before["greeting"][0] == "Hello from {practice}."

    refused = post_form(as_admin, "/settings", "/settings", {**FORM, field: value})
    assert refused.status_code == 422
    page = html.unescape(refused.text)
    assert "Nothing was saved" in page and message in page
    label = {"greeting": "Greeting", "dial_timeout_seconds": "Ring time"}.get(field)
    if label:
        assert f"{label}: {message}" in page  # named beside the field it is about

    db.expire_all()
    after = {
        row.key: (row.value, row.updated_at)
        for row in db.scalars(
            select(PracticeSetting).where(PracticeSetting.key != "_session_secret")
        )
    }
    assert after == before
    result = web_driver.call(from_=RILEY, scenario=Scenario(legs={DANA: Leg.accept()}))
    assert said_first(result) == "Hello from St. Louis DBT. Connecting you to a coach."
    assert result.dials[0].timeout == 20 and result.dials[0].time_limit == 1200
