"""`coachline twilio configure`: the line's number, set through Twilio's REST API, against the
local stand-in (tests/fake_twilio.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app import cli_support as cli_module
from app.cli import cli
from tests.conftest import LINE_NUMBER, PUBLIC_BASE_URL
from tests.fake_twilio import Failure

runner = CliRunner()
ACCOUNT = "AC" + "0" * 32

# Twilio fails over to the fallback within 5 s, not its default 15 (app.twilio.configure).
OVERRIDES = "#ct=1000&rt=4000&tt=5000&rc=1&rp=ct"
WANTED = {
    "voice_url": f"{PUBLIC_BASE_URL}/twilio/voice{OVERRIDES}",
    "voice_method": "POST",
    "voice_fallback_url": f"{PUBLIC_BASE_URL}/twilio/voice/fallback",
    "voice_fallback_method": "POST",
    "status_callback": f"{PUBLIC_BASE_URL}/twilio/voice/status",
    "status_callback_method": "POST",
    "sms_url": f"{PUBLIC_BASE_URL}/twilio/sms{OVERRIDES}",
    "sms_method": "POST",
}


@pytest.fixture
def use_line(monkeypatch, line):
    monkeypatch.setattr(cli_module, "build_line", lambda: line)
    return line


@pytest.fixture
def number(fake_twilio):
    """The line's number as a fresh purchase might have it: Twilio's demo URL, voice by GET."""
    fake_twilio.add_number("+13145550199", ACCOUNT, voice_url="https://elsewhere.example/x")
    return fake_twilio.add_number(
        LINE_NUMBER,
        ACCOUNT,
        voice_url="https://demo.twilio.com/welcome/voice/",
        voice_method="GET",
        sms_url=f"{PUBLIC_BASE_URL}/twilio/sms{OVERRIDES}",
    )


def configure(*args: str):
    return runner.invoke(cli, ["twilio", "configure", *args])


def test_dry_run_prints_the_differences_and_changes_nothing(use_line, fake_twilio, number):
    before = dict(number)
    result = configure("--dry-run")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert (
        "voice_url: https://demo.twilio.com/welcome/voice/ -> "
        f"{PUBLIC_BASE_URL}/twilio/voice{OVERRIDES}" in out
    )
    assert "voice_method: GET -> POST" in out
    assert f"voice_fallback_url: (unset) -> {PUBLIC_BASE_URL}/twilio/voice/fallback" in out
    assert f"status_callback: (unset) -> {PUBLIC_BASE_URL}/twilio/voice/status" in out
    for field in ("sms_url", "sms_method", "voice_fallback_method", "status_callback_method"):
        assert f"{field}: ok" in out
    assert "would change" in out
    assert fake_twilio.number_updates == []
    assert fake_twilio.numbers[number["sid"]] == before
    # It looked the number up by PhoneNumber, in the line's account.
    (lookup,) = [r for r in fake_twilio.requests if r.method == "GET"]
    assert lookup.form["PhoneNumber"] == LINE_NUMBER
    assert lookup.account_sid == ACCOUNT


def test_a_run_updates_exactly_the_fields_that_differ_then_finds_all_ok(
    use_line, fake_twilio, number
):
    result = configure()
    assert result.exit_code == 0, result.output
    assert "Updated 4 fields." in result.stdout

    (update,) = fake_twilio.number_updates
    assert update.path.endswith(f"/Accounts/{ACCOUNT}/IncomingPhoneNumbers/{number['sid']}.json")
    assert update.form == {
        "VoiceUrl": f"{PUBLIC_BASE_URL}/twilio/voice{OVERRIDES}",
        "VoiceMethod": "POST",
        "VoiceFallbackUrl": f"{PUBLIC_BASE_URL}/twilio/voice/fallback",
        "StatusCallback": f"{PUBLIC_BASE_URL}/twilio/voice/status",
    }
    stored = fake_twilio.numbers[number["sid"]]
    assert {k: stored[k] for k in WANTED} == WANTED
    # The other number in the account is untouched.
    other = next(n for n in fake_twilio.numbers.values() if n["phone_number"] != LINE_NUMBER)
    assert other["voice_url"] == "https://elsewhere.example/x"

    again = configure()
    assert again.exit_code == 0, again.output
    for field in WANTED:
        assert f"{field}: ok" in again.stdout
    assert "Everything is already set." in again.stdout
    assert len(fake_twilio.number_updates) == 1


def test_every_field_wrong_is_set_including_the_sms_ones(use_line, fake_twilio):
    fake_twilio.add_number(LINE_NUMBER, ACCOUNT, **{k: "GET" for k in WANTED if "method" in k})
    result = configure()
    assert result.exit_code == 0, result.output
    (update,) = fake_twilio.number_updates
    assert set(update.form) == {
        "VoiceUrl",
        "VoiceMethod",
        "VoiceFallbackUrl",
        "VoiceFallbackMethod",
        "StatusCallback",
        "StatusCallbackMethod",
        "SmsUrl",
        "SmsMethod",
    }


def test_a_number_not_in_the_account_is_an_error(use_line, fake_twilio):
    fake_twilio.add_number("+13145550199", ACCOUNT)
    result = configure()
    assert result.exit_code == 1
    assert LINE_NUMBER in result.stderr
    assert "not a number in Twilio account" in result.stderr
    assert fake_twilio.number_updates == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"twilio_auth_token": ""}, "no Twilio credentials"),
        ({"twilio_phone_number": ""}, "no number configured"),
    ],
)
def test_missing_settings_are_errors(use_line, fake_twilio, number, change, expected):
    use_line.settings = use_line.settings.model_copy(update=change)
    result = configure("--dry-run")
    assert result.exit_code == 1
    assert expected in result.stderr
    assert fake_twilio.requests == []


def test_a_number_in_another_account_is_not_found(use_line, fake_twilio, number):
    use_line.settings = use_line.settings.model_copy(update={"twilio_account_sid": "AC" + "1" * 32})
    result = configure()
    assert result.exit_code == 1
    assert "not a number in Twilio account" in result.stderr


def test_a_refusal_from_twilio_is_reported_plainly(use_line, fake_twilio, number):
    fake_twilio.fail_next(Failure(403, 20003, "Permission denied"))
    result = configure()
    assert result.exit_code == 1
    assert "Twilio refused (HTTP 403, code 20003)" in result.stderr
